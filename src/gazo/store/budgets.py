"""Monthly budgets: hold money for a request, settle it, or give it back.

The hold is one conditional ``UPDATE … WHERE spent + reserved + amount <= limit``: the database
checks and books in the same statement, so concurrent requests (threads or replicas) can never
together hold more than the budget. Budgets reset lazily at the start of each UTC month, inside
the transaction that first touches them. Several budgets (key, organisation) are always locked in
id order so two transactions cannot deadlock on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gazo.store.database import changed
from gazo.store.tables import Budget, new_id, utcnow


class BudgetExhausted(Exception):
    """The hold would take a budget over its limit; the caller's transaction must roll back."""

    def __init__(self, budget_id: str, *, limit_micros: int) -> None:
        super().__init__(f"budget {budget_id} exhausted")
        self.budget_id = budget_id
        self.limit_micros = limit_micros


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def set_budget(
    *, session: Session, limit_micros: int, key_id: str | None = None, org_id: str | None = None
) -> Budget:
    """Create or change the monthly budget of one key or one organisation."""
    if (key_id is None) == (org_id is None):
        raise ValueError("a budget belongs to exactly one of key_id or org_id")
    column = Budget.key_id if key_id else Budget.org_id
    budget = session.scalar(select(Budget).where(column == (key_id or org_id)))
    if budget is None:
        budget = Budget(
            id=new_id("budget"),
            key_id=key_id,
            org_id=org_id,
            limit_micros=limit_micros,
            spent_micros=0,
            reserved_micros=0,
            period_start=month_start(utcnow()),
        )
        session.add(budget)
    else:
        budget.limit_micros = limit_micros
    session.flush()
    return budget


def budget_ids_for(
    *, session: Session, key_id: str | None, org_id: str | None
) -> tuple[str | None, str | None]:
    """The ids of the key's and the organisation's budgets (None where there is none)."""
    key_budget = org_budget = None
    if key_id is not None:
        key_budget = session.scalar(select(Budget.id).where(Budget.key_id == key_id))
    if org_id is not None:
        org_budget = session.scalar(select(Budget.id).where(Budget.org_id == org_id))
    return key_budget, org_budget


def hold(*, session: Session, budget_ids: Iterable[str | None], amount_micros: int, now: datetime) -> None:
    """Book ``amount_micros`` as reserved on every budget, or raise :class:`BudgetExhausted`."""
    ids = sorted({budget_id for budget_id in budget_ids if budget_id})
    if not ids:
        return
    period = month_start(now)
    session.execute(
        update(Budget)
        .where(Budget.id.in_(ids), Budget.period_start < period)
        .values(spent_micros=0, period_start=period)
    )
    for budget_id in ids:
        booked = changed(
            session.execute(
                update(Budget)
                .where(
                    Budget.id == budget_id,
                    Budget.spent_micros < Budget.limit_micros,
                    Budget.spent_micros + Budget.reserved_micros + amount_micros <= Budget.limit_micros,
                )
                .values(reserved_micros=Budget.reserved_micros + amount_micros)
            )
        )
        if booked != 1:
            limit = session.scalar(select(Budget.limit_micros).where(Budget.id == budget_id))
            raise BudgetExhausted(budget_id, limit_micros=int(limit or 0))


def settle(*, session: Session, budget_ids: Iterable[str | None], held_micros: int, cost_micros: int) -> None:
    """Turn a hold into spend: reserved -= held, spent += cost (cost may differ from the hold)."""
    for budget_id in sorted({budget_id for budget_id in budget_ids if budget_id}):
        session.execute(
            update(Budget)
            .where(Budget.id == budget_id)
            .values(
                reserved_micros=Budget.reserved_micros - held_micros,
                spent_micros=Budget.spent_micros + cost_micros,
            )
        )


def budget_state(*, session: Session, budget_id: str) -> tuple[int, int, int]:
    """(limit, spent, reserved) of one budget, in micro-dollars."""
    row = session.execute(
        select(Budget.limit_micros, Budget.spent_micros, Budget.reserved_micros).where(Budget.id == budget_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
