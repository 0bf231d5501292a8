"""RayEngine: the engine interface over Ray Serve deployment handles, one `ModelWorker` per model.

The gateway keeps the model registry (names, aliases, options) without loading any weights; the
workers load them. Events, partial images included, stream back through the handle, and closing
the stream cancels the replica's job at its next step, exactly as in-process.

A replica that dies mid-job (node lost, process killed) does not fail the request: the job runs
again on another replica, and the events the caller already has are not repeated. The request is
charged once, by the gateway, whichever replica finished it.

The gateway counts its requests in flight per model against what the replicas can hold (running
plus Ray's queue), so that a full deployment answers 429 before moderation and billing; Ray's own
backpressure (`BackPressureError`) still answers 429 when that count is optimistic (autoscaling not
yet scaled up, several gateways).

Batch lines (`priority="batch"`) take no place in that count: they travel with their priority to a
replica (Ray's routing spreads them, as it spreads every request), whose local engine runs them
behind its interactive jobs. They have slots of their own on each replica (`batch_capacity`, which
the deployment adds to its `max_ongoing_requests`), so they never fill the slots interactive
requests are counted against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any, Literal

from ray.exceptions import RayActorError, RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from gazo.backends.registry import ModelRegistry
from gazo.engine.admission import Admission, AdmissionLine
from gazo.engine.base import EngineHealth, ModelInfo, ModelResidency
from gazo.engine.local import model_info
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Overloaded, Unavailable
from gazo.jobs import Job, Priority, Progress, RenderedImage
from gazo.settings import EngineSettings

logger = logging.getLogger(__name__)

#: How many times a job moves to another replica when the one running it dies.
REPLICA_RETRIES = 2
#: Pauses before asking Ray again when it refuses a job for a full queue (`BackPressureError`). Its
#: count of requests waiting for a replica includes those it is still assigning, so a burst is refused
#: for a moment while the replicas have room (Ray's router says so); only a refusal that outlasts these
#: pauses is the 429 it means.
BACKPRESSURE_PAUSES_S = (0.05, 0.2, 0.5)


class RayEngine:
    """Runs jobs on `ModelWorker` replicas through Ray Serve handles (one handle per model)."""

    def __init__(
        self,
        registry: ModelRegistry,
        handles: dict[str, Any],
        settings: EngineSettings,
        metrics: EngineMetrics,
        capacity: int | None = None,
        batch_capacity: dict[str, int] | None = None,
    ) -> None:
        """`capacity`: interactive requests in flight per model the replicas can hold; None counts
        none. `batch_capacity`: batch images in flight per model over its replicas (default none)."""
        self.registry = registry
        self.handles = handles
        self.settings = settings
        self.metrics = metrics
        self._lines = {name: AdmissionLine(capacity) for name in handles}
        self._batch_capacity = batch_capacity or {}
        self._batch_images = dict.fromkeys(handles, 0)  # in flight, counted on the event loop
        self._info: dict[str, ModelInfo] = {}
        self._states: dict[str, str] = dict.fromkeys(handles, "loading")
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        """Poll the workers' readiness; fetch each model's loaded capabilities once it is ready. Each
        call may reach another replica, so the one asked for `info` may still be loading: its answer
        (with `pending` capabilities) is asked for again until a loaded replica gives it."""
        while True:
            for name, handle in self.handles.items():
                try:
                    state = await handle.state.remote()
                    known = self._info.get(name)
                    if state == "ready" and (known is None or known.pending):
                        self._info[name] = await handle.info.remote()
                        if self._info[name].pending:
                            state = "loading"  # not ready for the gateway until it knows what it can do
                    self._states[name] = state
                except Exception as error:
                    self._states[name] = f"unreachable: {error.__class__.__name__}"
            await asyncio.sleep(0.5)

    def resolve(self, model: str | None) -> ModelInfo:
        backend = self.registry.resolve(model)
        # Until a replica reports the loaded model, the gateway's own (never loaded) backend stands in.
        return self._info.get(backend.name) or model_info(backend, loading=True)

    def models(self) -> list[tuple[str, str]]:
        return [(entry.id, entry.model) for entry in self.registry.entries()]

    def residency(self) -> dict[str, ModelResidency]:
        """Each model's replicas load it at start and keep it (their memory is Ray's to place)."""
        return {name: ModelResidency(status=_status(state)) for name, state in self._states.items()}

    def warm(self, model: str) -> None:
        """Nothing to start: a replica loads its model when Ray starts it."""

    def admit(self, model: str) -> Admission:
        admission = self._lines[model].admit()
        if admission is None:
            self.metrics.rejected.labels(model).inc()
            raise Overloaded(
                f"Every replica of `{model}` is busy and its queue is full; retry shortly.",
                retry_after_s=self.settings.retry_after_s,
            )
        return admission

    async def render(
        self, job: Job, admission: Admission | None = None, *, priority: Priority = "interactive"
    ) -> AsyncGenerator[Progress | RenderedImage, None]:
        """Held in the line until the replicas are done with the job (not only until one takes it); a
        batch line is counted in `batch_room` instead, as long."""
        step_reached, images_done = -1, set[int]()
        if priority == "batch":
            if admission is not None:
                admission.release()
            admission = None  # a batch line holds no place in the line
            self._batch_images[job.model] += job.n
        else:
            admission = admission or self.admit(job.model)
        try:
            for attempt in range(REPLICA_RETRIES + 1):
                try:
                    async for event in self._render_on_a_replica(job, priority):
                        if isinstance(event, Progress):  # a rerun replays steps the caller already saw
                            if event.step <= step_reached:
                                continue
                            step_reached = event.step
                        elif event.index in images_done:
                            continue
                        else:
                            images_done.add(event.index)
                        yield event
                    return
                except RayActorError as error:
                    if attempt == REPLICA_RETRIES:
                        raise Unavailable(
                            f"The replicas running `{job.model}` kept failing ({error.__class__.__name__})."
                        ) from None
                    logger.warning("a `%s` replica died mid-job (%s); running it again", job.model, error)
                    self.metrics.replica_retries.labels(job.model).inc()
        finally:
            if admission is not None:
                admission.release()
            if priority == "batch":
                self._batch_images[job.model] -= job.n

    def batch_room(self, model: str) -> int:
        """Batch images to hand `model` now (see `Engine.batch_room`): its replicas' batch slots, less
        the batch images and the interactive requests in flight; 0 until a replica is ready."""
        if self._states.get(model) != "ready":
            return 0
        in_flight = self._batch_images[model] + self._lines[model].taken
        return max(0, self._batch_capacity.get(model, 0) - in_flight)

    async def _render_on_a_replica(
        self, job: Job, priority: Priority
    ) -> AsyncGenerator[Progress | RenderedImage, None]:
        for pause in (*BACKPRESSURE_PAUSES_S, None):
            try:
                async with contextlib.aclosing(self._stream_from_a_replica(job, priority)) as events:
                    async for event in events:
                        yield event
                return
            except BackPressureError:  # raised before any event: nothing was rendered
                if pause is None:
                    self.metrics.rejected.labels(job.model).inc()
                    raise Overloaded(
                        f"Every replica of `{job.model}` is busy and its queue is full; retry shortly.",
                        retry_after_s=self.settings.retry_after_s,
                    ) from None
                await asyncio.sleep(pause)

    async def _stream_from_a_replica(
        self, job: Job, priority: Priority
    ) -> AsyncGenerator[Progress | RenderedImage, None]:
        stream = None
        try:
            stream = self.handles[job.model].options(stream=True).render.remote(job, priority)
            async for event in stream:
                yield event
        except DeploymentUnavailableError as error:
            raise Unavailable(f"The model `{job.model}` has no replica available ({error}).") from None
        except RayTaskError as error:
            raise (error.cause if isinstance(error.cause, BaseException) else error) from None
        finally:
            if stream is not None:  # stops the replica's job if we left early; never masks the real error
                with contextlib.suppress(Exception):
                    stream.cancel()

    def metrics_text(self) -> bytes:
        return self.metrics.export()

    def health(self) -> EngineHealth:
        return EngineHealth(ready=all(s == "ready" for s in self._states.values()), models=dict(self._states))


def _status(state: str) -> Literal["loading", "ready", "failed"]:
    if state == "ready":
        return "ready"
    return "failed" if state.startswith(("failed", "unreachable")) else "loading"
