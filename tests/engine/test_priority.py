"""Batch lines (`priority="batch"`) run in the capacity interactive jobs leave, on the simulated
accelerator: behind every interactive job, without a place in the line, batched with each other only,
making way at a step when an interactive job arrives, and paced by `batch_room`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from gazo.backends.base import BackendContext
from gazo.backends.registry import ModelRegistry
from gazo.backends.simulated import SimulatedAcceleratorBackend
from gazo.engine import local
from gazo.engine.admission import Admission
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Overloaded
from gazo.jobs import GenerateJob, Priority, Progress, RenderedImage, Size
from gazo.settings import EngineSettings, ModelSpec

#: A pass of n images takes 0.2 + 0.1 n s: a lone low job 0.3 s over 4 steps, a full batch pass of
#: high lines 0.6 s over 40 steps (15 ms a step).
OPTIONS = {"setup_s": 0.2, "per_image_s": 0.1, "max_batch_images": 4, "steps": {"low": 4, "high": 40}}


async def start_engine(cache_dir: Path, queue_size: int, **options: object) -> LocalEngine:
    spec = ModelSpec(name="sim", backend="simulated", source="simulated", options={**OPTIONS, **options})
    registry = ModelRegistry(
        [spec], {"simulated": SimulatedAcceleratorBackend}, BackendContext(cache_dir=cache_dir)
    )
    running = LocalEngine(registry, EngineSettings(queue_size=queue_size), EngineMetrics())
    await running.start()
    while not running.health().ready:
        await asyncio.sleep(0.01)
    return running


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[LocalEngine]:
    running = await start_engine(tmp_path, queue_size=2)
    yield running
    await running.close()


@pytest.fixture
async def windowed(tmp_path: Path) -> AsyncIterator[LocalEngine]:
    """Jobs wait 50 ms for companions: lines queued one after another make one pass even on a busy
    machine, where the worker could otherwise take the first before the next is queued."""
    running = await start_engine(tmp_path, queue_size=2, batch_window_ms=50)
    yield running
    await running.close()


@pytest.fixture
async def short_line(tmp_path: Path) -> AsyncIterator[LocalEngine]:
    running = await start_engine(tmp_path, queue_size=1)
    yield running
    await running.close()


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The prompts of every forward pass the simulated accelerator runs, in order."""
    seen: list[list[str]] = []
    original = SimulatedAcceleratorBackend.generate_batch

    def recording(self: SimulatedAcceleratorBackend, jobs: list[GenerateJob], progress: list) -> list:
        seen.append([job.prompt for job in jobs])
        return original(self, jobs, progress)

    monkeypatch.setattr(SimulatedAcceleratorBackend, "generate_batch", recording)
    return seen


def job(prompt: str, quality: str = "high", n: int = 1) -> GenerateJob:
    return GenerateJob(prompt=prompt, model="sim", size=Size(64, 64), quality=quality, n=n)


async def queued(
    engine: LocalEngine, request: GenerateJob, priority: Priority, admission: Admission | None = None
) -> asyncio.Task[list]:
    """Render `request` in a task, once the engine has queued it; the task returns its events."""
    events = engine.render(request, admission, priority=priority)
    first = await anext(events)
    assert first == Progress(step=0, total=0)

    async def rest() -> list:
        async with aclosing(events):  # as the service does: a cancelled task ends the job
            return [event async for event in events]

    task = asyncio.create_task(rest())
    await asyncio.sleep(0)  # started, so that cancelling it closes the stream
    return task


