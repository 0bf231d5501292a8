"""A batch survives SIGKILL: started again on the same data dir, the server finishes it, every line once
and charged once; cancel stops further lines; an expired batch returns what completed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.batches.support import generation_lines, read_lines, submit, usage_rows, wait
from tests.support.configs import slow_tiny
from tests.support.server import GazoServer

STEPS = 60  # per line at medium: a pass of lines takes long enough to kill the server between passes


def _slow_server(folder: Path, shared_data_dir: Path, *, steps: int) -> GazoServer:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "gazo.toml"
    config.write_text(
        slow_tiny(shared_data_dir / "models" / "gazo-tiny-sd", medium_steps=steps, request_timeout_s=120)
    )
    return GazoServer(folder / "data", config=config)


def test_a_batch_killed_part_way_resumes_and_runs_every_line_once(
    tmp_path: Path, shared_data_dir: Path, server: GazoServer
) -> None:
    lines = generation_lines(16, quality="medium")
    first = _slow_server(tmp_path, shared_data_dir, steps=STEPS).start()
    try:
        client = first.client()
        batch = submit(client, lines)
        progress = wait(client, batch.id, until=("in_progress",))
        while progress.request_counts.completed < 3:
            progress = client.batches.retrieve(batch.id)
        first.kill()  # SIGKILL: no shutdown code runs
        assert progress.status == "in_progress" and progress.request_counts.completed < 16
    finally:
        first.stop()
    second = _slow_server(tmp_path, shared_data_dir, steps=STEPS).start()
    try:
        client = second.client()
        done = wait(client, batch.id, timeout_s=300)
        assert done.status == "completed" and done.request_counts.completed == 16
        outputs = read_lines(client, done.output_file_id)
        assert sorted(line["custom_id"] for line in outputs) == sorted(line["custom_id"] for line in lines)
        assert read_lines(client, done.error_file_id) == []
        rows = usage_rows(second.data_dir, batch.id)
        assert [status for status, _ in rows].count("succeeded") == 16  # charged once each
        assert all(status in ("succeeded", "abandoned", "cancelled") for status, _ in rows)
        assert sum(cost for status, cost in rows if status != "succeeded") == 0
    finally:
        second.stop()


def test_cancel_stops_further_lines_and_returns_what_completed(
    tmp_path: Path, shared_data_dir: Path, server: GazoServer
) -> None:
    with _slow_server(tmp_path, shared_data_dir, steps=STEPS) as running:
        client = running.client()
        batch = submit(client, generation_lines(24, quality="medium"))
        wait(client, batch.id, until=("in_progress",))
        cancelling = client.batches.cancel(batch.id)
        assert cancelling.status in ("cancelling", "cancelled")
        done = wait(client, batch.id, timeout_s=180)
        assert done.status == "cancelled" and done.cancelled_at
        outputs, errors = read_lines(client, done.output_file_id), read_lines(client, done.error_file_id)
        assert len(outputs) + len(errors) == 24 and len(outputs) < 24
        assert {error["error"]["code"] for error in errors} == {"batch_cancelled"}
        assert len(usage_rows(running.data_dir, batch.id)) < 24  # cancelled lines never reached billing


def test_an_expired_batch_returns_what_completed(
    tmp_path: Path, shared_data_dir: Path, server: GazoServer
) -> None:
    with _slow_server(tmp_path, shared_data_dir, steps=STEPS) as running:
        client = running.client()
        batch = submit(client, generation_lines(16, quality="medium"))
        while client.batches.retrieve(batch.id).request_counts.completed < 1:
            pass
        database = sqlite3.connect(running.data_dir / "gazo.db")
        try:  # the 24 h window, passed
            database.execute(
                "UPDATE batches SET expires_at = '2000-01-01 00:00:00' WHERE id = ?", (batch.id,)
            )
            database.commit()
        finally:
            database.close()
        done = wait(client, batch.id, timeout_s=180)
        assert done.status == "expired" and done.expired_at
        outputs, errors = read_lines(client, done.output_file_id), read_lines(client, done.error_file_id)
        assert outputs and errors and len(outputs) + len(errors) == 16
        assert {error["error"]["code"] for error in errors} == {"batch_expired"}
