"""Many models on one device: loaded on demand, unloaded under a memory budget, never over it.

The simulated accelerator pretends to hold `weights_gb` of weights and to take `load_s` to load, so the
manager's bookkeeping can be driven hard and fast; the tiny diffusers pipelines then show the same with
real weights that really leave memory (`resident_bytes` of an unloaded pipeline is 0).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gazo.backends.base import BackendContext, ImageBackend
from gazo.backends.registry import ConfigurationError, ModelRegistry
from gazo.backends.simulated import SimulatedAcceleratorBackend
from gazo.backends.tiny_default import TinyDiffusersBackend
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.jobs import GenerateJob, RenderedImage, Size
from gazo.settings import EngineSettings, ModelSpec
from tests.support.tiny_models import built_tiny_sd

GIB = 2**30
CLASSES: dict[str, type[ImageBackend]] = {
    "simulated": SimulatedAcceleratorBackend,
    "tiny": TinyDiffusersBackend,
}


class Residents:
    """Which backends hold weights, checked at every load: the most ever held at once, in bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engine_of: list[LocalEngine]) -> None:
        self.lock = threading.Lock()
        self.loaded: set[str] = set()
        self.most = 0
        self.most_bytes = 0
        self.engine_of = engine_of
        for backend_class in (SimulatedAcceleratorBackend, TinyDiffusersBackend):
            self._watch(monkeypatch, backend_class)

    def _watch(self, monkeypatch: pytest.MonkeyPatch, backend_class: type[ImageBackend]) -> None:
        load, unload = backend_class.load, backend_class.unload

        def loading(backend: ImageBackend, device: str | None) -> None:
            load(backend, device)
            with self.lock:
                self.loaded.add(backend.name)
                self.most = max(self.most, len(self.loaded))
                memory = self.engine_of[0].health().memory if self.engine_of else {}
                self.most_bytes = max([self.most_bytes, *(d["used_bytes"] for d in memory.values())])

        def unloading(backend: ImageBackend) -> None:
            unload(backend)
            with self.lock:
                self.loaded.discard(backend.name)

        monkeypatch.setattr(backend_class, "load", loading)
        monkeypatch.setattr(backend_class, "unload", unloading)


def sim(name: str, gb: float = 1.0, **spec: object) -> ModelSpec:
    options = {"setup_s": 0.02, "per_image_s": 0.01, "weights_gb": gb, "load_s": 0.05, "steps": {"low": 2}}
    return ModelSpec(name=name, backend="simulated", source="simulated", options=options, **spec)  # type: ignore[arg-type]


def build(specs: list[ModelSpec], tmp: Path, budget_gb: float, **engine: object) -> LocalEngine:
    registry = ModelRegistry(specs, CLASSES, BackendContext(cache_dir=tmp / "hub"))
    settings = EngineSettings(memory_budget_gb=budget_gb, swap_after_s=0.2, **engine)  # type: ignore[arg-type]
    return LocalEngine(registry, settings, EngineMetrics())


async def started(engine: LocalEngine) -> LocalEngine:
    await engine.start()
    while not engine.health().ready:
        await asyncio.sleep(0.01)
    return engine


async def render(engine: LocalEngine, model: str, seed: int = 1, size: int = 64) -> int:
    job = GenerateJob(prompt="x", model=model, size=Size(size, size), quality="low", seed=seed)
    events = [event async for event in engine.render(job)]
    return sum(isinstance(event, RenderedImage) for event in events)


@pytest.fixture
def engines() -> list[LocalEngine]:
    return []


@pytest.fixture
def residents(monkeypatch: pytest.MonkeyPatch, engines: list[LocalEngine]) -> Residents:
    return Residents(monkeypatch, engines)


@pytest.fixture
async def closing(engines: list[LocalEngine]) -> AsyncIterator[None]:
    yield
    for engine in engines:
        await engine.close()


