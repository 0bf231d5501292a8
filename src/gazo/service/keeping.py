"""What gazo keeps for a client to fetch again: images behind `url`s, stored Responses and their images.

Each object gets an unguessable id (`secrets.token_urlsafe`, 256 bits) that only its client is given.
The database holds a digest of that id (to find the row) and the object sealed with AES-GCM under a
key derived from the id (HKDF-SHA256), so whoever reads the database sees neither prompts nor images;
nothing is kept past its `expires_at` (rows are unreadable from that moment and purged soon after).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gazo.store import kept
from gazo.store.database import Database
from gazo.store.tables import utcnow

_NONCE_BYTES = 12
_INFO = b"gazo kept object v1\x00"


@dataclass(frozen=True)
class KeptItem:
    """An object opened again: its metadata (JSON) and its bytes."""

    meta: dict[str, Any]
    data: bytes
    created_at: datetime
    expires_at: datetime


def new_secret_id(prefix: str) -> str:
    """An id nobody can guess or enumerate: the only way to reach what it names."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


class Keeper:
    """Keep, open and forget sealed objects (blocking: call it off the event loop)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def keep(
        self,
        *,
        kind: str,
        secret_id: str,
        owner: str | None,
        meta: dict[str, Any],
        data: bytes,
        ttl: timedelta,
    ) -> datetime:
        """Seal `meta` and `data` under `secret_id` until `ttl` from now; returns when they expire."""
        now = utcnow()
        header = json.dumps(meta, separators=(",", ":")).encode()
        plain = len(header).to_bytes(4, "big") + header + data
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + _aead(kind, secret_id).encrypt(nonce, plain, kind.encode())
        expires_at = now + ttl
        with self.database.transaction() as session:
            kept.put(
                session=session,
                digest=_digest(kind, secret_id),
                kind=kind,
                owner=owner,
                payload=sealed,
                now=now,
                expires_at=expires_at,
            )
        return expires_at

    def open(
        self, *, kind: str, secret_id: str, owner: str | None = None, any_owner: bool = False
    ) -> KeptItem | None:
        """The object `secret_id` names, if it is alive and `owner` made it (or `any_owner`); else None."""
        with self.database.reading() as session:
            row = kept.get(session=session, digest=_digest(kind, secret_id), kind=kind, now=utcnow())
            if row is None or (not any_owner and row.owner != owner):
                return None
            sealed, created_at, expires_at = row.payload, row.created_at, row.expires_at
        try:
            plain = _aead(kind, secret_id).decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], kind.encode()
            )
        except InvalidTag:  # not sealed under this id: not this client's object
            return None
        size = int.from_bytes(plain[:4], "big")
        meta = json.loads(plain[4 : 4 + size])
        return KeptItem(meta=meta, data=plain[4 + size :], created_at=created_at, expires_at=expires_at)

    def forget(self, *, kind: str, secret_id: str, owner: str | None) -> bool:
        """Delete the object now, if `owner` made it; whether there was one."""
        with self.database.transaction() as session:
            return kept.remove(session=session, digest=_digest(kind, secret_id), kind=kind, owner=owner)

    def purge_expired(self) -> int:
        """Delete everything past its expiry; returns how many went."""
        with self.database.transaction() as session:
            return kept.purge_expired(session=session, now=utcnow())


def _digest(kind: str, secret_id: str) -> str:
    return hashlib.sha256(b"gazo kept id v1\x00" + kind.encode() + b"\x00" + secret_id.encode()).hexdigest()


def _aead(kind: str, secret_id: str) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO + kind.encode()).derive(
        secret_id.encode()
    )
    return AESGCM(key)
