"""A killed process leaves no money held: its reservations are released when a meter starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from gazo.store.database import Database
from gazo.store.tables import Reservation, utcnow
from tests.billing.meters import (
    ESTIMATE,
    ESTIMATE_MICROS,
    budget_of,
    caller_for,
    make_key,
    make_meter,
    open_reservations,
    reserve,
    usage_rows,
)

ROOT = Path(__file__).resolve().parents[2]

_KILLED_WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from gazo.store.database import Database
    from tests.billing.meters import caller_for, make_meter, reserve

    meter = make_meter(Database(sys.argv[1]))
    reservation = reserve(meter, caller_for(meter, sys.argv[2]), request_id="doomed")
    print(reservation.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_reservations_of_a_killed_process_are_released_on_start(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    url = database.url.render_as_string(hide_password=False)
    worker = subprocess.run(
        [sys.executable, "-c", _KILLED_WORKER, url, secret],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == -9, worker.stderr
    usage_id = worker.stdout.strip()
    assert open_reservations(database) == 1
    assert budget_of(database, key_id) == (1_000_000, 0, ESTIMATE_MICROS)

    make_meter(database)  # a restart

    assert open_reservations(database) == 0
    assert budget_of(database, key_id) == (1_000_000, 0, 0)
    (row,) = usage_rows(database)
    assert (row.id, row.status, row.cost_micros) == (usage_id, "abandoned", 0)


def test_live_holds_survive_a_second_meter_until_they_expire(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    meter = make_meter(database, reservation_timeout_s=60)
    reservation = reserve(meter, caller_for(meter, secret))
    make_meter(database)  # another meter in this (live) process
    assert open_reservations(database) == 1
    assert meter.release_stale(now=utcnow() + timedelta(seconds=30)) == 0
    assert meter.release_stale(now=utcnow() + timedelta(seconds=61)) == 1
    assert budget_of(database, key_id) == (1_000_000, 0, 0)
    # The request finished after all: it is still charged, exactly once.
    outcome = meter.commit(reservation, ESTIMATE, latency_ms=61_000)
    assert outcome.cost_micros == ESTIMATE_MICROS and not outcome.replayed
    assert budget_of(database, key_id) == (1_000_000, ESTIMATE_MICROS, 0)
    assert [row.status for row in usage_rows(database)] == ["succeeded"]


def test_holds_of_other_hosts_are_released_only_when_expired(database: Database) -> None:
    _, secret = make_key(database)
    meter = make_meter(database, reservation_timeout_s=60)
    reserve(meter, caller_for(meter, secret))
    with database.transaction() as session:
        session.execute(update(Reservation).values(holder_host="elsewhere", holder_pid=1))
    assert make_meter(database).release_stale() == 0
    assert meter.release_stale(now=utcnow() + timedelta(seconds=61)) == 1
    assert open_reservations(database) == 0
