"""Rows of ``files``: the metadata of `/v1/files` (the bytes are in the data dir: `gazo.service.files`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from gazo.store.database import changed
from gazo.store.tables import StoredFile


def owned_by(org_id: str | None, key_id: str | None) -> object:
    """The rows a caller may see: its organisation's, else its own key's (open mode: the keyless ones)."""
    if org_id is not None:
        return StoredFile.org_id == org_id
    if key_id is not None:
        return (StoredFile.org_id.is_(None)) & (StoredFile.key_id == key_id)
    return StoredFile.org_id.is_(None) & StoredFile.key_id.is_(None)


def add(*, session: Session, row: StoredFile) -> None:
    session.add(row)
    session.flush()


def find(
    *, session: Session, file_id: str, org_id: str | None, key_id: str | None, now: datetime
) -> StoredFile | None:
    return session.scalar(
        select(StoredFile).where(
            StoredFile.id == file_id,
            owned_by(org_id, key_id),  # type: ignore[arg-type]
            or_(StoredFile.expires_at.is_(None), StoredFile.expires_at > now),
        )
    )


def page(
    *,
    session: Session,
    org_id: str | None,
    key_id: str | None,
    now: datetime,
    purpose: str | None,
    limit: int,
    after: StoredFile | None,
    newest_first: bool,
) -> list[StoredFile]:
    query = select(StoredFile).where(
        owned_by(org_id, key_id),  # type: ignore[arg-type]
        or_(StoredFile.expires_at.is_(None), StoredFile.expires_at > now),
    )
    if purpose is not None:
        query = query.where(StoredFile.purpose == purpose)
    order = (
        (StoredFile.created_at.desc(), StoredFile.id.desc())
        if newest_first
        else (StoredFile.created_at, StoredFile.id)
    )
    if after is not None:
        if newest_first:
            query = query.where(
                or_(
                    StoredFile.created_at < after.created_at,
                    (StoredFile.created_at == after.created_at) & (StoredFile.id < after.id),
                )
            )
        else:
            query = query.where(
                or_(
                    StoredFile.created_at > after.created_at,
                    (StoredFile.created_at == after.created_at) & (StoredFile.id > after.id),
                )
            )
    return list(session.scalars(query.order_by(*order).limit(limit)))


def stored_bytes(*, session: Session, org_id: str | None, key_id: str | None, now: datetime) -> int:
    """Bytes of the owner's live files."""
    query = select(func.coalesce(func.sum(StoredFile.bytes), 0)).where(
        owned_by(org_id, key_id),  # type: ignore[arg-type]
        or_(StoredFile.expires_at.is_(None), StoredFile.expires_at > now),
    )
    return int(session.scalar(query) or 0)


def remove(*, session: Session, file_id: str) -> bool:
    return changed(session.execute(delete(StoredFile).where(StoredFile.id == file_id))) > 0


def expired(*, session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(StoredFile.id).where(StoredFile.expires_at <= now)))
