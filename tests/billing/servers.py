"""Helpers for billing tests that drive the real `gazo serve`: its config, keys made with the CLI,
bursts of SDK requests, and the database the server writes to, read back with SQLAlchemy."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import openai
from click.testing import CliRunner
from openai.types import ImagesResponse

from gazo.cli.keys import keys
from gazo.cli.usage import usage
from gazo.store.database import Database, sqlite_url
from tests.support.noise_models import NOISE_MODEL_MODERATION
from tests.support.server import GazoServer

#: USD per 1M tokens (= micro-dollars per token) the config below sets for the tiny model, so that
#: a wrong price table shows up as a wrong cost.
PRICES = {"text_input": 2, "image_input": 3, "image_output": 7}

_CONFIG = """
[engine]
queue_size = 512

{moderation}
[billing.prices.gazo-tiny-sd]
text_input = {text_input}
image_input = {image_input}
image_output = {image_output}

[[models]]
name = "gazo-tiny-sd"
backend = "tiny"
source = "{source}"

[models.options]
steps = {{ low = 1, medium = 2, high = {high_steps} }}
max_batch_images = 8
"""


def write_config(path: Path, models_dir: Path, *, high_steps: int = 8) -> Path:
    """The tiny SD model with a few steps (fast), a deep queue (bursts are not refused), our own prices,
    and batching even on a CPU, so that concurrent requests share passes and must still be billed apart.

    ``high_steps`` makes `quality="high"` as slow as a test needs a request to be."""
    source = models_dir / "gazo-tiny-sd"  # shared with tests/conftest.py: built once a session
    path.write_text(
        _CONFIG.format(source=source, high_steps=high_steps, moderation=NOISE_MODEL_MODERATION, **PRICES)
    )
    return path


@contextmanager
def running(*servers: GazoServer) -> Iterator[tuple[GazoServer, ...]]:
    """Start `servers` side by side (each start is mostly waiting on imports) and stop them all after."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(GazoServer.start, servers))
        yield servers


def database_of(server: GazoServer) -> Database:
    """The database `server` writes to: `GAZO_DATABASE_URL`, or SQLite in its data dir."""
    url = server.env.get("GAZO_DATABASE_URL") or sqlite_url(server.data_dir / "gazo.db")
    return Database(url)


@contextmanager
def opened(server: GazoServer) -> Iterator[Database]:
    database = database_of(server)
    try:
        yield database
    finally:
        database.dispose()


_COMMANDS: dict[str, click.Command] = {"keys": keys, "usage": usage}


def run_cli(server: GazoServer, *args: str) -> tuple[str, str]:
    """`gazo ARGS` in this process (fast) on `server`'s data dir and environment; (stdout, stderr)."""
    command, *rest = args
    result = CliRunner().invoke(
        _COMMANDS[command], [*rest, "--data-dir", str(server.data_dir)], env=server.env
    )
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def run_process(server: GazoServer, *args: str) -> tuple[str, str]:
    """`python -m gazo ARGS` as an operator runs it, on `server`'s data dir and environment."""
    done = subprocess.run(
        [sys.executable, "-m", "gazo", *args, "--data-dir", str(server.data_dir)],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def usage_by_key(server: GazoServer) -> dict[str, dict[str, str]]:
    """`gazo usage --csv` for the last day, by key id: requests, images, tokens and cost, as printed."""
    stdout, _ = run_cli(server, "usage", "--csv", "--since", "1d")
    report = {}
    for row in csv.DictReader(io.StringIO(stdout)):
        found = re.search(r"\((key_\w+)\)$", row["key"])
        if found:
            report[found.group(1)] = row
    return report


@dataclass(frozen=True)
class Key:
    id: str
    secret: str


def create_key(
    server: GazoServer, name: str, *options: str, run: Callable[..., tuple[str, str]] = run_cli
) -> Key:
    """`gazo keys create --name NAME OPTIONS`: the key it prints (alone on stdout) and the id it reports."""
    stdout, stderr = run(server, "keys", "create", "--name", name, *options)
    secret = stdout.strip()
    assert secret.startswith("gz-") and len(stdout.splitlines()) == 1, stdout
    found = re.search(r"created (key_\w+)", stderr)
    assert found, stderr
    return Key(found.group(1), secret)


def cost_micros(usage: Any) -> int:
    """What a response's `usage` costs at :data:`PRICES`."""
    return (
        usage.input_tokens_details.text_tokens * PRICES["text_input"]
        + usage.input_tokens_details.image_tokens * PRICES["image_input"]
        + usage.output_tokens_details.image_tokens * PRICES["image_output"]
    )


def burst(
    server: GazoServer, requests: list[tuple[str, dict[str, Any]]]
) -> list[ImagesResponse | openai.APIStatusError]:
    """Send every `(key, generate arguments)` at once with the async SDK; results in order."""

    async def send_all() -> list[ImagesResponse | BaseException]:
        clients = {secret: server.async_client(api_key=secret, timeout=300) for secret, _ in requests}
        try:
            calls = [clients[secret].images.generate(**arguments) for secret, arguments in requests]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            for client in clients.values():
                await client.close()

    results = asyncio.run(send_all())
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, openai.APIStatusError)
    ]
    if unexpected:
        raise unexpected[0]
    return results  # type: ignore[return-value]
