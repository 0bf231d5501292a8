"""Organisations and API keys: create, look up by secret, list, revoke.

A key is ``gz-`` plus 256 random bits (``secrets.token_urlsafe(32)``). Only its SHA-256 is stored:
with that much entropy a slow password hash buys nothing, and a plain digest lets authentication
be one indexed lookup (GitHub and Stripe keys work the same way). The secret itself is returned
once, by :func:`create_key`, and never again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gazo.store.budgets import month_start, set_budget
from gazo.store.tables import ApiKey, Budget, Organization, new_id, utcnow

KEY_PREFIX = "gz-"
_DISPLAY_CHARS = 10


class KeyNotFound(LookupError):
    """No key, or more than one, matches what was asked for."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What the rest of gazo may know about a key: never its secret or hash."""

    id: str
    name: str
    prefix: str
    org_id: str | None
    org_name: str | None
    is_admin: bool
    rpm: int | None
    ipm: int | None
    created_at: datetime
    revoked_at: datetime | None
    budget_micros: int | None = None
    spent_micros: int | None = None


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def get_or_create_organization(*, session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(id=new_id("org"), name=name, created_at=utcnow())
        session.add(org)
        session.flush()
    return org


def create_key(
    *,
    session: Session,
    name: str,
    org_name: str | None = None,
    is_admin: bool = False,
    rpm: int | None = None,
    ipm: int | None = None,
    budget_micros: int | None = None,
) -> tuple[KeyInfo, str]:
    """Create a key (and its organisation and monthly budget when given); returns it and its secret."""
    org = get_or_create_organization(session=session, name=org_name) if org_name else None
    secret = generate_secret()
    key = ApiKey(
        id=new_id("key"),
        name=name,
        org_id=org.id if org else None,
        key_hash=hash_secret(secret),
        prefix=secret[:_DISPLAY_CHARS],
        is_admin=is_admin,
        rpm=rpm,
        ipm=ipm,
        created_at=utcnow(),
        revoked_at=None,
    )
    session.add(key)
    session.flush()
    if budget_micros is not None:
        set_budget(session=session, key_id=key.id, limit_micros=budget_micros)
    return _info(key, org, None), secret


def find_active_key(*, session: Session, secret: str) -> KeyInfo | None:
    """The unrevoked key whose secret this is, or None."""
    row = session.execute(
        select(ApiKey, Organization)
        .outerjoin(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).first()
    return None if row is None else _info(row[0], row[1], None)


def find_active_key_by_id(*, session: Session, key_id: str) -> KeyInfo | None:
    """The unrevoked key with this id, or None (for work a key left behind, such as a batch's lines)."""
    row = session.execute(
        select(ApiKey, Organization)
        .outerjoin(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    ).first()
    return None if row is None else _info(row[0], row[1], None)


def any_active_key(*, session: Session) -> bool:
    return session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None


def any_key_ever(*, session: Session) -> bool:
    """Whether a key was ever created here, revoked ones included (they close open mode for good)."""
    return session.scalar(select(ApiKey.id).limit(1)) is not None


def list_keys(*, session: Session, include_revoked: bool = True) -> list[KeyInfo]:
    """Every key with its organisation and this month's budget and spend, oldest first."""
    query = (
        select(ApiKey, Organization, Budget)
        .outerjoin(Organization, Organization.id == ApiKey.org_id)
        .outerjoin(Budget, Budget.key_id == ApiKey.id)
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [_info(key, org, budget) for key, org, budget in session.execute(query).all()]


def find_key(*, session: Session, key: str) -> ApiKey:
    """A key by id (``key_…``), display prefix or name; exactly one must match."""
    matches = session.scalars(
        select(ApiKey).where(or_(ApiKey.id == key, ApiKey.prefix == key, ApiKey.name == key))
    ).all()
    if len(matches) != 1:
        found = "no key" if not matches else f"{len(matches)} keys"
        raise KeyNotFound(f"{found} match `{key}`; use the id shown by `gazo keys list`")
    return matches[0]


def revoke_key(*, session: Session, key: str) -> KeyInfo:
    """Revoke a key by id, prefix or name; it fails authentication from the next request on."""
    record = find_key(session=session, key=key)
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.flush()
    return _info(record, None, None)


def _info(key: ApiKey, org: Organization | None, budget: Budget | None) -> KeyInfo:
    spent = None
    if budget is not None:
        spent = budget.spent_micros if budget.period_start >= month_start(utcnow()) else 0
    return KeyInfo(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        org_id=key.org_id,
        org_name=org.name if org else None,
        is_admin=key.is_admin,
        rpm=key.rpm,
        ipm=key.ipm,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        budget_micros=budget.limit_micros if budget else None,
        spent_micros=spent,
    )
