"""`torch.compile` for a serving denoiser: one static graph per input shape, compiled in the background.

What went wrong before (measured on an H200, SD 1.x): `unet.compile()` with dynamic shapes took 99 s at
load, then every new size or batch size recompiled on the request's own thread, and requests waited
minutes. Here each distinct call shape (a "bucket": the picture's size x the batch's images) gets its
own static graph, compiled on a background thread from the arguments of the first call that needed it;
until that graph is ready, calls of that shape run eager, so no request waits for a compiler. Buckets
can also be named ahead, at load (`DiffusersOptions.compile_sizes` / `compile_batches`).

Why a wrapper around `forward` rather than swapping the pipeline's module: the pipeline, its derived
img2img and inpainting siblings and any IP-Adapter keep holding the one module they were built with.
Dynamo's frame hook is per thread, so the eager calls on the worker thread are untouched while the
compile thread traces; guards on the static graph then check each call, so a shape that is not ready
can never run a graph made for another one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: How many times a fresh graph runs before it serves: the first run compiles, the next ones let
#: CUDA graphs (modes `reduce-overhead`, `max-autotune`) record and warm up.
WARM_RUNS = 3

BucketKey = tuple[object, ...]


def bucket_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> BucketKey:
    """What a static graph is specialised on: every tensor's shape, dtype and device, and every other
    argument's value (a bool flag or `None` changes the traced graph as much as a shape does)."""

    def describe(value: Any) -> object:
        if isinstance(value, torch.Tensor):
            return ("tensor", tuple(value.shape), value.dtype, value.device)
        if isinstance(value, dict):
            return tuple(sorted((key, describe(item)) for key, item in value.items()))
        if isinstance(value, list | tuple):
            return tuple(describe(item) for item in value)
        return (type(value).__name__, value if isinstance(value, bool | int | str | None) else None)

    return (describe(args), describe(kwargs))


class CompiledDenoiser:
    """Routes each call of `module` to its bucket's compiled graph once ready, eager otherwise."""

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        mode: str | None = None,
        backend: str = "inductor",
        max_buckets: int = 16,
    ) -> None:
        self.module = module
        self.max_buckets = max_buckets
        self.eager: Callable[..., Any] = module.forward
        self.graph: Callable[..., Any] = torch.compile(self.eager, dynamic=False, mode=mode, backend=backend)
        self.ready: set[BucketKey] = set()
        self.failed: set[BucketKey] = set()
        self.seen: set[BucketKey] = set()
        self.compiled_calls = 0
        self._pending: queue.Queue[tuple[BucketKey, tuple[Any, ...], dict[str, Any]] | None] = queue.Queue()
        self._outstanding = 0  # buckets queued or compiling
        self._changed = threading.Condition()
        _allow_recompiles(max_buckets)
        module.forward = self  # the instance attribute shadows the method
        self._thread = threading.Thread(target=self._compile_queued, name="gazo-compile", daemon=True)
        self._thread.start()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = bucket_key(args, kwargs)
        if key in self.ready:
            self.compiled_calls += 1
            return self.graph(*args, **kwargs)
        if key not in self.seen and len(self.seen) < self.max_buckets:
            self.seen.add(key)
            with self._changed:
                self._outstanding += 1
            self._pending.put((key, _detached(args), _detached(kwargs)))
        return self.eager(*args, **kwargs)

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until every bucket asked for so far is compiled (or failed); for warm-ups and tests."""
        with self._changed:
            return self._changed.wait_for(lambda: self._outstanding == 0, timeout_s)

    def close(self) -> None:
        self._pending.put(None)

    def _compile_queued(self) -> None:
        while (item := self._pending.get()) is not None:
            key, args, kwargs = item
            started = time.monotonic()
            try:
                with torch.inference_mode():
                    for _ in range(WARM_RUNS):
                        self.graph(*args, **kwargs)
            except Exception:  # a graph that cannot compile leaves its bucket eager, for good
                logger.warning("torch.compile failed for a denoiser bucket; it stays eager", exc_info=True)
                self.failed.add(key)
            else:
                self.ready.add(key)
                took = time.monotonic() - started
                logger.info("compiled a denoiser bucket in %.1f s (%d ready)", took, len(self.ready))
            with self._changed:
                self._outstanding -= 1
                self._changed.notify_all()


def _detached(value: Any) -> Any:
    """A private copy of a call's tensors: the caller reuses its buffers while the compile runs."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: _detached(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_detached(item) for item in value)
    return value


def _allow_recompiles(buckets: int) -> None:
    """Each bucket is one more graph of the same function: lift dynamo's per-function limit (8 by
    default, past which it silently falls back to eager) to the number of buckets allowed."""
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(getattr(config, name), buckets + 1))
