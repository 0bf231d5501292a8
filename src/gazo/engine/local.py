"""The in-process engine: one worker thread per model, a bounded line in front of each.

A request takes its place in the line (`admit`) as soon as it is read, and gives it back once the
model takes its job; a full line answers at once (`Overloaded` → 429 with `Retry-After`) instead of
piling up work. A job whose client went away stops at its next denoising step, because the progress
callback the backend calls after every step raises `Cancelled`.

Batch lines (`priority="batch"`, from `/v1/batches`) take no place in the line and wait in a lane of
their own (`gazo.engine.lanes`): the model takes them, batched together, only when no interactive job
waits, and a pass of them makes way at its next step when one arrives (its lines run again later).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator

from PIL import Image

from gazo.backends.base import ImageBackend
from gazo.backends.registry import ModelRegistry
from gazo.engine.admission import Admission, AdmissionLine
from gazo.engine.base import EngineHealth, ModelInfo, ModelResidency, adapter_info
from gazo.engine.lanes import Lanes
from gazo.engine.metrics import EngineMetrics
from gazo.engine.residency import ModelManager, Resident
from gazo.engine.tickets import DONE, MakeWay, Ticket, preview_steps
from gazo.errors import Cancelled, Overloaded, Unavailable
from gazo.jobs import EditJob, Job, Priority, Progress, RenderedImage
from gazo.settings import EngineSettings

__all__ = ["LocalEngine", "model_info", "preview_steps"]

logger = logging.getLogger(__name__)

#: Forward passes' worth of batch images a model holds (one rendering, one queued behind it).
BATCH_PASSES_AHEAD = 2
#: For this long after interactive work, batch lines render one at a time: a pass makes way for an
#: arriving request at its next step, and a pass of one has the shortest step (on the simulated
#: accelerator at 512x512, 34 ms against 140 ms for a pass of 8).
QUIET_AFTER_INTERACTIVE_S = 2.0
#: How long a model loaded for requests that need to know what its load decides may wait for room.
WARM_WAIT_S = 600.0


class _ModelWorker:
    """Loads one backend, then runs its jobs on a dedicated thread, batching compatible ones."""

    def __init__(
        self,
        backend: ImageBackend,
        queue_size: int,
        metrics: EngineMetrics,
        manager: ModelManager,
        keep_alive_s: float | None = None,
    ) -> None:
        self.backend = backend
        self.metrics = metrics
        self.manager = manager
        # The line bounds the interactive jobs waiting (from admission until the model takes them);
        # the lanes themselves are unbounded, since they also hold jobs cancelled while they waited
        # until they are skipped, and those no longer count, and batch lines (`LocalEngine.batch_room`).
        self.line = AdmissionLine(queue_size)
        self.lanes: Lanes[Ticket] = Lanes()
        self.busy = False  # running a pass of interactive jobs
        self.interactive_at = float("-inf")  # when the last pass of interactive jobs ended
        self.batch_images = 0  # images of batch lines between `render` and their end (event loop only)
        self.resident = Resident(
            backend=backend,
            device=backend.memory_device(),
            keep_alive_s=keep_alive_s,
            waiting=lambda: self.lanes.waiting("interactive") + self.lanes.waiting("batch"),
        )
        self.thread = threading.Thread(target=self._run, name=f"gazo-worker-{backend.name}", daemon=True)

    def _run(self) -> None:
        if not self.resident.started:  # a load at start was planned (`ModelManager.plan_preloads`)
            self.manager.preload(self.resident)
        while (taken := self.lanes.take()) is not None:
            ticket, priority = taken
            if self._dropped(ticket) or not self._acquire(ticket, priority):
                continue
            try:
                batch = [ticket, *self._companions(ticket)]
                self.busy = priority == "interactive"  # until the pass ends (`_execute`)
                self._taken(batch)
                self._execute(batch)
            finally:
                self.manager.release(self.resident)

    def _acquire(self, ticket: Ticket, priority: Priority) -> bool:
        """The model loaded and held for `ticket`'s pass (see `ModelManager.acquire`); False when the job
        left while room was made, or the load failed (the job is told). A batch line waits patiently,
        and goes back to the front of its lane when an interactive job arrives, which goes first."""
        patient = priority == "batch"

        def wanted() -> bool:
            interrupted = patient and self.lanes.waiting("interactive") > 0
            return not ticket.cancelled.is_set() and not interrupted

        try:
            if self.manager.acquire(self.resident, wanted, patient=patient):
                return True
        except Unavailable as error:
            self.metrics.jobs.labels(self.backend.name, "error").inc()
            if ticket.admission is not None:
                ticket.admission.release()
            ticket.send(error)
            return False
        if patient and not ticket.cancelled.is_set():
            self.lanes.put_back([ticket], "batch")
        else:
            self._dropped(ticket)
        return False

    @property
    def state(self) -> str:
        """`ready`, `loading`, `unloaded` or `failed: why`, for `/readyz`."""
        resident = self.resident
        if resident.state == "failed":
            return f"failed: {resident.failure}"
        return resident.describe().status

    def _taken(self, batch: list[Ticket]) -> None:
        """Metrics of the lane the pass came from; the places of its jobs go to the next requests."""
        name, lane = self.backend.name, batch[0].priority
        interactive = lane == "interactive"
        depth = self.metrics.queue_depth if interactive else self.metrics.batch_queue_depth
        wait = self.metrics.queue_wait if interactive else self.metrics.batch_queue_wait
        depth.labels(name).set(self.lanes.waiting(lane))
        for member in batch:
            wait.labels(name).observe(time.monotonic() - member.enqueued_at)
            if member.admission is not None:
                member.admission.release()  # no longer waiting: its place goes to the next request

    def _companions(self, first: Ticket) -> list[Ticket]:
        """Jobs of `first`'s lane that can share its forward pass, up to the model's image limit."""
        key = self.backend.batch_key(first.job)
        room = self.backend.batch_limit() - first.job.n
        if first.priority == "batch" and time.monotonic() - self.interactive_at < QUIET_AFTER_INTERACTIVE_S:
            room = 0  # interactive requests are about: keep the step they may wait for short
        if key is None or room <= 0:
            return []

        def fits(candidate: Ticket) -> bool:  # cancelled ones are taken too, to be skipped now
            same = self.backend.batch_key(candidate.job) == key and candidate.job.n <= room
            return candidate.cancelled.is_set() or same

        deadline = time.monotonic() + self.backend.options.batch_window_ms / 1000
        companions: list[Ticket] = []
        while room > 0 and (candidate := self.lanes.take_matching(first.priority, fits, deadline)):
            if not self._dropped(candidate):
                companions.append(candidate)
                room -= candidate.job.n
        return companions

    def _dropped(self, ticket: Ticket) -> bool:
        """A job cancelled while it waited is skipped, and counted like one cancelled mid-render; only
        now is its place in the line given back (see `LocalEngine.render`)."""
        if ticket.cancelled.is_set():
            self.metrics.jobs.labels(self.backend.name, "cancelled").inc()
            if ticket.admission is not None:
                ticket.admission.release()
            return True
        return False

    def _execute(self, batch: list[Ticket]) -> None:
        started = time.monotonic()
        if batch[0].priority == "batch":  # batch lines leave the pass, at a step, for interactive work
            make_way = MakeWay(lambda: self.lanes.waiting("interactive") > 0)
            for ticket in batch:
                ticket.make_way = make_way
        self.metrics.batch_size.labels(self.backend.name).observe(len(batch))
        try:
            results = self._render(batch)
        except Cancelled:  # every job left the pass: its client went, or it made way
            results = [[] for _ in batch]
        except BaseException as error:
            logger.exception("job on %s failed", self.backend.name)
            self.metrics.jobs.labels(self.backend.name, "error").inc(len(batch))
            for ticket in batch:
                ticket.send(error)
            return
        finally:
            if batch[0].priority == "interactive":
                self.interactive_at = time.monotonic()
            self.busy = False
            self.metrics.render_seconds.labels(self.backend.name).observe(time.monotonic() - started)
        self._deliver(batch, results)

    def _deliver(self, batch: list[Ticket], results: list[list[Image.Image]]) -> None:
        """Send each job its images; batch lines that made way go back to the front of their lane."""
        again: list[Ticket] = []
        for ticket, images in zip(batch, results, strict=True):
            ticket.make_way = None
            if ticket.cancelled.is_set():
                self.metrics.jobs.labels(self.backend.name, "cancelled").inc()
            elif ticket.made_way and len(images) < ticket.job.n:
                ticket.made_way = False
                again.append(ticket)
            else:
                for index, image in enumerate(images):
                    ticket.send(RenderedImage(index=index, image=image))
                ticket.send(DONE)
                self.metrics.jobs.labels(self.backend.name, "ok").inc()
        if again:
            self.metrics.made_way.labels(self.backend.name).inc(len(again))
            self.lanes.put_back(again, "batch")

    def _render(self, batch: list[Ticket]) -> list[list[Image.Image]]:
        if len(batch) > 1:
            return self.backend.generate_batch([t.job for t in batch], [t.on_step for t in batch])
        job = batch[0].job
        if isinstance(job, EditJob):
            return [self.backend.edit(job, batch[0].on_step)]
        return [self.backend.generate(job, batch[0].on_step)]

    def check_available(self) -> None:
        if self.resident.state == "failed":
            raise Unavailable(f"The model `{self.backend.name}` could not be loaded ({self.state}).")


class LocalEngine:
    """Runs every configured model in this process (one worker thread per model)."""

    def __init__(self, registry: ModelRegistry, settings: EngineSettings, metrics: EngineMetrics) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self.manager = ModelManager(settings, metrics)
        self._workers: dict[str, _ModelWorker] = {}
        for name, backend in registry.backends.items():
            spec = registry.specs[name]
            worker = _ModelWorker(backend, settings.queue_size, metrics, self.manager, spec.keep_alive)
            self.manager.add(worker.resident)  # a model larger than its device's budget stops here
            self._workers[name] = worker
        self._launched = False

    async def start(self) -> None:
        self.launch()

    def launch(self) -> None:
        """Start every worker thread, each loading its model if it is to be loaded at start and fits;
        safe to call from synchronous code."""
        if not self._launched:
            self._launched = True
            self.manager.plan_preloads([name for name in self._workers if self.registry.specs[name].preload])
            self.manager.start_reaper()
        for worker in self._workers.values():
            if not worker.thread.is_alive():
                worker.thread.start()

    async def close(self) -> None:
        self.manager.close()
        for worker in self._workers.values():
            for ticket in worker.lanes.close():
                ticket.cancelled.set()
                if ticket.admission is not None:
                    ticket.admission.release()
                ticket.send(Unavailable("gazo is shutting down."))
        for worker in self._workers.values():
            if worker.thread.is_alive():
                await asyncio.to_thread(worker.thread.join, 60)

    def resolve(self, model: str | None) -> ModelInfo:
        backend = self.registry.resolve(model)
        return model_info(backend, loading=not self._workers[backend.name].resident.settled)

    def models(self) -> list[tuple[str, str]]:
        return [(entry.id, entry.model) for entry in self.registry.entries()]

    def residency(self) -> dict[str, ModelResidency]:
        return self.manager.describe()

    def warm(self, model: str) -> None:
        self.manager.warm(self._workers[model].resident, WARM_WAIT_S)

    def admit(self, model: str) -> Admission:
        worker = self._workers[model]
        worker.check_available()
        # An idle model takes the next request at once: that one is not waiting, so it takes no place.
        admission = worker.line.admit(spare=0 if worker.busy else 1)
        if admission is None:
            self.metrics.rejected.labels(model).inc()
            raise Overloaded(
                f"The model `{model}` has {worker.line.capacity} requests waiting; retry shortly.",
                retry_after_s=self.settings.retry_after_s,
            )
        return admission

    async def render(
        self, job: Job, admission: Admission | None = None, *, priority: Priority = "interactive"
    ) -> AsyncGenerator[Progress | RenderedImage, None]:
        worker = self._workers[job.model]
        if priority == "batch":  # a batch line takes no place in the line (`batch_room` paces them)
            worker.check_available()
            if admission is not None:
                admission.release()
            admission = None
        else:
            admission = admission or self.admit(job.model)
        ticket = Ticket(job=job, loop=asyncio.get_running_loop(), priority=priority, admission=admission)
        worker.lanes.put(ticket, priority)
        depth = self.metrics.queue_depth if priority == "interactive" else self.metrics.batch_queue_depth
        depth.labels(job.model).set(worker.lanes.waiting(priority))
        batch_images = job.n if priority == "batch" else 0
        worker.batch_images += batch_images
        try:
            yield Progress(step=0, total=0)  # admitted: the caller may now commit to a response
            while (event := await ticket.events.get()) is not DONE:
                if isinstance(event, BaseException):
                    raise event
                if isinstance(event, Progress | RenderedImage):
                    yield event
        finally:
            # Its place goes back when the model takes the job or skips it as cancelled, not here: a
            # cancelled job stays queued (holding its decoded images) until the worker reaches it, so
            # giving its place back now would let clients that hang up grow the queue without bound.
            ticket.cancelled.set()
            worker.batch_images -= batch_images

    def batch_room(self, model: str) -> int:
        """Batch images `model` may be given now (see `Engine.batch_room`): enough for a pass rendering
        and a full one queued behind it, less those in flight; 0 while interactive work waits."""
        worker = self._workers[model]
        loadable = worker.resident.state in ("ready", "unloaded")  # an unloaded model loads for them
        if not loadable or worker.line.taken or worker.lanes.waiting("interactive"):
            return 0
        target = BATCH_PASSES_AHEAD * worker.backend.batch_limit()
        return max(0, target - worker.batch_images)

    def metrics_text(self) -> bytes:
        return self.metrics.export()

    def health(self) -> EngineHealth:
        residents = [worker.resident for worker in self._workers.values()]
        return EngineHealth(
            # Ready once every load at start is over and none failed: a load on demand later (a model
            # swapped in) leaves the server ready, since its other models still serve.
            ready=all(r.started and r.state != "failed" for r in residents),
            models={name: worker.state for name, worker in self._workers.items()},
            queue_depth={name: w.lanes.waiting("interactive") for name, w in self._workers.items()},
            memory=self.manager.memory(),
        )


def model_info(backend: ImageBackend, *, loading: bool) -> ModelInfo:
    """What the service needs of a backend, as data that can cross a process boundary; while it is
    `loading`, the capabilities its load decides are marked pending."""
    return ModelInfo(
        name=backend.name,
        description=backend.describe(),
        capabilities=backend.capabilities,
        default_size=backend.options.default_size,
        default_quality=backend.options.default_quality,
        pending=backend.decided_at_load if loading else frozenset(),
        adapters={spec.name: adapter_info(spec, backend.name) for spec in backend.context.adapters},
        request_adapters=backend.context.request_adapters,
    )
