"""Server configs that more than one test module (and bench/overload.py) starts a `gazo serve` with."""

from __future__ import annotations

from pathlib import Path

from tests.support.noise_models import NOISE_MODEL_MODERATION


def slow_tiny(
    source: Path,
    *,
    request_timeout_s: float = 15.0,
    queue_size: int = 1,
    medium_steps: int = 400,
    high_steps: int = 3000,
    public_metrics: bool = False,
) -> str:
    """The tiny SD model in `source` made slow: 2 steps at low, `medium_steps` and `high_steps` above,
    on one torch thread (steady step times when other processes share the CPU: no thread barriers);
    `queue_size` jobs may wait behind the one rendering, and a full line says retry in 3 s."""
    return f"""{NOISE_MODEL_MODERATION}
[server]
request_timeout_s = {request_timeout_s}
public_metrics = {str(public_metrics).lower()}

[engine]
queue_size = {queue_size}
retry_after_s = 3

[[models]]
name = "slow-tiny"
backend = "tiny"
source = "{source}"
[models.options]
steps = {{ low = 2, medium = {medium_steps}, high = {high_steps} }}
torch_threads = 1
"""
