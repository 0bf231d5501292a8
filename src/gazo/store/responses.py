"""Sealed responses kept for idempotent replay, and the Idempotency-Keys they answer to.

The payload arrives already encrypted (see :mod:`gazo.billing.idempotency`); this module only keeps
it beside its usage row and lets go of both, the response and the row's Idempotency-Key, once they
expire, so the key may be used afresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gazo.store.database import changed
from gazo.store.tables import IdempotentResponse, Usage


def save_response(*, session: Session, usage_id: str, payload: bytes, now: datetime, keep: timedelta) -> None:
    """Keep ``payload`` until ``keep`` after its request was made (when its Idempotency-Key expires)."""
    made = session.scalar(select(Usage.created_at).where(Usage.id == usage_id))
    expires_at = (made or now) + keep
    session.add(IdempotentResponse(usage_id=usage_id, payload=payload, created_at=now, expires_at=expires_at))
    session.flush()


def load_response(*, session: Session, usage_id: str, now: datetime) -> bytes | None:
    """The sealed payload stored for ``usage_id``, unless there is none or it has expired."""
    return session.scalar(
        select(IdempotentResponse.payload).where(
            IdempotentResponse.usage_id == usage_id, IdempotentResponse.expires_at > now
        )
    )


def forget(*, session: Session, usage_id: str) -> None:
    """Let go of one row's Idempotency-Key and stored response (they expired)."""
    session.execute(delete(IdempotentResponse).where(IdempotentResponse.usage_id == usage_id))
    session.execute(update(Usage).where(Usage.id == usage_id).values(idempotency_key=None))


def purge_expired(*, session: Session, now: datetime) -> int:
    """Delete responses past ``expires_at`` and free their rows' Idempotency-Keys; returns how many."""
    expired = select(IdempotentResponse.usage_id).where(IdempotentResponse.expires_at <= now)
    session.execute(
        update(Usage).where(Usage.id.in_(expired)).values(idempotency_key=None),
        execution_options={"synchronize_session": False},
    )
    return changed(
        session.execute(
            delete(IdempotentResponse).where(IdempotentResponse.expires_at <= now),
            execution_options={"synchronize_session": False},
        )
    )
