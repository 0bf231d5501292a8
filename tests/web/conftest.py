"""The playground in Debian's Chromium (never a downloaded browser) against a real `gazo serve`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.support.keys import create_key
from tests.support.server import GazoServer
from tests.support.services import missing_service

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Playground:
    url: str
    key: str  #: no limits; stored in every test page's localStorage, as the API key field stores it
    limited_key: str  #: one request a minute


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system Chromium (`apt-get install chromium`)."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        missing_service("Chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def playground(auth_server: GazoServer) -> Playground:
    """The session's `gazo serve --require-auth` (tests/conftest.py) and two keys of the playground's own
    from `gazo keys create`: no other test spends its one-a-minute key."""
    key = create_key(auth_server.data_dir, "playground")
    limited_key = create_key(auth_server.data_dir, "playground-one-a-minute", "--rpm", "1")
    return Playground(auth_server.base_url, key, limited_key)


@pytest.fixture(scope="session")
def base_url(playground: Playground) -> str:
    """pytest-playwright resolves `page.goto("/")` against this."""
    return playground.url


def stored_key(url: str, key: str) -> dict[str, Any]:
    """A browser storage state in which the playground at `url` has `key` saved in its API key field."""
    return {
        "cookies": [],
        "origins": [{"origin": url, "localStorage": [{"name": "gazo.apiKey", "value": key}]}],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], playground: Playground) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "color_scheme": "light",
        "storage_state": stored_key(playground.url, playground.key),
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land here (gitignored); CI keeps the folder as a build artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(page: Page) -> Iterator[Page]:
    """pytest-playwright's page, failing the test if the playground broke its Content-Security-Policy
    (an inline script or style, or a request to another origin, that the browser refused)."""
    refused: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    yield page
    assert not refused, f"the playground broke its Content-Security-Policy: {refused}"
