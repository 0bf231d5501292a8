"""A key's requests-per-minute limit holds across two `gazo serve` processes sharing Redis and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import redis

from tests.billing.meters import usage_rows
from tests.billing.servers import Key, create_key, opened, running
from tests.store.databases import reachable_redis, temporary_pg_database
from tests.support.server import GazoServer

SMALL = {"model": "gpt-image-1", "prompt": "a kite", "size": "64x64", "quality": "low"}
RESET = re.compile(r"^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$")


@pytest.fixture(scope="module")
def twin_servers(
    tmp_path_factory: pytest.TempPathFactory, billing_config: Path
) -> Iterator[tuple[GazoServer, ...]]:
    redis_url = reachable_redis()
    with temporary_pg_database() as url:
        env = {"GAZO_DATABASE_URL": url, "GAZO_REDIS_URL": redis_url}
        twins = [
            GazoServer(tmp_path_factory.mktemp(f"twin-{i}"), config=billing_config, env=env) for i in range(2)
        ]
        with running(*twins) as started:
            yield started


@pytest.fixture
def limited_key(twin_servers: tuple[GazoServer, ...]) -> Iterator[Key]:
    """A key allowed 2 requests a minute; its counters are deleted from Redis afterwards."""
    key = create_key(twin_servers[0], "limited", "--rpm", "2")
    yield key
    client = redis.Redis.from_url(twin_servers[0].env["GAZO_REDIS_URL"])
    for name in client.scan_iter(f"gazo:ratelimit:{{{key.id}}}:*"):
        client.delete(name)
    client.close()


def test_two_servers_share_one_rate_limit_through_redis(
    twin_servers: tuple[GazoServer, ...], limited_key: Key
) -> None:
    first, second = (server.client(api_key=limited_key.secret) for server in twin_servers)
    remaining = []
    for client in (first, second):
        raw = client.images.with_raw_response.generate(**SMALL)
        assert raw.parse().data[0].b64_json and raw.headers["x-ratelimit-limit-requests"] == "2"
        remaining.append(raw.headers["x-ratelimit-remaining-requests"])
    assert remaining == ["1", "0"]  # the second server counted the first one's request

    with pytest.raises(openai.RateLimitError) as refused:
        first.images.generate(**SMALL)  # it served one request itself: the other counts too
    error = refused.value
    assert (error.status_code, error.code, error.type) == (429, "rate_limit_exceeded", "requests")
    headers = error.response.headers
    assert headers["x-ratelimit-limit-requests"] == "2" and headers["x-ratelimit-remaining-requests"] == "0"
    assert RESET.match(headers["x-ratelimit-reset-requests"]), headers["x-ratelimit-reset-requests"]
    assert 1 <= int(headers["retry-after"]) <= 30  # one request back every 30 s
    with opened(twin_servers[0]) as database:
        rows = [row for row in usage_rows(database) if row.key_id == limited_key.id]
    assert [row.status for row in rows] == ["succeeded"] * 2  # the refused request left no row
