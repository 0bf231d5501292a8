"""LoRA adapters (`[[models.adapters]]`): where their weights are, and switching them on a pipeline.

Every configured adapter is loaded once, beside the model, and left disabled; each pass then sets
exactly the adapters and weights its jobs ask for (or none) before the pipeline runs. The image-to-image
and inpainting siblings share the denoiser and text encoders with the text-to-image pipeline
(`from_pipe`), so what is set on it holds for them too.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from gazo.settings import AdapterSpec

logger = logging.getLogger(__name__)

#: What a hub id looks like (`owner/name`); anything else is read as a local path.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def is_local(source: str) -> bool:
    """A path on this machine (an existing one, or one written as a path or a `.safetensors` file)."""
    path = Path(source).expanduser()
    return path.exists() or source.endswith(".safetensors") or not _HUB_ID.fullmatch(source)


def check_source(spec: AdapterSpec) -> None:
    """Raise ValueError when a local source is missing or holds no `.safetensors` weights."""
    if not is_local(spec.source):
        return
    path = Path(spec.source).expanduser()
    if not path.exists():
        raise ValueError(f"adapter {spec.name!r}: `source` {spec.source!r} does not exist")
    if path.is_dir() and not any(path.glob("*.safetensors")):
        raise ValueError(f"adapter {spec.name!r}: the folder {spec.source!r} holds no .safetensors file")


def adapter_bytes(spec: AdapterSpec) -> int:
    """Bytes of the adapter's weight files on disk (about what they add in memory at the file's dtype);
    0 when unknown (a hub id)."""
    if not is_local(spec.source):
        return 0
    path = Path(spec.source).expanduser()
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(file.stat().st_size for file in path.glob("*.safetensors"))
    return 0


def _location(source: str) -> tuple[str, dict[str, Any]]:
    """(what `load_lora_weights` takes, its extra arguments): a single file as its folder and name."""
    path = Path(source).expanduser()
    if path.is_file():
        return str(path.parent), {"weight_name": path.name}
    return str(path) if path.is_dir() else source, {}


class LoadedAdapters:
    """The adapters loaded into one pipeline, and which of them are active now."""

    def __init__(
        self, pipeline: Any, specs: tuple[AdapterSpec, ...], *, cache_dir: Path, offline: bool
    ) -> None:
        self.pipeline = pipeline
        self.names = tuple(spec.name for spec in specs)
        self._active: tuple[tuple[str, float], ...] = ()
        for spec in specs:
            location, extra = _location(spec.source)
            if not is_local(spec.source):
                extra.update(cache_dir=cache_dir, local_files_only=offline)
            pipeline.load_lora_weights(location, adapter_name=spec.name, **extra)
            logger.info("loaded adapter %s from %s", spec.name, spec.source)
        if specs:
            pipeline.disable_lora()

    def apply(self, adapters: tuple[tuple[str, float], ...]) -> None:
        """Make exactly `adapters` active at their weights (none: the base model's own pixels)."""
        if adapters == self._active:
            return
        unknown = [name for name, _ in adapters if name not in self.names]
        if unknown:  # the service lets only configured names through: this is a bug, not a client error
            raise ValueError(f"adapters {unknown} are not loaded on this model")
        if adapters:
            self.pipeline.enable_lora()
            self.pipeline.set_adapters([name for name, _ in adapters], [weight for _, weight in adapters])
        else:
            self.pipeline.disable_lora()
        self._active = adapters
