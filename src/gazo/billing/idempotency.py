"""Idempotent replay: a retry with the same Idempotency-Key and body gets the stored response again.

A succeeded request sent with an ``Idempotency-Key`` keeps its response (the images' bytes and their
usage) for :data:`KEEP`, sealed with AES-GCM under a key derived (HKDF-SHA256) from the request's
fingerprint and its Idempotency-Key, salted with the caller's key id. The database keeps neither the
fingerprint nor the Idempotency-Key (only one-way digests of each: one to find the key's row, one to
tell a reused key from a retry), so what it stores opens only for a client that sends the same
request with the same key again: prompts and images stay out of reach of whoever reads the database.

A key reused with another body is refused with :class:`IdempotencyKeyReused` (422), never rendered;
one whose first request is still running answers :class:`IdempotencyConflict` (409, which the openai
SDK retries after ``retry-after``). After :data:`KEEP` the key is free again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gazo.billing.tokens import TokenUsage
from gazo.errors import IdempotencyConflict, IdempotencyKeyReused
from gazo.store import responses
from gazo.store import usage as usage_rows
from gazo.store.tables import SUCCEEDED

__all__ = [
    "KEEP",
    "Idempotency",
    "IdempotencyConflict",
    "IdempotencyKeyReused",
    "StoredImage",
    "StoredResponse",
    "find_replay",
    "open_response",
    "seal_response",
]

#: How long an Idempotency-Key and its stored response are kept (OpenAI keeps keys 24 h).
KEEP = timedelta(hours=24)
_KEY_INFO = b"gazo idempotent response v1"
_HASH_CONTEXT = b"gazo request hash v1\x00"
_KEY_CONTEXT = b"gazo idempotency key v1\x00"
_NONCE_BYTES = 12
_FORMAT = 1
_CONFLICT_RETRY_S = 2


@dataclass(frozen=True)
class StoredImage:
    """One image of a stored response, with the share of the request's usage it accounts for."""

    index: int
    data: bytes
    usage: TokenUsage


@dataclass(frozen=True)
class StoredResponse:
    """What a replay hands back: the images exactly as first sent, and when they were made."""

    created: int
    images: tuple[StoredImage, ...]


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key, with what is needed to recognise and open its stored response.

    ``key`` and ``request_hash`` are what the database keeps, both one-way digests; ``secret`` (the
    AES key) is never stored, and neither is the client's Idempotency-Key it is derived from, so
    even a reader of the database who guesses a whole request cannot open its response."""

    key: str
    request_hash: str
    secret: bytes = field(repr=False)

    @classmethod
    def derive(cls, idempotency_key: str, fingerprint: bytes, key_id: str | None) -> Idempotency:
        """``fingerprint``: the SHA-256 of everything that shapes the request's output."""
        stored_key = hashlib.sha256(_KEY_CONTEXT + idempotency_key.encode()).hexdigest()
        request_hash = hashlib.sha256(_HASH_CONTEXT + fingerprint).hexdigest()
        hkdf = HKDF(algorithm=SHA256(), length=32, salt=(key_id or "open").encode(), info=_KEY_INFO)
        return cls(stored_key, request_hash, hkdf.derive(fingerprint + idempotency_key.encode()))

    def matches(self, request_hash: str | None) -> bool:
        return request_hash is not None and hmac.compare_digest(self.request_hash, request_hash)


def seal_response(idempotency: Idempotency, usage_id: str, response: StoredResponse) -> bytes:
    """``response`` encrypted and bound to its usage row: nonce + AES-GCM ciphertext."""
    header = json.dumps(
        {
            "format": _FORMAT,
            "created": response.created,
            "images": [
                {
                    "index": image.index,
                    "bytes": len(image.data),
                    "usage": [
                        image.usage.text_input_tokens,
                        image.usage.image_input_tokens,
                        image.usage.image_output_tokens,
                    ],
                }
                for image in response.images
            ],
        },
        separators=(",", ":"),
    ).encode()
    plain = b"".join([len(header).to_bytes(4, "big"), header, *(image.data for image in response.images)])
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(idempotency.secret).encrypt(nonce, plain, usage_id.encode())


def open_response(idempotency: Idempotency, usage_id: str, sealed: bytes) -> StoredResponse | None:
    """The response :func:`seal_response` stored, or None when this key cannot open it."""
    try:
        plain = AESGCM(idempotency.secret).decrypt(
            sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], usage_id.encode()
        )
    except InvalidTag:
        return None
    size = int.from_bytes(plain[:4], "big")
    header = json.loads(plain[4 : 4 + size])
    offset, images = 4 + size, []
    for image in header["images"]:
        end = offset + image["bytes"]
        images.append(StoredImage(image["index"], plain[offset:end], TokenUsage(*image["usage"])))
        offset = end
    return StoredResponse(created=header["created"], images=tuple(images))


def find_replay(
    *, session: Any, key_id: str | None, idempotency: Idempotency, now: datetime, writable: bool
) -> tuple[str, StoredResponse] | None:
    """(usage id, stored response) for a retry of a succeeded request; None when the key is free.

    A key older than :data:`KEEP` is free: with ``writable`` it is let go of here (with its response).
    Raises :class:`IdempotencyKeyReused` for another body, :class:`IdempotencyConflict` while the
    first request runs."""
    live = usage_rows.find_live(session=session, key_id=key_id, idempotency_key=idempotency.key)
    if live is None:
        return None
    if live.created_at <= now - KEEP:
        if writable:
            responses.forget(session=session, usage_id=live.id)
        return None
    if live.request_hash is not None and not idempotency.matches(live.request_hash):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used in the last 24 hours with a different request body; "
            "send a new Idempotency-Key for a different request.",
            param="Idempotency-Key",
        )
    if live.status != SUCCEEDED:
        raise IdempotencyConflict(
            "Another request with this Idempotency-Key is in progress; retry when it has finished.",
            param="Idempotency-Key",
            headers={"retry-after": str(_CONFLICT_RETRY_S)},
        )
    sealed = responses.load_response(session=session, usage_id=live.id, now=now)
    stored = None if sealed is None else open_response(idempotency, live.id, sealed)
    if stored is None:  # succeeded before responses were stored
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used in the last 24 hours by a request whose response is not "
            "stored; send a new Idempotency-Key.",
            param="Idempotency-Key",
        )
    return live.id, stored
