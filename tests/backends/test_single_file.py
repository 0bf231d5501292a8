"""Single-file checkpoints through the real `from_single_file`: a tiny SD pipeline written back in the
original (LDM) layout loads as the pipeline it came from, with its configs beside it, from gazo's cache
as the reference repo of the architecture diffusers detects, or as `owner/repo/file` from the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, StableDiffusionPipeline
from safetensors.torch import load_file

from gazo.backends.base import BackendContext
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.backends.hub import ModelUnavailable, load_pipeline
from gazo.backends.single_file import is_adapter, reference_repo
from gazo.backends.tiny import save_tiny_pipeline
from gazo.jobs import GenerateJob, Size
from tests.support.single_file import save_as_single_file

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny SD folder and, inside it, the same weights as one original-layout checkpoint."""
    folder = save_tiny_pipeline("sd", tmp_path_factory.mktemp("single-file") / "tiny-sd")
    pipeline = DiffusionPipeline.from_pretrained(str(folder))
    return folder, save_as_single_file(pipeline, folder / "tiny-sd.safetensors")


def cache_repo(cache_dir: Path, repo: str, files: dict[str, Path]) -> None:
    """Lay `files` out as huggingface_hub's cache holds a snapshot of `repo` (what `gazo pull` leaves)."""
    root = cache_dir / ("models--" + repo.replace("/", "--"))
    for name, source in files.items():
        (root / "snapshots" / COMMIT / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / "snapshots" / COMMIT / name)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(COMMIT)


def configs_of(folder: Path) -> dict[str, Path]:
    return {str(f.relative_to(folder)): f for f in folder.rglob("*") if f.suffix in (".json", ".txt")}


def test_checkpoint_beside_its_configs_serves_the_same_images(tiny: tuple[Path, Path]) -> None:
    folder, checkpoint = tiny
    context = BackendContext(cache_dir=Path("/nonexistent"), offline=True)
    options = DiffusersOptions(steps={"low": 2, "medium": 2, "high": 2})
    backends = [DiffusersBackend("sd", str(source), options, context) for source in (folder, checkpoint)]
    job = GenerateJob(prompt="a fox", model="sd", size=Size(64, 64), quality="low", seed=5)
    images = []
    for backend in backends:
        backend.load("cpu")
        images.append(np.asarray(backend.generate(job, lambda *a: None)[0]))
    assert isinstance(backends[1].pipeline, StableDiffusionPipeline)
    assert np.array_equal(images[0], images[1])
    assert not is_adapter(checkpoint)


def test_checkpoint_alone_takes_its_configs_from_the_cache(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    folder, checkpoint = tiny
    alone = Path(shutil.copy(checkpoint, tmp_path / "fine-tune.safetensors"))
    repo = reference_repo(alone)  # what diffusers detects for SD 1.x weights
    assert repo == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    cache = tmp_path / "hub"
    with pytest.raises(ModelUnavailable, match=r"configs come from stable-diffusion-v1-5.*`gazo pull "):
        load_pipeline(str(alone), cache_dir=cache, offline=True, dtype=torch.float32)

    cache_repo(cache, repo, configs_of(folder))
    cache_repo(cache, "someone/fine-tunes", {"v1/fine-tune.safetensors": alone})
    expected = DiffusionPipeline.from_pretrained(str(folder)).unet.state_dict()
    for source in (str(alone), "someone/fine-tunes/v1/fine-tune.safetensors"):
        pipeline = load_pipeline(source, cache_dir=cache, offline=True, dtype=torch.float32)
        assert isinstance(pipeline, StableDiffusionPipeline)
        loaded = pipeline.unet.state_dict()
        assert all(torch.equal(loaded[name], tensor) for name, tensor in expected.items())

    with pytest.raises(ModelUnavailable, match=r"run `gazo pull someone/fine-tunes/v2.safetensors`"):
        load_pipeline("someone/fine-tunes/v2.safetensors", cache_dir=cache, offline=True, dtype=torch.float32)


def test_a_ckpt_pickle_loads_like_a_safetensors_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    folder, checkpoint = tiny
    ckpt = folder / "tiny-sd.ckpt"  # as the original repos saved it: weights under "state_dict"
    torch.save({"state_dict": load_file(str(checkpoint)), "global_step": 1}, ckpt)
    pipeline = load_pipeline(str(ckpt), cache_dir=tmp_path, offline=True, dtype=torch.float32)
    assert isinstance(pipeline, StableDiffusionPipeline)
    assert torch.equal(
        pipeline.vae.decoder.conv_out.weight,
        load_file(str(checkpoint))["first_stage_model.decoder.conv_out.weight"],
    )
