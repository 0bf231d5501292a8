"""Single-file checkpoints (`.safetensors` / `.ckpt`, the layout of the original Stable Diffusion repos
and of most community fine-tunes), loaded with diffusers' `from_single_file`.

A single file holds weights only. Which pipeline class it is, and every component's config (layer
counts, tokenizer files, scheduler), come from a diffusers-format folder, looked up in this order:

1. the checkpoint's own folder, when it holds a `model_index.json` (hub repos that ship both layouts,
   or configs a person put beside the file);
2. the reference repo of the architecture diffusers detects in the weights (`infer_diffusers_model_type`:
   SD 1.x -> stable-diffusion-v1-5/stable-diffusion-v1-5, SDXL -> stabilityai/stable-diffusion-xl-base-1.0,
   ...), its config files only, from gazo's cache — `gazo pull` of a checkpoint puts them there;
3. the same files from the hub (a few kB), when downloads are allowed.

Offline, with neither 1 nor 2 on disk, loading fails at once and says which `gazo pull` fetches them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers.loaders.single_file_utils import fetch_diffusers_config, infer_diffusers_model_type
from huggingface_hub import hf_hub_download, snapshot_download
from safetensors import safe_open

from gazo.backends.hub import ModelUnavailable, from_cache_or_hub

logger = logging.getLogger(__name__)

#: What diffusers itself fetches for a single file's config: every json, txt and sentencepiece file.
CONFIG_FILES = ["*.json", "**/*.json", "*.txt", "**/*.txt", "**/*.model"]
_ADAPTER_MARKS = ("lora", "lycoris", "hada_", "lokr_")


def split_hub_file(source: str) -> tuple[str, str]:
    """`owner/repo/path/file.safetensors` -> (`owner/repo`, `path/file.safetensors`)."""
    parts = source.split("/")
    if len(parts) < 3 or not all(parts):
        raise ModelUnavailable(
            f"{source!r} is neither a local file nor `owner/repo/file.safetensors` on the hub"
        )
    return "/".join(parts[:2]), "/".join(parts[2:])


class _Weights(Mapping[str, Any]):
    """A checkpoint's tensors by name, read from disk only when looked up (detection reads a few)."""

    def __init__(self, path: Path) -> None:
        if path.suffix.lower() == ".safetensors":
            self._file: Any = safe_open(str(path), framework="pt")
            self._names = set(self._file.keys())
        else:  # .ckpt: a pickle, read whole (weights only, no code runs)
            try:
                state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:  # the legacy (pre-zip) format cannot be memory-mapped
                state = torch.load(path, map_location="cpu", weights_only=True)
            while "state_dict" in state:
                state = state["state_dict"]
            self._file, self._names = None, set(state)
            self._state = state

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        return self._file.get_tensor(name) if self._file is not None else self._state[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def is_adapter(path: Path) -> bool:
    """Whether the file is a LoRA-style adapter (its tensor names say so) rather than a whole model."""
    names = _Weights(path)
    return any(mark in name.lower() for name in names for mark in _ADAPTER_MARKS)


def reference_repo(path: Path) -> str:
    """The hub repo whose configs fit the architecture diffusers detects in the checkpoint's weights."""
    weights = _Weights(path)
    try:
        return str(fetch_diffusers_config(weights)["pretrained_model_name_or_path"])
    except KeyError as error:  # a model type diffusers knows but has no pipeline repo for
        kind = infer_diffusers_model_type(weights)
        raise ModelUnavailable(f"{path.name}: diffusers has no pipeline config for {kind!r}") from error


def resolve_checkpoint(source: str, *, cache_dir: Path, offline: bool) -> Path:
    """A local file, or `owner/repo/file` from gazo's cache (downloaded only when allowed)."""
    local = Path(source).expanduser()
    if local.is_file():
        return local
    repo_id, filename = split_hub_file(source)
    return from_cache_or_hub(
        lambda local_only: Path(
            hf_hub_download(repo_id, filename, cache_dir=cache_dir, local_files_only=local_only)
        ),
        source,
        cache_dir=cache_dir,
        offline=offline,
        what="checkpoint (not a local file either)",
    )


def config_folder(checkpoint: Path, *, cache_dir: Path, offline: bool) -> Path:
    """The diffusers-format folder whose configs describe `checkpoint` (see the module's docstring)."""
    if (checkpoint.parent / "model_index.json").is_file():
        return checkpoint.parent
    repo = reference_repo(checkpoint)
    return from_cache_or_hub(
        lambda local_only: _with_model_index(
            snapshot_download(
                repo, cache_dir=cache_dir, allow_patterns=CONFIG_FILES, local_files_only=local_only
            )
        ),
        repo,
        cache_dir=cache_dir,
        offline=offline,
        unavailable=(
            f"{checkpoint.name} is a single-file checkpoint whose configs come from {repo}, which is not "
            f"in {cache_dir} and the hub cannot be reached; run `gazo pull {checkpoint}` on a connected "
            "machine (it fetches the config files only, a few kB) and copy the data dir, or put a "
            "diffusers folder's configs (model_index.json and each component's config) beside the file"
        ),
    )


def _with_model_index(folder: str) -> Path:
    if not (Path(folder) / "model_index.json").is_file():
        raise ModelUnavailable(f"{folder} has no model_index.json: it is not a diffusers pipeline's config")
    return Path(folder)


def load_single_file(source: str, *, cache_dir: Path, offline: bool, dtype: torch.dtype) -> Any:
    """`from_single_file` with the pipeline class that the config folder's `model_index.json` names."""
    checkpoint = resolve_checkpoint(source, cache_dir=cache_dir, offline=offline)
    config = config_folder(checkpoint, cache_dir=cache_dir, offline=offline)
    class_name = diffusers.DiffusionPipeline.load_config(str(config))["_class_name"]
    pipeline_class = getattr(diffusers, class_name, None)
    if pipeline_class is None or not hasattr(pipeline_class, "from_single_file"):
        raise ModelUnavailable(f"{class_name} (from {config}) cannot be loaded from a single file")
    logger.info("loading %s as %s with the configs in %s", checkpoint, class_name, config)
    return pipeline_class.from_single_file(
        str(checkpoint), config=str(config), dtype=dtype, local_files_only=True
    )