async def test_alternating_requests_for_two_models_swap_them_within_a_budget_for_one(
    tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    engine = build([sim("a"), sim("b", preload=False)], tmp_path, budget_gb=1.5)
    engines.append(engine)
    await started(engine)
    assert {name: r.status for name, r in engine.residency().items()} == {"a": "ready", "b": "unloaded"}
    for model in ["b", "a", "b", "a"]:  # one after another: each swaps the other out
        assert await render(engine, model) == 1
        assert engine.residency()[model].status == "ready"
    # and all at once, interleaved: each waits its turn, none fails
    outcomes = await asyncio.gather(*(render(engine, model) for model in ["a", "b"] * 4))
    assert outcomes == [1] * 8
    assert residents.most == 1
    metrics = engine.metrics.registry
    loads = sum(metrics.get_sample_value("gazo_model_loads_total", {"model": m}) or 0 for m in "ab")
    unloads = sum(
        metrics.get_sample_value("gazo_model_unloads_total", {"model": m, "reason": "evicted"}) or 0
        for m in "ab"
    )
    assert loads >= 5 and loads - unloads == 1
    assert engine.health().memory["cpu"]["used_bytes"] == GIB
    assert engine.residency()["a"].memory_bytes == GIB


async def test_batch_lines_wait_for_the_model_in_use_to_go_idle_but_not_for_ever(
    tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    engine = build([sim("a"), sim("b", preload=False)], tmp_path, budget_gb=1.5, batch_swap_idle_s=1.0)
    engines.append(engine)
    await started(engine)
    job = GenerateJob(prompt="x", model="b", size=Size(64, 64), quality="low", seed=1)

    async def batch_line() -> int:
        events = [event async for event in engine.render(job, priority="batch")]
        return sum(isinstance(event, RenderedImage) for event in events)

    # a user has just used `a`: the batch line for `b` waits for it to be idle for 1 s, then swaps it out
    assert await render(engine, "a") == 1
    waiting = asyncio.create_task(batch_line())
    await asyncio.sleep(0.5)
    assert {name: r.status for name, r in engine.residency().items()} == {"a": "ready", "b": "unloaded"}
    assert await asyncio.wait_for(waiting, 5) == 1
    assert engine.residency()["a"].status == "unloaded"

    # `a` kept busy without a pause: after its 1 s of patience the batch line asks as a request does
    assert await render(engine, "a") == 1
    waiting, deadline = asyncio.create_task(batch_line()), asyncio.get_running_loop().time() + 10
    while not waiting.done():
        assert await render(engine, "a") == 1 and asyncio.get_running_loop().time() < deadline
    assert waiting.result() == 1 and residents.most == 1


async def test_three_models_asked_at_once_never_exceed_the_budget(
    tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    specs = [sim("a", preload=False), sim("b", preload=False), sim("c", 0.5, preload=False)]
    engine = build(specs, tmp_path, budget_gb=2.0)
    engines.append(engine)
    await started(engine)
    outcomes = await asyncio.gather(*(render(engine, model, seed) for seed in range(4) for model in "abc"))
    assert outcomes == [1] * 12
    assert residents.most_bytes <= 2 * GIB
    assert residents.most == 2  # two of them fit (1 + 0.5 or 1 + 1), never three
    assert engine.health().ready


async def test_an_idle_model_unloads_after_its_keep_alive(
    tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    engine = build([sim("a", keep_alive=0.3), sim("b")], tmp_path, budget_gb=8)
    engines.append(engine)
    await started(engine)
    assert await render(engine, "a") == 1
    assert engine.residency()["a"].last_used_at is not None
    for _ in range(60):
        if engine.residency()["a"].status == "unloaded":
            break
        await asyncio.sleep(0.05)
    assert {name: r.status for name, r in engine.residency().items()} == {"a": "unloaded", "b": "ready"}
    reason = {"model": "a", "reason": "keep_alive"}
    assert engine.metrics.registry.get_sample_value("gazo_model_unloads_total", reason) == 1
    assert await render(engine, "a") == 1  # and loads again on its next request


async def test_models_that_do_not_fit_at_start_wait_for_their_first_request(
    tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    engine = build([sim("a"), sim("b"), sim("c", 0.5)], tmp_path, budget_gb=1.6)
    engines.append(engine)
    await started(engine)  # ready: `b` did not fit beside `a`, but `c` did
    states = {name: r.status for name, r in engine.residency().items()}
    assert states == {"a": "ready", "b": "unloaded", "c": "ready"}
    assert engine.health().models == states


def test_a_model_larger_than_the_whole_budget_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"model 'big' needs 3\.00 GiB .* budget of cpu \(2\.00 GiB\)"
    ):
        build([sim("small"), sim("big", 3.0)], tmp_path, budget_gb=2.0)


def tiny_models(shared_data_dir: Path, tmp_path: Path, count: int) -> list[ModelSpec]:
    """`count` tiny SD models, one folder each (links to the session's), as separate models would have."""
    specs = []
    for index in range(count):
        folder = tmp_path / f"tiny-{index}"
        folder.symlink_to(built_tiny_sd(shared_data_dir), target_is_directory=True)
        specs.append(ModelSpec(name=f"tiny-{index}", backend="tiny", source=str(folder)))
    return specs


async def test_tiny_pipelines_really_leave_memory_when_swapped(
    shared_data_dir: Path, tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    """Two tiny SD pipelines in a budget that fits one: one after another, each swaps the other out."""
    specs = tiny_models(shared_data_dir, tmp_path, 2)
    size = build(specs[:1], tmp_path, budget_gb=64).manager.describe()["tiny-0"].memory_bytes
    assert size and size > 100_000  # told from the safetensors headers before any load
    engine = build(specs, tmp_path, budget_gb=1.5 * size / GIB)
    engines.append(engine)
    await started(engine)
    outcomes = [await render(engine, f"tiny-{i % 2}", size=64) for i in range(4)]
    assert outcomes == [1] * 4
    assert residents.most == 1
    backends = engine.registry.backends
    measured = backends["tiny-1"].resident_bytes()  # from its tensors: what its files said, and buffers
    assert size <= measured <= size * 1.01
    assert backends["tiny-0"].resident_bytes() == 0  # unloaded: no tensor left


async def test_three_tiny_pipelines_asked_at_once_stay_within_a_budget_for_two(
    shared_data_dir: Path, tmp_path: Path, residents: Residents, engines: list[LocalEngine], closing: None
) -> None:
    specs = tiny_models(shared_data_dir, tmp_path, 3)
    size = build(specs[:1], tmp_path, budget_gb=64).manager.describe()["tiny-0"].memory_bytes
    assert size
    engine = build(specs, tmp_path, budget_gb=2.5 * size / GIB)
    engines.append(engine)
    await started(engine)
    outcomes = await asyncio.gather(*(render(engine, f"tiny-{i % 3}", seed=i, size=64) for i in range(9)))
    assert outcomes == [1] * 9
    assert residents.most == 2
    assert residents.most_bytes <= 2.5 * size
