"""The markers `-m` selects on (`server`, `ray`, `browser`, `postgres`) follow from what a test uses
(tests/support/needs.py): checked on a collection of modules that use each in a different way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "tests/web",  # playwright's page -> browser; the shared --require-auth server -> server
    "tests/deploy/test_ray_serve.py",  # imports ray; GazoServer and a PostgreSQL ledger in a fixture
    "tests/store/test_keys.py",  # the `database` fixture's PostgreSQL side
    "tests/store/test_database_failures.py",  # servers started in the test body; PostgreSQL in one
    "tests/billing/test_server_usage_params.py",  # a fixture fetches `pg_server` by its parameter
    "tests/cli/test_server_mode.py",  # one test names a port where nothing listens
)
COLLECT = """
import sys, pytest
class Print:
    def pytest_collection_finish(self, session):
        for item in session.items:
            marks = {m.name for m in item.iter_markers()} & {"server", "ray", "browser", "postgres"}
            print("MARKS", item.nodeid, ",".join(sorted(marks)))
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[Print()]))
"""


def collected_marks(*paths: str) -> dict[str, set[str]]:
    """Node id -> its markers among the four, for every test collected from `paths` in a fresh pytest."""
    done = subprocess.run(
        [sys.executable, "-c", COLLECT, *paths], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line.split(" ") for line in done.stdout.splitlines() if line.startswith("MARKS ")]
    return {fields[1]: set(filter(None, fields[2].split(","))) for fields in lines}


def test_markers_follow_what_each_test_uses() -> None:
    marks = collected_marks(*MODULES)

    def of(module: str, within: str = "") -> set[frozenset[str]]:
        """The distinct marker sets of the tests of `module` whose node id contains `within`."""
        found = {frozenset(v) for node, v in marks.items() if node.startswith(module) and within in node}
        assert found, f"nothing collected from {module} {within}"
        return found

    assert of("tests/web/test_playground.py") == {frozenset({"browser", "server"})}
    assert of("tests/web/test_routes.py") == {frozenset()}  # in-process: no server, no browser
    assert of("tests/deploy/test_ray_serve.py") == {frozenset({"ray", "server", "postgres"})}
    assert of("tests/store/test_keys.py", "[postgresql]") == {frozenset({"postgres"})}
    assert of("tests/store/test_keys.py", "[sqlite]") == {frozenset()}
    failures = "tests/store/test_database_failures.py"
    assert of(failures, "full_disk") == {frozenset({"server"})}
    assert of(failures, "postgresql_refusing") == {frozenset({"server", "postgres"})}
    assert of(failures, "refused_statement_is_not_a_database_failure[sqlite]") == {frozenset()}
    usage_params = "tests/billing/test_server_usage_params.py"  # `page` among its parameters: no browser
    assert of(usage_params, "[pg_server") == {frozenset({"server", "postgres"})}
    assert of(usage_params, "[sqlite_server") == {frozenset({"server"})}
    assert of("tests/cli/test_server_mode.py", "no_server_there") == {frozenset()}
    assert frozenset({"server"}) in of("tests/cli/test_server_mode.py")
