"""`gazo serve` refuses a broken data dir or database with one line that says what to do (no traceback),
and the database files it makes are private."""

from __future__ import annotations

import ctypes
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gazo.settings import Settings
from gazo.store.database import Database, sqlite_url
from gazo.store.startup import prepare_storage
from tests.support.server import free_port
from tests.support.services import missing_service

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_ROWS = """INSERT INTO usage (id, model, operation, size, quality, n, text_input_tokens, image_input_tokens,
image_output_tokens, reserved_micros, cost_micros, status, request_id, created_at)
VALUES (:id, 'gpt-image-1', 'generation', '1024x1024', 'low', 1, 10, 0, 272, 10930, 10930, 'succeeded', :id,
'2026-11-01 00:00:00.000000')"""


def _as_a_user() -> None:
    """In the child, before exec: as root, give up what lets root write where file modes forbid it."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _serve(data_dir: Path | None, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gazo serve` as an operator (never root's override) runs it; it should not get as far as listening."""
    command = [sys.executable, "-m", "gazo", "serve", "--port", str(free_port())]
    command += ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run(
        command,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        preexec_fn=_as_a_user,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert len(output.splitlines()) == 1 and output.startswith("gazo: "), output
    assert "Traceback" not in output
    for word in words:
        assert word in output, output
    return output


def _assert_unwritable_here(target: Path) -> None:
    """The way this test makes `target` (a folder or file) read-only really stops a child process writing."""
    path = target if target.is_file() else target / "probe"
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(path)!r}, 'a')"],
        preexec_fn=_as_a_user,
        capture_output=True,
    )
    if probe.returncode == 0:  # a failure under CI (its machine can do this), a skip elsewhere
        missing_service("cannot make a path read-only for a child process here (root without CAP_SETPCAP?)")


def _migrated(path: Path, rows: int = 0) -> Path:
    database = Database(sqlite_url(path))
    database.upgrade()
    with database.transaction() as session:
        for i in range(rows):
            session.execute(text(_ROWS), {"id": f"usage_{i:08d}"})
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


def test_a_junk_file_is_named_as_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "gazo.db").write_bytes(random.Random(0).randbytes(50_000))
    _assert_one_line(_serve(tmp_path), f"{tmp_path / 'gazo.db'} is not a SQLite database", "move it aside")


def test_a_corrupted_database_is_caught_at_start_up(tmp_path: Path) -> None:
    path = _migrated(tmp_path / "gazo.db", rows=3000)
    pages = path.stat().st_size // 4096
    assert pages > 50
    with path.open("r+b") as file:  # three pages in the middle overwritten with junk
        file.seek(pages // 2 * 4096)
        file.write(random.Random(1).randbytes(3 * 4096))
    _assert_one_line(_serve(tmp_path), f"{path} is corrupted", "restore it from a backup", ".recover")


def test_a_read_only_data_dir_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _migrated(data_dir / "gazo.db")
    data_dir.chmod(0o500)
    try:
        _assert_unwritable_here(data_dir)
        _assert_one_line(_serve(data_dir), f"cannot write to the data dir {data_dir}", "writable")
    finally:
        data_dir.chmod(0o700)


def test_a_read_only_database_file_is_named(tmp_path: Path) -> None:
    path = _migrated(tmp_path / "gazo.db")
    path.chmod(0o400)
    _assert_unwritable_here(path)
    _assert_one_line(_serve(tmp_path), f"cannot write {path}", "readonly", "writable")


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("")
    _assert_one_line(_serve(None, env={"GAZO_DATA_DIR": str(not_a_dir)}), f"{not_a_dir} is not a directory")


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://gazo:s3cret@127.0.0.1:{free_port()}/gazo"
    output = _assert_one_line(
        _serve(tmp_path, env={"GAZO_DATABASE_URL": url}), "cannot use the database at", "GAZO_DATABASE_URL"
    )
    assert "s3cret" not in output and "127.0.0.1" in output


def test_new_database_files_are_private_and_a_new_data_dir_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    prepare_storage(Settings(data_dir=data_dir))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    database = Database.from_settings(Settings(data_dir=data_dir))
    try:
        with database.transaction() as session:  # a connection that stays open keeps -wal and -shm
            session.execute(text(_ROWS), {"id": "usage_1"})
        files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data_dir.iterdir()}
        assert files == {"gazo.db": 0o600, "gazo.db-wal": 0o600, "gazo.db-shm": 0o600}
    finally:
        database.dispose()


@pytest.mark.parametrize("command", [("keys", "list"), ("usage",), ("db", "upgrade")])
def test_the_database_commands_name_a_broken_database_in_one_line_too(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "gazo.db").write_bytes(random.Random(0).randbytes(50_000))
    done = subprocess.run(
        [sys.executable, "-m", "gazo", *command, "--data-dir", str(tmp_path)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_one_line(done, f"{tmp_path / 'gazo.db'} is not a SQLite database")
