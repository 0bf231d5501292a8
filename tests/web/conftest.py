"""The playground in Debian's Chromium (never a downloaded browser) against a real gazo server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import missing_service
from tests.web.serve import running_playground

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system Chromium (`apt-get install chromium`)."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        missing_service("Chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def playground(shared_data_dir: Path) -> Iterator[str]:
    """Base URL of a real gazo app, with the playground router, serving the tiny default model."""
    with running_playground(shared_data_dir) as url:
        yield url


@pytest.fixture(scope="session")
def base_url(playground: str) -> str:
    """pytest-playwright resolves `page.goto("/")` against this."""
    return playground


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}, "color_scheme": "light"}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land here (gitignored); CI keeps the folder as a build artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
