"""The local engine: admission, backpressure, progress events and cancellation at the next step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from gazo.backends.base import BackendContext
from gazo.backends.registry import ModelRegistry
from gazo.backends.tiny_default import TinyDiffusersBackend
from gazo.engine.local import LocalEngine, preview_steps
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Overloaded
from gazo.jobs import GenerateJob, Progress, RenderedImage, Size
from gazo.settings import EngineSettings, ModelSpec


async def start_engine(data_dir: Path, queue_size: int, **options: object) -> LocalEngine:
    spec = ModelSpec(
        name="tiny",
        backend="tiny",
        source=str(data_dir / "models" / "gazo-tiny-sd"),
        options={"steps": {"low": 2, "high": 60}, **options},
    )
    registry = ModelRegistry(
        [spec], {"tiny": TinyDiffusersBackend}, BackendContext(cache_dir=data_dir / "hub")
    )
    running = LocalEngine(registry, EngineSettings(queue_size=queue_size, retry_after_s=7), EngineMetrics())
    await running.start()
    while not running.health().ready:
        assert "failed" not in running.health().models["tiny"]
        await asyncio.sleep(0.05)
    return running


@pytest.fixture
async def engine(shared_data_dir: Path) -> LocalEngine:
    running = await start_engine(shared_data_dir, queue_size=1)
    yield running
    await running.close()


def job(
    quality: str = "low", partial_images: int = 0, prompt: str = "x", seed: int = 1, n: int = 1
) -> GenerateJob:
    return GenerateJob(
        prompt=prompt,
        model="tiny",
        size=Size(128, 128),
        quality=quality,
        seed=seed,
        n=n,
        partial_images=partial_images,
    )


def outcome(engine: LocalEngine, name: str) -> float:
    return (
        engine.metrics.registry.get_sample_value("gazo_jobs_total", {"model": "tiny", "outcome": name}) or 0
    )


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


async def test_a_place_in_the_line_is_held_from_admission_until_the_model_takes_the_job(
    engine: LocalEngine,
) -> None:
    # queue_size = 1 and the model is idle: one request on its way to it, one waiting
    first, second = engine.admit("tiny"), engine.admit("tiny")
    with pytest.raises(Overloaded):  # nothing is queued yet, but the line is full
        engine.admit("tiny")
    running = engine.render(job("high"), first)
    await anext(running)
    for _ in range(200):  # the model takes it: its place is given back, and the model is busy
        if engine.metrics.registry.get_sample_value("gazo_queue_wait_seconds_count", {"model": "tiny"}):
            break
        await asyncio.sleep(0.02)
    with pytest.raises(Overloaded):  # `second` is the one waiting
        engine.admit("tiny")
    second.release()
    second.release()  # twice is harmless: one place, given back once
    third = engine.admit("tiny")
    with pytest.raises(Overloaded):
        engine.admit("tiny")
    third.release()
    await running.aclose()


async def test_a_job_cancelled_while_waiting_keeps_its_place_until_the_model_skips_it(
    engine: LocalEngine,
) -> None:
    """Clients that hang up while queued must not free places the queue still holds their jobs in:
    otherwise hanging up in a loop grows the queue (and the decoded images it holds) without bound."""
    running = engine.render(job("high"), engine.admit("tiny"))
    await anext(running)
    for _ in range(200):  # the model is busy with it
        if engine.metrics.registry.get_sample_value("gazo_queue_wait_seconds_count", {"model": "tiny"}):
            break
        await asyncio.sleep(0.02)
    waiting = engine.render(job("low", seed=2), engine.admit("tiny"))
    await anext(waiting)
    await waiting.aclose()  # its client hung up while it waited
    with pytest.raises(Overloaded):  # its job is still queued: its place is still taken
        engine.admit("tiny")
    await running.aclose()  # the model stops at its next step, then skips the cancelled job
    for _ in range(200):
        if outcome(engine, "cancelled") == 2:
            break
        await asyncio.sleep(0.02)
    assert outcome(engine, "cancelled") == 2
    engine.admit("tiny").release()  # both places are free again


async def images_of(engine: LocalEngine, request: GenerateJob) -> list[np.ndarray]:
    return [np.asarray(e.image) async for e in engine.render(request) if isinstance(e, RenderedImage)]


async def test_batched_jobs_get_the_images_they_get_alone(shared_data_dir: Path) -> None:
    batching = await start_engine(shared_data_dir, queue_size=16, max_batch_images=8)
    try:
        blocker = batching.render(job("high"))  # keeps the worker busy while the others queue up
        await anext(blocker)
        requests = [job(prompt=f"prompt {i}", seed=10 * i, n=1 + i % 2) for i in range(4)]
        together = await asyncio.gather(*(images_of(batching, request) for request in requests))
        await blocker.aclose()
        sample = batching.metrics.registry.get_sample_value
        jobs_run = sample("gazo_batch_size_sum", {"model": "tiny"})
        passes = sample("gazo_batch_size_count", {"model": "tiny"})
        assert jobs_run > passes  # some forward pass carried more than one job
        for request, images in zip(requests, together, strict=True):
            alone = await images_of(batching, request)
            assert len(images) == request.n
            for batched_image, alone_image in zip(images, alone, strict=True):
                difference = np.abs(batched_image.astype(int) - alone_image.astype(int)).max()
                assert difference <= 2, f"batched and alone differ by {difference}"
        assert not np.array_equal(together[0][0], together[1][0])
    finally:
        await batching.close()
