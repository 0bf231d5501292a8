"""Who is calling: an API key (or open mode) becomes a :class:`Caller`, kept apart from the money path.

Every request is authenticated before its body is read, so in a burst this lookup is most of what a
refused request costs. Two things make it cheap without weakening it:

- a key that was found is remembered for ``billing.auth_cache_s`` (1 s): a burst from one key asks
  the database once a second instead of once a request, and a revoked key stops working in this
  process within that time (unknown or revoked keys are never remembered: each is asked afresh);
- "closed for good" is remembered forever: once a key has existed, open mode never returns (unless
  ``billing.allow_open_with_keys``), so nothing needs asking again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from gazo.billing.values import Caller, auth_message, bearer_token
from gazo.errors import AuthenticationFailed
from gazo.settings import BillingSettings
from gazo.store import keys
from gazo.store.database import Database

#: Keys remembered at once; the oldest is forgotten first.
_CACHE_ENTRIES = 4096


class Authenticator:
    """API keys → callers, with a short memory of keys it found (thread-safe)."""

    def __init__(self, database: Database, settings: BillingSettings) -> None:
        self.database = database
        self.settings = settings
        self._found: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._closed_for_good = settings.require_auth

    def remembered(self, authorization: str | None) -> Caller | None:
        """The caller of a key found less than ``auth_cache_s`` ago; no database, no thread needed."""
        secret = bearer_token(authorization)
        if secret is None or self.settings.auth_cache_s <= 0:
            return None
        digest = _digest(secret)
        with self._lock:
            entry = self._found.get(digest)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._found[digest]
                return None
            return entry[0]

    def authenticate(self, authorization: str | None, *, allow_open: bool = False) -> Caller:
        """The caller behind an ``Authorization: Bearer`` header, or open mode, or 401.

        Open mode needs ``allow_open`` (the HTTP layer decides: loopback bind), ``require_auth``
        off, and no key ever created (revoking the last key does not reopen the server) unless
        ``allow_open_with_keys``; an unknown header is then ignored, since SDKs always send one.
        """
        if (caller := self.remembered(authorization)) is not None:
            return caller
        secret = bearer_token(authorization)
        with self.database.reading() as session:
            found = keys.find_active_key(session=session, secret=secret) if secret else None
            if found is None and self._open(session, allow_open):
                return self._operator()
        if found is None or secret is None:
            raise AuthenticationFailed(auth_message(secret))
        caller = self._caller(found)
        self._remember(secret, caller)
        return caller

    def caller_for_key(self, key_id: str | None) -> Caller | None:
        """The caller a key id stands for now, to run work it left behind (a batch's lines) as it would
        have run: None when the key was revoked since. `None` stands for open mode."""
        if key_id is None:
            return self._operator()
        with self.database.reading() as session:
            found = keys.find_active_key_by_id(session=session, key_id=key_id)
        return None if found is None else self._caller(found)

    def _operator(self) -> Caller:
        """Open mode's caller: the operator at their own machine."""
        return Caller(
            key_id=None,
            org_id=None,
            is_admin=True,
            open_mode=True,
            rpm=self.settings.default_rpm,
            ipm=self.settings.default_ipm,
        )

    def _caller(self, found: keys.KeyInfo) -> Caller:
        return Caller(
            key_id=found.id,
            org_id=found.org_id,
            is_admin=found.is_admin,
            open_mode=False,
            key_name=found.name,
            rpm=found.rpm or self.settings.default_rpm,
            ipm=found.ipm or self.settings.default_ipm,
            org_name=found.org_name,
        )

    def mode(self, *, allow_open: bool) -> str:
        """``open`` or ``closed`` right now, for the start-up log."""
        with self.database.reading() as session:
            return "open" if self._open(session, allow_open) else "closed"

    def _open(self, session: Any, allow_open: bool) -> bool:
        if not allow_open or self._closed_for_good:
            return False
        if self.settings.allow_open_with_keys:
            return True
        if keys.any_key_ever(session=session):
            self._closed_for_good = True
            return False
        return True

    def _remember(self, secret: str, caller: Caller) -> None:
        if self.settings.auth_cache_s <= 0:
            return
        with self._lock:
            self._found[_digest(secret)] = (caller, time.monotonic() + self.settings.auth_cache_s)
            self._found.move_to_end(_digest(secret))
            while len(self._found) > _CACHE_ENTRIES:
                self._found.popitem(last=False)


def _digest(secret: str) -> str:
    """The cache holds digests, not secrets (a memory dump shows no usable key)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
