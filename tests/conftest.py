"""Shared fixtures: real gazo servers (one of each kind per session) and the data dir they use; and the
markers that say what a test needs (`server`, `ray`, `browser`, `postgres`), set here from what it uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.needs import mark_needs
from tests.support.noise_models import NOISE_MODEL_MODERATION
from tests.support.server import GazoServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session's default servers, so the tiny default model is built once."""
    return tmp_path_factory.mktemp("gazo-data")


TINY_SD_CONFIG = (
    NOISE_MODEL_MODERATION
    + """
[[models]]
name = "gazo-tiny-sd"
backend = "tiny"
source = "{source}"
"""
)


@pytest.fixture(scope="session")
def tiny_sd_config(shared_data_dir: Path) -> Path:
    """A config serving a tiny random SD pipeline through the real diffusers path (built on first load)."""
    config = shared_data_dir / "tiny-sd.toml"
    config.write_text(TINY_SD_CONFIG.format(source=shared_data_dir / "models" / "gazo-tiny-sd"))
    return config


@pytest.fixture(scope="session")
def server(shared_data_dir: Path, tiny_sd_config: Path) -> Iterator[GazoServer]:
    """`gazo serve` on the tiny SD model, one for the whole session: a start costs ~15 s on 2 cores
    (importing torch, diffusers and transformers alone takes ~10 s). Tests that need other settings, or
    a server whose counters no other test touched, start their own."""
    with GazoServer(shared_data_dir, config=tiny_sd_config) as running:
        yield running


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    """`gazo serve --require-auth` with the built-in default model, shared by the playground (tests/web)
    and the CLI's server mode (tests/cli/test_server_mode.py). It starts with no keys: each user makes
    its own with `tests.support.keys.create_key(auth_server.data_dir, ...)`, so no test spends another's
    rate-limited key."""
    with GazoServer(tmp_path_factory.mktemp("auth-server"), args=("--require-auth",)) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_needs(items)
