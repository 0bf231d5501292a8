"""One loaded `Moderation` for the whole moderation test session (model load is the slow part)."""

from __future__ import annotations

import pytest

from gazo.moderation import Moderation
from gazo.moderation.dataset import Example, load_examples
from gazo.settings import ModerationSettings

SETTINGS = ModerationSettings(
    rules=[
        {
            "name": "no-ghibli-imitation",
            "terms": ["in the style of Studio Ghibli", "ジブリ風"],
            "reason": "This service does not imitate the styles of living studios.",
        },
        {
            "name": "acme-competitors",
            "terms": ["Globex"],
            "reason": "Competitor brands are not allowed for this organisation.",
            "organizations": ["acme"],
        },
    ],
    allow=[
        {"phrases": ["Naked Juice"]},
        {"phrases": ["Death Note"], "organizations": ["anime-shop"]},
    ],
)


@pytest.fixture(scope="session")
def moderation() -> Moderation:
    moderation = Moderation.from_settings(SETTINGS)
    moderation.load()
    return moderation


@pytest.fixture(scope="session")
def examples() -> list[Example]:
    return load_examples()