async def abandon(tasks: list[asyncio.Task[list]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def sample(engine: LocalEngine, name: str, **labels: str) -> float:
    return engine.metrics.registry.get_sample_value(name, {"model": "sim", **labels}) or 0.0


async def test_an_interactive_job_goes_before_batch_lines_queued_earlier(
    engine: LocalEngine, passes: list[list[str]]
) -> None:
    blocker = await queued(engine, job("blocker", "low"), "interactive")
    await asyncio.sleep(0.05)  # the model is rendering it
    lines = [await queued(engine, job(f"line {i}", "low"), "batch") for i in range(6)]
    late = await queued(engine, job("late", "low"), "interactive")
    await asyncio.gather(blocker, late, *lines)
    assert passes[:2] == [["blocker"], ["late"]]
    assert sorted(p for batch in passes[2:] for p in batch) == [f"line {i}" for i in range(6)]


async def test_batch_lines_take_no_place_in_the_line(short_line: LocalEngine) -> None:
    engine = short_line
    lines = [await queued(engine, job(f"line {i}"), "batch") for i in range(10)]  # never Overloaded
    places = [engine.admit("sim"), engine.admit("sim")]  # queue_size 1, plus one: the model is idle
    with pytest.raises(Overloaded):
        engine.admit("sim")
    more = await queued(engine, job("one more line"), "batch")  # a full line refuses no batch line
    interactive = await queued(engine, job("interactive", "low"), "interactive", places[0])
    images = [e for e in await interactive if isinstance(e, RenderedImage)]
    assert len(images) == 1
    places[1].release()
    await abandon([*lines, more])
    assert sample(engine, "gazo_rejected_total") == 1


@pytest.fixture
def no_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch passes right after interactive work as full as after none (see the quiet period's test)."""
    monkeypatch.setattr(local, "QUIET_AFTER_INTERACTIVE_S", 0.0)


async def test_batch_lines_batch_together_and_never_with_interactive_jobs(
    engine: LocalEngine, passes: list[list[str]], no_quiet: None
) -> None:
    blocker = await queued(engine, job("blocker"), "interactive")
    await asyncio.sleep(0.05)
    lines = [await queued(engine, job(f"line {i}"), "batch") for i in range(6)]
    asked = [await queued(engine, job(f"asked {i}"), "interactive") for i in range(2)]
    outcomes = await asyncio.gather(blocker, *asked, *lines)
    assert passes[0] == ["blocker"]
    assert passes[1] == ["asked 0", "asked 1"]  # interactive jobs batch with each other only
    assert passes[2:] == [["line 0", "line 1", "line 2", "line 3"], ["line 4", "line 5"]]
    for events in outcomes:
        assert sum(isinstance(event, RenderedImage) for event in events) == 1
    assert sample(engine, "gazo_batch_queue_wait_seconds_count") == 6
    assert sample(engine, "gazo_queue_wait_seconds_count") == 3


async def test_a_batch_pass_makes_way_at_a_step_for_an_interactive_job(
    windowed: LocalEngine, passes: list[list[str]], no_quiet: None
) -> None:
    engine = windowed
    lines = [await queued(engine, job(f"line {i}"), "batch") for i in range(4)]
    await asyncio.sleep(0.15)  # a quarter of the batch pass (0.6 s) is done
    started = time.monotonic()
    interactive = await queued(engine, job("interactive", "low"), "interactive")
    await interactive
    waited = time.monotonic() - started
    assert waited < 0.3 + 0.05 + 0.2, f"waited {waited:.2f} s: the batch pass did not make way"
    outcomes = await asyncio.gather(*lines)
    assert passes == [[f"line {i}" for i in range(4)], ["interactive"], [f"line {i}" for i in range(4)]]
    assert sample(engine, "gazo_batch_made_way_total") == 4
    for events in outcomes:  # run again from the start, without repeating the steps already reported
        steps = [event.step for event in events if isinstance(event, Progress)]
        assert steps == list(range(1, 41))
        assert sum(isinstance(event, RenderedImage) for event in events) == 1


async def test_a_cancelled_batch_line_is_skipped(engine: LocalEngine, passes: list[list[str]]) -> None:
    blocker = await queued(engine, job("blocker", "low"), "interactive")
    await asyncio.sleep(0.05)
    lines = {name: engine.render(job(name), priority="batch") for name in ("kept", "dropped")}
    for events in lines.values():
        await anext(events)
    await lines["dropped"].aclose()
    kept = [event async for event in lines["kept"]]
    await blocker
    assert sum(isinstance(event, RenderedImage) for event in kept) == 1
    deadline = time.monotonic() + 2.0  # the worker finds the dropped line when it next looks at the lane
    while sample(engine, "gazo_jobs_total", outcome="cancelled") < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert sample(engine, "gazo_jobs_total", outcome="cancelled") == 1
    assert passes == [["blocker"], ["kept"]]


async def test_batch_room_is_two_passes_less_what_is_in_flight_and_none_while_interactive_waits(
    engine: LocalEngine,
) -> None:
    assert engine.batch_room("sim") == 8  # two passes of 4
    lines = [await queued(engine, job(f"line {i}", n=2), "batch") for i in range(3)]
    assert engine.batch_room("sim") == 2
    with engine.admit("sim"):  # an interactive request on its way to the model
        assert engine.batch_room("sim") == 0
    with engine.admit("sim"):
        assert engine.batch_room("sim") == 0
    await abandon(lines[:1])  # the cancelled line's stream ends: its images are no longer counted
    assert engine.batch_room("sim") == 4
    await abandon(lines[1:])


async def test_after_interactive_work_batch_lines_render_one_at_a_time_for_a_while(
    engine: LocalEngine, passes: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass of one has the shortest step, so a request arriving soon after another (as they do
    while people work) waits least for the batch pass to make way; once quiet, passes fill again."""
    monkeypatch.setattr(local, "QUIET_AFTER_INTERACTIVE_S", 0.8)
    blocker = await queued(engine, job("blocker"), "interactive")
    await asyncio.sleep(0.05)
    lines = [await queued(engine, job(f"line {i}"), "batch") for i in range(6)]
    await asyncio.gather(blocker, *lines)
    assert passes[0] == ["blocker"]
    singles = [batch for batch in passes[1:] if len(batch) == 1]
    assert passes[1] == ["line 0"] and len(singles) >= 2  # a high pass of one takes 0.3 s
    assert max(len(batch) for batch in passes[1:]) > 1  # after 0.8 s without interactive work
