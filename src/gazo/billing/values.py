"""The values the meter hands out and takes back, and how a caller is recognised.

Kept apart from :mod:`gazo.billing.meter` so the HTTP layer can import the types without the
machinery. ``IdempotencyConflict`` (409) lives in :mod:`gazo.errors` and is re-exported here for
the code that imported it from billing.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from gazo.billing.idempotency import Idempotency, IdempotencyConflict, StoredResponse

__all__ = [
    "RELEASE_STATUSES",
    "Caller",
    "IdempotencyConflict",
    "Outcome",
    "Reservation",
    "auth_message",
    "bearer_token",
    "host_identity",
    "process_alive",
]

RELEASE_STATUSES = ("failed", "moderation_blocked", "cancelled")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, and the limits that apply (the key's own, else ``billing.default_*``).

    ``open_mode``: no key exists and the server may run without them (loopback); such a caller is
    an admin, being the operator at their own machine. ``org_name`` is what organisation rules in
    ``[[moderation.rules]]`` and ``[[moderation.allow]]`` name.
    """

    key_id: str | None
    org_id: str | None
    is_admin: bool
    open_mode: bool
    key_name: str | None = None
    rpm: int | None = None
    ipm: int | None = None
    org_name: str | None = None

    @property
    def identity(self) -> str:
        return self.key_id or "open"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A request's hold; ``replayed`` means an earlier request with its Idempotency-Key succeeded,
    and ``replay`` is that request's stored response, to send again instead of rendering.

    ``idempotency``: the request's Idempotency-Key, to store its response with when it succeeds.
    ``batch_id``: the batch this request is a line of, so commit charges the batch price it held."""

    id: str
    caller: Caller
    model: str
    amount_micros: int
    replayed: bool = False
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    replay: StoredResponse | None = None
    idempotency: Idempotency | None = None
    batch_id: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    usage_id: str
    status: str
    cost_micros: int
    replayed: bool = False


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def auth_message(secret: str | None) -> str:
    if not secret:
        return (
            "You didn't provide an API key. Send it in an Authorization header using Bearer auth "
            "(Authorization: Bearer gz-...), or as Azure clients do (api-key: gz-...). An administrator "
            "creates keys with `gazo keys create`."
        )
    shown = f"{secret[:6]}***{secret[-4:]}" if len(secret) > 12 else "***"
    return f"Incorrect API key provided: {shown}. It may be wrong or revoked."


def host_identity() -> str:
    """Host name plus PID namespace: two containers can share a name but never a PID namespace."""
    try:
        namespace = f"#{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}{namespace}"[:255]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
