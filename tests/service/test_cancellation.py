"""A cancelled request stops its job, wherever between two denoising steps the cancellation lands.

The route cancels the request's task when its client hangs up. With an event per step, that
cancellation often arrives just as the next event does; `asyncio.wait_for` on Python 3.11 then
drops it, and the job runs (and is charged) to its end. Many cancellations at scattered moments
catch such a race where one API test rarely would."""

from __future__ import annotations

import asyncio
import random

from gazo.billing.values import Caller
from gazo.jobs import ImageRequest
from gazo.service import ImageService, RequestContext

TRIES = 25
#: The operator at their own machine, as the in-process CLI calls the service.
OPERATOR = Caller(key_id=None, org_id=None, is_admin=True, open_mode=True, key_name="test operator")


def sample(service: ImageService, name: str, **labels: str) -> float:
    value = service.engine.metrics.registry.get_sample_value(name, {"model": "fast-steps", **labels})
    return value or 0.0


async def test_every_cancellation_stops_its_job(service: ImageService) -> None:
    request = ImageRequest(prompt="x", size="64x64", quality="medium", seed=1)
    scatter = random.Random(7)
    for attempt in range(TRIES):
        work = asyncio.ensure_future(service.create(request, RequestContext(OPERATOR, f"req_{attempt}")))
        while sample(service, "gazo_queue_wait_seconds_count") == attempt:  # until the model takes it
            await asyncio.sleep(0.002)
        await asyncio.sleep(scatter.uniform(0.0, 0.05))
        work.cancel()
        done, _ = await asyncio.wait({work}, timeout=5)
        assert done and work.cancelled(), f"cancellation {attempt + 1} was lost: the job ran on"
        await _until_cancelled(service, attempt + 1)
    assert sample(service, "gazo_jobs_total", outcome="ok") == 0


async def _until_cancelled(service: ImageService, count: int) -> None:
    """The engine counts a job as cancelled once its worker thread has stopped at a step."""
    for _ in range(200):
        if sample(service, "gazo_jobs_total", outcome="cancelled") == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the engine has not counted cancelled job {count}")
