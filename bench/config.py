"""The model section every benchmark server runs: one diffusers model called `bench`."""

from __future__ import annotations

from pathlib import Path

_MODEL = """
[engine]
queue_size = 256
[[models]]
name = "bench"
backend = "diffusers"
source = "{source}"
[models.options]
steps = {{ low = {steps} }}
default_quality = "low"
max_batch_images = {batch}
"""


def model_config(source: Path, *, steps: int, batch: int, torch_threads: int | None = None) -> str:
    """TOML for `gazo serve --config`: low quality = `steps` steps, batches of up to `batch` images."""
    text = _MODEL.format(source=source, steps=steps, batch=batch)
    return text + (f"torch_threads = {torch_threads}\n" if torch_threads else "")
