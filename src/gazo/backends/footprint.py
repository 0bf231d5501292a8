"""How much memory a diffusers model's weights will take, told from its files before any is loaded.

The model manager (`gazo.engine.residency`) must know whether a model fits before it loads it: once
the weights are on the card it is too late, and out of memory there takes the other models' requests
down with it. A safetensors file says, in its header alone, every tensor's shape and dtype, so the
size at the dtype gazo will load it in is exact (a float32 checkpoint served in bfloat16 takes half
its file). A `.bin` pickle says nothing without being read: its file size is taken as float32 and
scaled. Only the weights are counted; what a forward pass needs besides them is the budget's headroom.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from safetensors import SafetensorError, safe_open

logger = logging.getLogger(__name__)

#: Bytes per element of the floating dtypes a checkpoint stores (safetensors' names).
_FLOAT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
_OTHER_BYTES = {"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8}


def safetensors_bytes(path: Path, float_bytes: int) -> int:
    """Bytes of `path`'s tensors once loaded with floating tensors cast to `float_bytes` per element;
    safetensors reads the header only (no tensor is touched)."""
    total = 0
    with safe_open(str(path), framework="numpy") as file:
        for name in file.keys():  # noqa: SIM118 (a safe_open handle is not a mapping)
            tensor = file.get_slice(name)
            dtype = tensor.get_dtype()
            total += math.prod(tensor.get_shape()) * (
                float_bytes if dtype in _FLOAT_BYTES else _OTHER_BYTES.get(dtype, 4)
            )
    return total


def weights_bytes(source: Path, float_bytes: int) -> int:
    """Bytes of the weights in `source` (a diffusers folder, a component folder or one file).

    In each folder only the files `from_pretrained` reads by default count: safetensors without a
    variant (`model.safetensors`, its shards), else variant ones when they are all there is, and
    pickles only where no safetensors file is."""
    if source.is_file():
        return _file_bytes(source, float_bytes)
    total = 0
    for folder in [source, *sorted(path for path in source.rglob("*") if path.is_dir())]:
        total += sum(_file_bytes(path, float_bytes) for path in _loaded_files(folder))
    return total


def _loaded_files(folder: Path) -> list[Path]:
    for pattern in ("*.safetensors", "*.bin"):
        found = sorted(folder.glob(pattern))
        plain = [path for path in found if "." not in path.name.removesuffix(path.suffix)]
        if plain or found:
            return plain or found
    return []


def _file_bytes(path: Path, float_bytes: int) -> int:
    if path.suffix == ".safetensors":
        return safetensors_bytes(path, float_bytes)
    return path.stat().st_size * float_bytes // 4  # a pickle: taken as float32


def cached_snapshot(hub_id: str, cache_dir: Path) -> Path | None:
    """The folder of `hub_id` in gazo's hub cache, without reaching the network; None if not there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub_id, cache_dir=cache_dir, local_files_only=True))
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None


def cached_source(source: str, cache_dir: Path) -> Path | None:
    """A hub source in gazo's cache: a pipeline's snapshot, or one checkpoint (`owner/repo/x.safetensors`)."""
    if not source.endswith((".safetensors", ".ckpt")):
        return cached_snapshot(source, cache_dir)
    from gazo.backends.hub import ModelUnavailable
    from gazo.backends.single_file import resolve_checkpoint

    try:
        return resolve_checkpoint(source, cache_dir=cache_dir, offline=True)
    except (ModelUnavailable, ValueError):
        return None


def estimate_source_bytes(source: str, cache_dir: Path, float_bytes: int) -> int:
    """Bytes the weights of a model's `source` (folder, file or cached hub id) will take; 0 when its
    files are not on this machine yet (it is then counted from its measure once loaded)."""
    local = Path(source).expanduser()
    path = local if local.exists() else cached_source(source, cache_dir)
    if path is None:
        return 0
    try:
        return weights_bytes(path, float_bytes)
    except (OSError, ValueError, KeyError, SafetensorError) as error:
        logger.warning("cannot tell the size of %s from its files: %s", source, error)
        return 0
