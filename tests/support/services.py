"""What a test does when a service it needs (PostgreSQL, Redis, Chromium) is missing.

CI installs and starts every one of them, so there a missing service is a failure, never a skip;
on a developer's machine without them the test is skipped with the reason.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing_service(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)
