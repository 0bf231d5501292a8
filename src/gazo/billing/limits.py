"""Requests and images per minute, per key: in-process, or in Redis so replicas share them.

Each limit is a GCRA (generic cell rate algorithm, the token bucket as one timestamp): a key with
``rpm = 60`` may burst 60 requests and then gets one more each second, instead of a fixed window
that allows 120 across a minute boundary. One number per (key, kind) is all there is to store, so
the Redis version is one Lua script that checks both kinds and books them only if both pass, on the
Redis server's clock (replicas' clocks may differ). A refused request books nothing.

The status carries OpenAI's headers: ``x-ratelimit-{limit,remaining,reset}-{requests,images}``,
plus ``retry-after`` (whole seconds, what most clients read) and ``retry-after-ms`` (which the
openai SDK prefers) when refused. If Redis is unreachable the limiter lets requests through and
logs it: limits protect capacity, while money is guarded by budgets in the database.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "LimitState",
    "LocalRateLimiter",
    "RateLimitStatus",
    "RateLimiter",
    "RedisRateLimiter",
    "make_limiter",
]

log = logging.getLogger(__name__)

WINDOW_MS = 60_000.0
_KINDS = ("requests", "images")


@dataclass(frozen=True, slots=True)
class LimitState:
    limit: int
    remaining: int
    reset_ms: float


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """The outcome of one check; ``retry_after_ms`` is set only when the request is refused."""

    states: dict[str, LimitState]
    retry_after_ms: float | None = None
    refused_by: str | None = None

    @property
    def allowed(self) -> bool:
        return self.retry_after_ms is None

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, state in self.states.items():
            headers[f"x-ratelimit-limit-{kind}"] = str(state.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(state.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = format_duration(state.reset_ms)
        if self.retry_after_ms is not None:
            headers["retry-after"] = str(max(1, math.ceil(self.retry_after_ms / 1000)))
            headers["retry-after-ms"] = str(max(1, math.ceil(self.retry_after_ms)))
        return headers


class RateLimiter(Protocol):
    def acquire(self, identity: str, *, rpm: int | None, ipm: int | None, images: int) -> RateLimitStatus:
        """Book one request and ``images`` images if both fit, else refuse and book nothing."""
        ...

    def peek(self, identity: str, *, rpm: int | None, ipm: int | None) -> RateLimitStatus:
        """The current state without booking anything."""
        ...


def format_duration(ms: float) -> str:
    """OpenAI's reset format: ``120ms``, ``1.5s``, ``1m0s``."""
    if ms < 1000:
        return f"{max(0, math.ceil(ms))}ms"
    seconds = round(ms / 1000, 3)
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:g}s"


def _evaluate(
    *, now: float, bases: dict[str, float], limits: dict[str, int], costs: dict[str, int], booked: bool
) -> RateLimitStatus:
    """Headers and verdict from each kind's ``max(tat, now)``; ``booked`` says the costs were added."""
    states: dict[str, LimitState] = {}
    retry_after: float | None = None
    refused_by = None
    for kind, limit in limits.items():
        interval = WINDOW_MS / limit
        after = bases[kind] + (costs[kind] * interval if booked else 0.0)
        wanted = bases[kind] + costs[kind] * interval - now - WINDOW_MS
        refused = not booked and wanted > 1e-6 and costs[kind] > 0
        if refused and (retry_after is None or wanted > retry_after):
            retry_after, refused_by = wanted, kind
        remaining = math.floor((WINDOW_MS - (after - now)) / interval + 1e-9)
        states[kind] = LimitState(limit, max(0, remaining), max(0.0, after - now))
    return RateLimitStatus(states, retry_after, refused_by)


def _limits(rpm: int | None, ipm: int | None) -> dict[str, int]:
    return {kind: limit for kind, limit in zip(_KINDS, (rpm, ipm), strict=True) if limit}


