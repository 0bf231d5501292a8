"""What a real `gazo serve` prints while it starts: gazo's version and addresses, its mode, each model
with its device and dtype, and none of the libraries' routine narration (issue #17, item 8).

The servers are the session's shared ones (tests/conftest.py): the tiny SD model goes through
diffusers and transformers, which draw loading bars, on a fresh data dir that alembic migrates; the
built-in default model runs closed (`--require-auth`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest

from gazo.cli import logs
from gazo.version import __version__
from tests.support.server import GazoServer

#: Lines that used to open every start and say nothing a user needs.
NOISE = (
    "alembic",  # "Context impl SQLiteImpl.", "Running upgrade  -> 0001, ..."
    "Loading weights",  # transformers' bar
    "Loading pipeline components",  # diffusers' bar
    "Writing model shards",  # transformers' bar while the tiny model is built
    "\r",  # any tqdm bar at all
    "requires torchvision",  # transformers' import-time fallback warnings
    "Started server process",  # uvicorn's start-up lines (gazo logs its address instead)
    "Waiting for application startup",
    "Application startup complete",
    "Uvicorn running on",
)


def startup_lines(server: GazoServer, *wanted: str) -> list[str]:
    """The log's lines up to the last of the `wanted` patterns (the server goes on logging other tests'
    requests), without uvicorn's access lines (the readiness polls come before the model is ready)."""
    lines = [line for line in server.log().splitlines() if '"GET ' not in line and '"POST ' not in line]
    found = {pattern: [i for i, line in enumerate(lines) if re.search(pattern, line)] for pattern in wanted}
    missing = [pattern for pattern, where in found.items() if not where]
    assert not missing, f"{missing} not in the log:\n" + "\n".join(lines)
    return lines[: max(where[0] for where in found.values()) + 1]


def assert_quiet(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert not [noise for noise in NOISE if noise in text], text


def test_a_diffusers_model_starts_with_the_lines_that_matter(server: GazoServer) -> None:
    lines = startup_lines(
        server,
        re.escape(f"gazo {__version__}: API {server.base_url}/v1, playground {server.base_url}/"),
        "gazo runs OPEN",
        r"loaded StableDiffusionPipeline from \S+ on cpu \(torch\.float32\)",
    )
    assert_quiet(lines)


def test_the_builtin_model_says_its_device_and_the_closed_mode(auth_server: GazoServer) -> None:
    lines = startup_lines(
        auth_server,
        re.escape(f"gazo {__version__}: API {auth_server.base_url}/v1, playground {auth_server.base_url}/"),
        re.escape("gazo requires an API key on every request (billing.require_auth)."),
        re.escape("model gazo-builtin ready on cpu (int8 MiniLM embeddings, no diffusion model)"),
    )
    assert_quiet(lines)
    text = "\n".join(lines)
    assert len(lines) <= 4, text  # those three and, on a first start, the C2PA CA it made: nothing more


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """`configure_logging` changes process-wide state: put it back for the tests that follow."""
    names = ("", "alembic", "httpx", "httpx2", "uvicorn.error")
    levels = {name: logging.getLogger(name).level for name in names}
    filters = list(logging.getLogger("uvicorn.error").filters)
    environment = os.environ.get("TRANSFORMERS_VERBOSITY")
    ours = dict(logs._OUR_ENVIRONMENT)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger("uvicorn.error").filters = filters
    if environment is None:
        os.environ.pop("TRANSFORMERS_VERBOSITY", None)
    else:
        os.environ["TRANSFORMERS_VERBOSITY"] = environment
    logs._OUR_ENVIRONMENT.clear()
    logs._OUR_ENVIRONMENT.update(ours)


def _uvicorn_says(message: str) -> bool:
    """Whether uvicorn's `uvicorn.error` logger would emit an INFO `message` (its filters included)."""
    logger = logging.getLogger("uvicorn.error")
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, message, (), None)
    return logger.isEnabledFor(logging.INFO) and bool(logger.filter(record))


@pytest.mark.usefixtures("restored_logging")
def test_debug_brings_the_narration_back_and_warnings_always_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFORMERS_VERBOSITY", raising=False)
    logs.configure_logging("info")
    assert not logging.getLogger("alembic").isEnabledFor(logging.INFO)
    assert logging.getLogger("alembic").isEnabledFor(logging.WARNING)
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # as uvicorn sets it from --log-level
    assert not _uvicorn_says("Waiting for application startup.")
    assert _uvicorn_says("Shutting down")

    logs.configure_logging("debug")  # `gazo serve --log-level debug`
    assert logging.getLogger("alembic").isEnabledFor(logging.INFO)
    assert "TRANSFORMERS_VERBOSITY" not in os.environ
    logging.getLogger("uvicorn.error").setLevel(logging.DEBUG)
    assert _uvicorn_says("Waiting for application startup.")


@pytest.mark.usefixtures("restored_logging")
def test_a_verbosity_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    logs.configure_logging("info")
    logs.configure_logging("debug")
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"
