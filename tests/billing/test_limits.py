"""Requests and images per minute: GCRA in-process and in Redis, with OpenAI's headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gazo.billing import limits
from gazo.billing.limits import LocalRateLimiter, RedisRateLimiter, format_duration
from gazo.errors import RateLimited
from tests.billing.meters import caller_for, make_key, make_meter, reserve
from tests.store.databases import sqlite_database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(limits.time, "monotonic", fake)
    return fake


@pytest.fixture
def shared_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"gazo-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_local_burst_then_refusal_with_headers(clock: Clock) -> None:
    limiter = LocalRateLimiter()
    statuses = [limiter.acquire("k", rpm=3, ipm=None, images=1) for _ in range(3)]
    assert [s.allowed for s in statuses] == [True, True, True]
    assert statuses[0].headers() == {
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "20s",
    }
    refused = limiter.acquire("k", rpm=3, ipm=None, images=1)
    assert not refused.allowed and refused.refused_by == "requests"
    assert refused.headers()["retry-after"] == "20"
    assert refused.headers()["retry-after-ms"] == "20000"
    assert refused.headers()["x-ratelimit-remaining-requests"] == "0"
    clock.now += 20
    assert limiter.acquire("k", rpm=3, ipm=None, images=1).allowed
    assert limiter.acquire("other", rpm=3, ipm=None, images=1).allowed  # per key


def test_images_per_minute_counts_n_and_a_refusal_books_nothing(clock: Clock) -> None:
    limiter = LocalRateLimiter()
    assert limiter.acquire("k", rpm=100, ipm=10, images=8).allowed
    refused = limiter.acquire("k", rpm=100, ipm=10, images=4)
    assert refused.refused_by == "images"
    assert refused.headers()["retry-after"] == "12"  # two images back at 6 s each
    peek = limiter.peek("k", rpm=100, ipm=10)
    assert peek.allowed
    assert peek.headers()["x-ratelimit-remaining-requests"] == "99"  # the refused request was not booked
    assert peek.headers()["x-ratelimit-remaining-images"] == "2"
    assert limiter.acquire("k", rpm=100, ipm=10, images=2).allowed


def test_no_limits_means_no_headers(clock: Clock) -> None:
    status = LocalRateLimiter().acquire("k", rpm=None, ipm=None, images=10)
    assert status.allowed and status.headers() == {}


@pytest.mark.parametrize(("ms", "text"), [(0, "0ms"), (120.2, "121ms"), (1500, "1.5s"), (60000, "1m0s")])
def test_reset_durations_look_like_openais(ms: float, text: str) -> None:
    assert format_duration(ms) == text


def test_redis_limits_are_shared_between_limiters(redis_url: str, shared_prefix: str) -> None:
    first = RedisRateLimiter(redis_url, prefix=shared_prefix)
    second = RedisRateLimiter(redis_url, prefix=shared_prefix)
    try:
        assert first.acquire("k", rpm=2, ipm=5, images=2).allowed
        status = second.acquire("k", rpm=2, ipm=5, images=2)
        assert status.allowed
        assert status.headers()["x-ratelimit-remaining-requests"] == "0"
        assert status.headers()["x-ratelimit-remaining-images"] == "1"
        refused = first.acquire("k", rpm=2, ipm=5, images=1)
        assert refused.refused_by == "requests"
        assert 29 <= int(refused.headers()["retry-after"]) <= 30
        assert second.peek("k", rpm=2, ipm=5).headers()["x-ratelimit-remaining-images"] == "1"
    finally:
        first.close()
        second.close()


def test_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    status = limiter.acquire("k", rpm=1, ipm=1, images=1)
    assert status.allowed and status.headers() == {}
    limiter.close()


def test_two_meters_share_a_keys_limits_through_redis(
    redis_url: str, shared_prefix: str, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path / "gazo.db")
    _, secret = make_key(database, rpm=3, ipm=4)
    meters = [make_meter(database, RedisRateLimiter(redis_url, prefix=shared_prefix)) for _ in range(2)]
    callers = [caller_for(meter, secret) for meter in meters]
    first = reserve(meters[0], callers[0], n=2)
    assert first.rate_limit_headers["x-ratelimit-remaining-images"] == "2"
    second = reserve(meters[1], callers[1], n=2)
    assert second.rate_limit_headers["x-ratelimit-remaining-requests"] == "1"
    assert second.rate_limit_headers["x-ratelimit-remaining-images"] == "0"
    with pytest.raises(RateLimited) as raised:
        reserve(meters[0], callers[0], n=1)
    headers = raised.value.headers
    assert (raised.value.status, raised.value.code) == (429, "rate_limit_exceeded")
    assert headers["x-ratelimit-limit-images"] == "4" and headers["x-ratelimit-remaining-images"] == "0"
    assert 14 <= int(headers["retry-after"]) <= 15  # one image back every 15 s
    state = meters[1].limiter.peek(callers[1].identity, rpm=callers[1].rpm, ipm=callers[1].ipm)
    assert state.headers()["x-ratelimit-remaining-requests"] == "1"  # the refusal booked nothing
    database.dispose()