class LocalRateLimiter:
    """Counters in this process's memory: right for one gazo process (the default)."""

    def __init__(self) -> None:
        self._tats: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def acquire(self, identity: str, *, rpm: int | None, ipm: int | None, images: int) -> RateLimitStatus:
        return self._check(identity, _limits(rpm, ipm), {"requests": 1, "images": images})

    def peek(self, identity: str, *, rpm: int | None, ipm: int | None) -> RateLimitStatus:
        return self._check(identity, _limits(rpm, ipm), {"requests": 0, "images": 0})

    def _check(self, identity: str, limits: dict[str, int], costs: dict[str, int]) -> RateLimitStatus:
        with self._lock:
            now = time.monotonic() * 1000
            bases = {kind: max(self._tats.get((identity, kind), now), now) for kind in limits}
            fits = all(
                bases[kind] + costs[kind] * WINDOW_MS / limit - now <= WINDOW_MS + 1e-6
                for kind, limit in limits.items()
            )
            book = fits and any(costs.values())
            if book:
                for kind, limit in limits.items():
                    self._tats[(identity, kind)] = bases[kind] + costs[kind] * WINDOW_MS / limit
            return _evaluate(now=now, bases=bases, limits=limits, costs=costs, booked=fits)


_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local window = tonumber(ARGV[1])
local bases, fits = {}, 1
for i = 1, #KEYS do
  local limit, cost = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local base = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
  bases[i] = base
  if base + cost * window / limit - now > window + 0.000001 then fits = 0 end
end
local out = {fits, string.format('%.3f', now)}
for i = 1, #KEYS do
  local limit, cost = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  if fits == 1 and cost > 0 then
    local tat = bases[i] + cost * window / limit
    redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
  end
  out[#out + 1] = string.format('%.3f', bases[i])
end
return out
"""


class RedisRateLimiter:
    """Counters in Redis, shared by every gazo process that uses the same server and prefix."""

    def __init__(self, url: str, *, prefix: str = "gazo:ratelimit:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_LUA)
        self._prefix = prefix
        self._warned_at = 0.0

    def acquire(self, identity: str, *, rpm: int | None, ipm: int | None, images: int) -> RateLimitStatus:
        return self._check(identity, _limits(rpm, ipm), {"requests": 1, "images": images})

    def peek(self, identity: str, *, rpm: int | None, ipm: int | None) -> RateLimitStatus:
        return self._check(identity, _limits(rpm, ipm), {"requests": 0, "images": 0})

    def close(self) -> None:
        self._redis.close()

    def _check(self, identity: str, limits: dict[str, int], costs: dict[str, int]) -> RateLimitStatus:
        if not limits:
            return RateLimitStatus({})
        import redis

        kinds = list(limits)
        # The {identity} hash tag keeps both keys in one Redis Cluster slot, as scripts require.
        keys = [f"{self._prefix}{{{identity}}}:{kind}" for kind in kinds]
        args: list[float] = [WINDOW_MS]
        for kind in kinds:
            args += [limits[kind], costs[kind]]
        try:
            fits, now, *bases = self._script(keys=keys, args=args)
        except redis.RedisError as error:
            self._warn(error)
            return RateLimitStatus({})
        return _evaluate(
            now=float(now),
            bases={kind: float(base) for kind, base in zip(kinds, bases, strict=True)},
            limits=limits,
            costs=costs,
            booked=int(fits) == 1,
        )

    def _warn(self, error: Exception) -> None:
        if time.monotonic() - self._warned_at > 30:
            self._warned_at = time.monotonic()
            log.warning("rate limits not enforced: Redis unreachable (%s)", error)


def make_limiter(redis_url: str | None, *, prefix: str = "gazo:ratelimit:") -> RateLimiter:
    """Redis-backed when a URL is configured, else in-process."""
    return RedisRateLimiter(redis_url, prefix=prefix) if redis_url else LocalRateLimiter()
