"""Rows of ``kept_objects``: sealed payloads found by a digest of their id, until they expire.

The payload arrives sealed (see :mod:`gazo.service.keeping`); this module only keeps it, hands it back
to its owner before it expires, and deletes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gazo.store.database import changed
from gazo.store.tables import KeptObject


def put(
    *,
    session: Session,
    digest: str,
    kind: str,
    owner: str | None,
    payload: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        KeptObject(
            digest=digest, kind=kind, owner=owner, payload=payload, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def get(*, session: Session, digest: str, kind: str, now: datetime) -> KeptObject | None:
    """The live row (not yet expired) of that digest and kind."""
    return session.scalar(
        select(KeptObject).where(
            KeptObject.digest == digest, KeptObject.kind == kind, KeptObject.expires_at > now
        )
    )


def remove(*, session: Session, digest: str, kind: str, owner: str | None) -> bool:
    """Delete one row if `owner` owns it (None: a row of open mode); whether one went."""
    mine = KeptObject.owner.is_(None) if owner is None else KeptObject.owner == owner
    found = delete(KeptObject).where(KeptObject.digest == digest, KeptObject.kind == kind, mine)
    return changed(session.execute(found)) > 0


def purge_expired(*, session: Session, now: datetime) -> int:
    """Delete every row past ``expires_at``; returns how many."""
    return changed(
        session.execute(
            delete(KeptObject).where(KeptObject.expires_at <= now),
            execution_options={"synchronize_session": False},
        )
    )
