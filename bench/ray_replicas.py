"""gazo on a local Ray Serve cluster with N `ModelWorker` replicas, for `bench.serve --ray-replicas`.

Each replica gets an equal share of the machine's cores for torch, so that 1 vs 2 replicas compares
the same compute split differently rather than two replicas oversubscribing the CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import GazoServer

from bench.config import model_config

RAY = """
[ray]
num_replicas = {replicas}
num_cpus = 0
max_ongoing_requests = 8
max_queued_requests = 512
object_store_memory = 200000000
"""


@contextmanager
def ray_gazo(folder: Path, replicas: int, *, steps: int, batch: int, work: Path) -> Iterator[GazoServer]:
    """`gazo serve --ray` on `folder`'s model with `replicas` workers; stops the cluster afterwards."""
    config = work / f"ray-{replicas}.toml"
    threads = max(1, (os.cpu_count() or 1) // replicas)
    config.write_text(
        RAY.format(replicas=replicas) + model_config(folder, steps=steps, batch=batch, torch_threads=threads)
    )
    server = GazoServer(
        work / f"data-ray-{replicas}", config=config, args=("--ray",), env={"RAY_USAGE_STATS_ENABLED": "0"}
    )
    try:
        yield server.start(timeout_s=600)
    finally:
        server.stop()
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)
