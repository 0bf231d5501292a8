"""LoRA adapters (`[[models.adapters]]`): what the configuration refuses at start, what an adapter weighs,
and that the engine batches a job only with jobs of the same adapters (on a real tiny SD pipeline)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gazo.backends.adapters import adapter_bytes
from gazo.backends.base import BackendContext, ImageBackend
from gazo.backends.builtin import BuiltinBackend
from gazo.backends.diffusers import DiffusersBackend
from gazo.backends.registry import ConfigurationError, ModelRegistry
from gazo.backends.tiny_default import TinyDiffusersBackend
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.errors import ModelNotFound
from gazo.jobs import GenerateJob, RenderedImage, Size
from gazo.settings import AdapterSpec, EngineSettings, ModelSpec
from tests.support.adapters import LORA_FILE, save_tiny_sd_with_lora

CLASSES: dict[str, type[ImageBackend]] = {
    "diffusers": DiffusersBackend,
    "tiny": TinyDiffusersBackend,
    "builtin": BuiltinBackend,
}
BRAND = (("acme", 1.0),)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return save_tiny_sd_with_lora(tmp_path_factory.mktemp("adapters"))


def spec(lora: Path, *, backend: str = "diffusers", name: str = "acme") -> ModelSpec:
    adapter = AdapterSpec(name=name, source=str(lora))
    return ModelSpec(name="base", backend=backend, source="nowhere", adapters=[adapter])


def registry(specs: list[ModelSpec], cache_dir: Path) -> ModelRegistry:
    return ModelRegistry(specs, CLASSES, BackendContext(cache_dir=cache_dir))


@pytest.mark.parametrize("backend", ["tiny", "builtin"])
def test_adapters_on_a_backend_that_cannot_apply_them_stop_the_start(
    folders: tuple[Path, Path], tmp_path: Path, backend: str
) -> None:
    with pytest.raises(ConfigurationError, match="cannot apply LoRA adapters"):
        registry([spec(folders[1], backend=backend)], tmp_path)


def test_adapter_names_sources_and_weights_are_checked_at_start(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="already a model, alias or adapter"):
        registry([spec(folders[1], name="base")], tmp_path)
    twice = [spec(folders[1]), spec(folders[1]).model_copy(update={"name": "other"})]
    with pytest.raises(ConfigurationError, match="already a model, alias or adapter"):
        registry(twice, tmp_path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        registry([spec(tmp_path / "missing.safetensors")], tmp_path)
    with pytest.raises(ValidationError, match="weight"):
        AdapterSpec(name="loud", source=str(folders[1]), weight=5)


def test_an_adapter_is_a_model_name_of_its_base_model(folders: tuple[Path, Path], tmp_path: Path) -> None:
    models = registry([spec(folders[1])], tmp_path)
    assert models.resolve("acme") is models.backends["base"]
    assert ("acme", "base", True) in [(e.id, e.model, e.is_adapter) for e in models.entries()]
    with pytest.raises(ModelNotFound, match="acme"):  # the adapters are listed with the models
        models.resolve("acme-typo")


def test_adapter_bytes_are_its_weight_files(folders: tuple[Path, Path]) -> None:
    size = (folders[1] / LORA_FILE).stat().st_size
    assert size > 0
    assert adapter_bytes(AdapterSpec(name="a", source=str(folders[1]))) == size
    assert adapter_bytes(AdapterSpec(name="a", source=str(folders[1] / LORA_FILE))) == size
    assert adapter_bytes(AdapterSpec(name="a", source="acme/brand-lora")) == 0  # a hub id: unknown


def job(prompt: str, adapters: tuple[tuple[str, float], ...] = ()) -> GenerateJob:
    return GenerateJob(
        prompt=prompt, model="base", size=Size(64, 64), quality="low", seed=1, adapters=adapters
    )


@pytest.fixture
async def engine(folders: tuple[Path, Path], tmp_path: Path) -> AsyncIterator[LocalEngine]:
    base, lora = folders
    model = spec(lora).model_copy(update={"source": str(base), "options": {"steps": {"low": 2}}})
    running = LocalEngine(registry([model], tmp_path), EngineSettings(queue_size=8), EngineMetrics())
    await running.start()
    while not running.health().ready:
        await asyncio.sleep(0.05)
    yield running
    await running.close()


async def test_an_adapter_job_batches_only_with_jobs_of_the_same_adapters(
    engine: LocalEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[list[tuple[str, tuple[tuple[str, float], ...]]]] = []
    release = threading.Event()
    original = DiffusersBackend.generate_batch

    def recording(self: DiffusersBackend, jobs: list[GenerateJob], progress: list) -> list:
        release.wait(10)  # the first pass holds the model until every other job is queued
        passes.append([(job.prompt, job.adapters) for job in jobs])
        return original(self, jobs, progress)

    monkeypatch.setattr(DiffusersBackend, "generate_batch", recording)

    async def images(request: GenerateJob) -> list:
        events = [event async for event in engine.render(request)]
        return [event.image for event in events if isinstance(event, RenderedImage)]

    blocker = asyncio.create_task(images(job("blocker")))
    await asyncio.sleep(0.2)
    jobs = [job("a1", BRAND), job("b1"), job("a2", BRAND), job("b2")]
    tasks = [asyncio.create_task(images(request)) for request in jobs]
    await asyncio.sleep(0.2)
    release.set()
    results = await asyncio.gather(blocker, *tasks)
    assert passes == [
        [("blocker", ())],
        [("a1", BRAND), ("a2", BRAND)],
        [("b1", ()), ("b2", ())],
    ]
    assert [len(images) for images in results] == [1] * 5
