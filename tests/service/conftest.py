"""An `ImageService` in this process over the tiny model, loaded and ready, as the in-process CLI runs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gazo.service import ImageService
from gazo.settings import ModelSpec, Settings


@pytest.fixture
async def service(shared_data_dir: Path, tmp_path: Path) -> AsyncIterator[ImageService]:
    """`low` quality takes 2 steps; `medium` 5000, so a medium job runs until it is cancelled."""
    spec = ModelSpec(
        name="fast-steps",
        backend="tiny",
        source=str(shared_data_dir / "models" / "gazo-tiny-sd"),
        options={"steps": {"low": 2, "medium": 5000}, "torch_threads": 1},
    )
    running = ImageService.from_settings(Settings(data_dir=tmp_path, models=[spec], hub_offline=True))
    await running.start()
    while not running.health().ready:
        assert "failed" not in str(running.health().models)
        await asyncio.sleep(0.05)
    yield running
    await running.close()
