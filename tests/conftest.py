"""Shared fixtures: a real gazo server (module-scoped) with the built-in tiny default model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import GazoServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session's default servers, so the tiny default model is built once."""
    return tmp_path_factory.mktemp("gazo-data")


TINY_SD_CONFIG = """
[[models]]
name = "gazo-tiny-sd"
backend = "tiny"
source = "{source}"
"""


@pytest.fixture(scope="session")
def tiny_sd_config(shared_data_dir: Path) -> Path:
    """A config serving a tiny random SD pipeline through the real diffusers path (built on first load)."""
    config = shared_data_dir / "tiny-sd.toml"
    config.write_text(TINY_SD_CONFIG.format(source=shared_data_dir / "models" / "gazo-tiny-sd"))
    return config


@pytest.fixture(scope="module")
def server(
    shared_data_dir: Path, tiny_sd_config: Path, request: pytest.FixtureRequest
) -> Iterator[GazoServer]:
    """`gazo serve` on the tiny SD model; a module may set `server_env` (dict) to vary its environment."""
    env = getattr(request.module, "server_env", {})
    with GazoServer(shared_data_dir, config=tiny_sd_config, env=env) as running:
        yield running
