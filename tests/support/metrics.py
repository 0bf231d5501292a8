"""Reading a running server's Prometheus metrics, and waiting until something holds."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.support.server import GazoServer


def metric(server: GazoServer, name: str, labels: str) -> float:
    """The sample `name{labels}` from `/metrics`; 0.0 while the server has none."""
    metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    prefix = f"{name}{{{labels}}} "
    return next((float(line[len(prefix) :]) for line in metrics.splitlines() if line.startswith(prefix)), 0.0)


def jobs_taken(server: GazoServer, model: str = "slow-tiny") -> float:
    """Jobs the model has started on: each is observed once in the queue-wait histogram."""
    return metric(server, "gazo_queue_wait_seconds_count", f'model="{model}"')


def wait_for(condition: Callable[[], object], seconds: float = 30.0) -> bool:
    """Whether `condition()` became true within `seconds` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
