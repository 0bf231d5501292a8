"""The local engine: admission, backpressure, progress events and cancellation at the next step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gazo.backends.base import BackendContext
from gazo.backends.registry import ModelRegistry
from gazo.backends.tiny_default import TinyDiffusersBackend
from gazo.engine.local import LocalEngine, preview_steps
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Overloaded
from gazo.jobs import GenerateJob, Progress, RenderedImage, Size
from gazo.settings import EngineSettings, ModelSpec


@pytest.fixture
async def engine(shared_data_dir: Path) -> LocalEngine:
    spec = ModelSpec(
        name="tiny",
        backend="tiny",
        source=str(shared_data_dir / "models" / "gazo-tiny-sd"),
        options={"steps": {"low": 2, "high": 60}},
    )
    context = BackendContext(cache_dir=shared_data_dir / "hub")
    registry = ModelRegistry([spec], {"tiny": TinyDiffusersBackend}, context)
    running = LocalEngine(registry, EngineSettings(queue_size=1, retry_after_s=7), EngineMetrics())
    await running.start()
    while not running.health().ready:
        assert "failed" not in running.health().models["tiny"]
        await asyncio.sleep(0.05)
    yield running
    await running.close()


def job(quality: str = "low", partial_images: int = 0) -> GenerateJob:
    return GenerateJob(
        prompt="x", model="tiny", size=Size(128, 128), quality=quality, seed=1, partial_images=partial_images
    )


def outcome(engine: LocalEngine, name: str) -> float:
    return engine.metrics.jobs.labels("tiny", name)._value.get()


def test_preview_steps_are_spread_before_the_last() -> None:
    assert preview_steps(10, 3) == {2, 5, 8}
    assert preview_steps(2, 3) == {1}
    assert preview_steps(1, 2) == set()
    assert preview_steps(40, 0) == set()


async def test_render_reports_admission_every_step_and_the_images(engine: LocalEngine) -> None:
    events = [event async for event in engine.render(job("high", partial_images=2))]
    progress = [event for event in events if isinstance(event, Progress)]
    assert progress[0].step == 0
    assert [event.step for event in progress[1:]] == list(range(1, 61))
    assert sum(1 for event in progress if event.previews) == 2
    assert [type(event) for event in events[-1:]] == [RenderedImage]


async def test_closing_the_stream_cancels_at_the_next_step(engine: LocalEngine) -> None:
    events = engine.render(job("high"))
    steps_seen = 0
    async for event in events:
        if isinstance(event, Progress) and event.step >= 2:
            steps_seen = event.step
            break
    await events.aclose()
    for _ in range(200):
        if outcome(engine, "cancelled") == 1:
            break
        await asyncio.sleep(0.02)
    assert outcome(engine, "cancelled") == 1 and outcome(engine, "ok") == 0
    assert steps_seen == 2


async def test_a_full_queue_is_refused_at_once_with_retry_after(engine: LocalEngine) -> None:
    running = engine.render(job("high"))
    await anext(running)  # taken by the worker
    await asyncio.sleep(0.2)
    waiting = engine.render(job("high"))
    await anext(waiting)  # fills the one queue slot
    refused = engine.render(job())
    with pytest.raises(Overloaded) as caught:
        await anext(refused)
    assert caught.value.status == 429 and caught.value.headers == {"retry-after": "7"}
    await running.aclose()
    await waiting.aclose()
