"""Pick the device and dtype a model runs on: the best accelerator present, in its fastest safe dtype."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from typing import Any

import torch

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def best_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(requested: str, device: str) -> torch.dtype:
    """`auto` is bf16 on GPUs that have it (fp16 otherwise), fp16 on mps, fp32 on CPU."""
    if requested != "auto":
        return _DTYPES[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def normalised_device(device: str) -> str:
    """One name per device, so that `cuda` and `cuda:0` share one memory budget."""
    if device == "cuda":
        return f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cuda:0"
    return device


def device_memory_bytes(device: str) -> int:
    """All the memory of `device`: the card's for CUDA, the machine's RAM otherwise (a CPU's weights
    live there, and so do mps's, in unified memory)."""
    if device.startswith("cuda"):
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def module_bytes(modules: Iterable[Any]) -> int:
    """Bytes of the parameters and buffers of every `torch.nn.Module` among `modules`, each tensor once
    (a pipeline's siblings share their components)."""
    seen: set[tuple[str, int]] = set()
    total = 0
    for module in modules:
        if not isinstance(module, torch.nn.Module):
            continue
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            key = (str(tensor.device), tensor.data_ptr())
            if key not in seen:
                seen.add(key)
                total += tensor.numel() * tensor.element_size()
    return total
