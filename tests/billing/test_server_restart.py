"""A server killed mid-render leaves money held; the next start on the same database gives it back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openai

from gazo.store.database import Database
from tests.billing.meters import budget_of, open_reservations, usage_rows
from tests.billing.servers import Key, create_key, opened, write_config
from tests.support.server import GazoServer

SLOW = {"prompt": "a slow sunrise", "size": "64x64", "quality": "high"}  # 100,000 steps: never finishes
IN_FLIGHT = 3


def wait_for_reserved(database: Database, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while [row.status for row in usage_rows(database)].count("reserved") < count:
        assert time.monotonic() < deadline, f"fewer than {count} requests got in flight"
        time.sleep(0.1)


@dataclass
class Busy:
    """A slow server with IN_FLIGHT requests holding a key's money, and the database it writes to."""

    server: GazoServer
    key: Key
    client: openai.OpenAI
    pending: list[Future[object]]
    database: Database


@contextmanager
def busy_server(tmp_path: Path, shared_data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Busy]:
    config = write_config(tmp_path / "slow.toml", shared_data_dir / "models", high_steps=100_000)
    server = GazoServer(tmp_path / "data", config=config, args=("--require-auth",), env=env)
    with server, ThreadPoolExecutor(IN_FLIGHT) as pool:
        key = create_key(server, "busy", "--budget-usd", "1")
        client = server.client(api_key=key.secret, timeout=120)
        pending = [pool.submit(client.images.generate, **SLOW) for _ in range(IN_FLIGHT)]
        with opened(server) as database:
            wait_for_reserved(database, IN_FLIGHT)
            yield Busy(server, key, client, pending, database)


def test_reservations_of_a_killed_server_are_released_when_it_starts_again(
    tmp_path: Path, shared_data_dir: Path
) -> None:
    with busy_server(tmp_path, shared_data_dir) as busy:
        server, key, database = busy.server, busy.key, busy.database
        server.kill()
        for request in busy.pending:
            assert isinstance(request.exception(timeout=30), openai.APIConnectionError)
        _, spent, held = budget_of(database, key.id)
        assert spent == 0 and held > 0 and open_reservations(database) == IN_FLIGHT

        server.start()  # the same data dir, so the same database

        assert budget_of(database, key.id) == (1_000_000, 0, 0)
        assert open_reservations(database) == 0
        rows = usage_rows(database)
        assert [(row.status, row.cost_micros) for row in rows] == [("abandoned", 0)] * IN_FLIGHT
        assert all(row.settled_at is not None for row in rows)
        # The key is whole again: a new request is charged as usual.
        busy.client.images.generate(**{**SLOW, "quality": "low"})
        _, spent, held = budget_of(database, key.id)
        assert spent > 0 and held == 0


def test_sigterm_lets_the_grace_period_pass_then_releases_what_is_still_held(
    tmp_path: Path, shared_data_dir: Path
) -> None:
    with busy_server(tmp_path, shared_data_dir, env={"GAZO_SERVER__SHUTDOWN_GRACE_S": "2"}) as busy:
        process = busy.server.process
        assert process is not None
        started = time.monotonic()
        process.terminate()
        assert process.wait(timeout=30) is not None  # it exits on its own, after the grace
        assert time.monotonic() - started < 20
        for request in busy.pending:
            assert request.exception(timeout=30) is not None  # nobody was answered with an image
        assert budget_of(busy.database, busy.key.id) == (1_000_000, 0, 0)
        assert open_reservations(busy.database) == 0
        settled = [(row.status, row.cost_micros) for row in usage_rows(busy.database)]
        assert settled == [("cancelled", 0)] * IN_FLIGHT
