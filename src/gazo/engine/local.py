"""The in-process engine: one worker thread per model, a bounded line in front of each.

A request takes its place in the line (`admit`) as soon as it is read, and gives it back once the
model takes its job; a full line answers at once (`Overloaded` → 429 with `Retry-After`) instead of
piling up work. A job whose client went away stops at its next denoising step, because the progress
callback the backend calls after every step raises `Cancelled`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from PIL import Image

from gazo.backends.base import ImageBackend
from gazo.backends.registry import ModelRegistry
from gazo.engine.admission import Admission, AdmissionLine
from gazo.engine.base import EngineHealth, ModelInfo
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Cancelled, Overloaded, Unavailable
from gazo.jobs import EditJob, Job, Priority, Progress, RenderedImage
from gazo.settings import EngineSettings

logger = logging.getLogger(__name__)

class _Signal(enum.Enum):
    """Markers that travel where tickets and events do, typed so the checker tells them apart."""

    DONE = "done"  # a ticket's last event: every image was sent
    EMPTY = "empty"  # nothing was queued before the batching window closed


_DONE, _EMPTY = _Signal.DONE, _Signal.EMPTY
#: What a ticket's channel carries: progress, images, the error that ended the job, or `_DONE`.
_Event = Progress | RenderedImage | BaseException | _Signal


@dataclass
class _Ticket:
    """A job in flight, and the channel its events travel back to the event loop on."""

    job: Job
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue[_Event] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    enqueued_at: float = field(default_factory=time.monotonic)
    preview_steps: set[int] | None = None
    admission: Admission | None = None  # its place in the line, given back once the model takes it

    def send(self, event: _Event) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def on_step(self, step: int, total: int, make_previews: Callable[[], list[Image.Image]]) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        if self.preview_steps is None:
            self.preview_steps = preview_steps(total, self.job.partial_images)
        previews = tuple(make_previews()) if step in self.preview_steps else ()
        self.send(Progress(step=step, total=total, previews=previews))


def preview_steps(total: int, wanted: int) -> set[int]:
    """Up to `wanted` steps, evenly spread and before the last, that get a partial image."""
    if wanted <= 0 or total < 2:
        return set()
    return {max(1, min(total - 1, round((index + 1) * total / (wanted + 1)))) for index in range(wanted)}


class _ModelWorker:
    """Loads one backend, then runs its jobs on a dedicated thread, batching compatible ones."""

    def __init__(self, backend: ImageBackend, queue_size: int, metrics: EngineMetrics) -> None:
        self.backend = backend
        self.metrics = metrics
        # The line bounds the jobs waiting (from admission until the model takes them); the queue
        # itself is unbounded, since it also holds jobs cancelled while they waited until they are
        # skipped, and those no longer count.
        self.line = AdmissionLine(queue_size)
        self.queue: queue.Queue[_Ticket | None] = queue.Queue()
        self.busy = False  # running a batch
        self.held: deque[_Ticket | None] = (
            deque()
        )  # taken from the queue but not batchable with the last batch
        self.state = "loading"
        self.thread = threading.Thread(target=self._run, name=f"gazo-worker-{backend.name}", daemon=True)

    def _run(self) -> None:
        try:
            self.backend.load(self.backend.context.device)
        except Exception as error:
            logger.exception("model %s failed to load", self.backend.name)
            self.state = f"failed: {error}"
            return
        self.state = "ready"
        while (ticket := self.held.popleft() if self.held else self.queue.get()) is not None:
            if self._dropped(ticket):
                continue
            batch = [ticket, *self._companions(ticket)]
            self.busy = True  # until the batch ends (`_execute`)
            self.metrics.queue_depth.labels(self.backend.name).set(self.queue.qsize())
            for member in batch:
                self.metrics.queue_wait.labels(self.backend.name).observe(
                    time.monotonic() - member.enqueued_at
                )
                if member.admission is not None:
                    member.admission.release()  # no longer waiting: its place goes to the next request
            self._execute(batch)

    def _companions(self, first: _Ticket) -> list[_Ticket]:
        """Queued jobs that can share `first`'s forward pass, up to the model's image limit."""
        key = self.backend.batch_key(first.job)
        room = self.backend.batch_limit() - first.job.n
        if key is None or room <= 0:
            return []
        deadline = time.monotonic() + self.backend.options.batch_window_ms / 1000
        companions: list[_Ticket] = []
        skipped: list[_Ticket | None] = []
        while room > 0:
            candidate = self.held.popleft() if self.held else self._next_queued(deadline)
            if candidate is None or isinstance(candidate, _Signal):
                if candidate is None:
                    skipped.append(None)  # shutting down: stop after this batch
                break
            if self._dropped(candidate):
                continue
            if self.backend.batch_key(candidate.job) == key and candidate.job.n <= room:
                companions.append(candidate)
                room -= candidate.job.n
            else:
                skipped.append(candidate)
        self.held.extendleft(reversed(skipped))
        return companions

    def _dropped(self, ticket: _Ticket) -> bool:
        """A job cancelled while it waited is skipped, and counted like one cancelled mid-render; only
        now is its place in the line given back (see `LocalEngine.render`)."""
        if ticket.cancelled.is_set():
            self.metrics.jobs.labels(self.backend.name, "cancelled").inc()
            if ticket.admission is not None:
                ticket.admission.release()
            return True
        return False

    def _next_queued(self, deadline: float) -> _Ticket | _Signal | None:
        remaining = deadline - time.monotonic()
        try:
            return self.queue.get(timeout=remaining) if remaining > 0 else self.queue.get_nowait()
        except queue.Empty:
            return _EMPTY

    def _execute(self, batch: list[_Ticket]) -> None:
        started = time.monotonic()
        self.metrics.batch_size.labels(self.backend.name).observe(len(batch))
        try:
            results = self._render(batch)
            for ticket, images in zip(batch, results, strict=True):
                if ticket.cancelled.is_set():
                    self.metrics.jobs.labels(self.backend.name, "cancelled").inc()
                    continue
                for index, image in enumerate(images):
                    ticket.send(RenderedImage(index=index, image=image))
                ticket.send(_DONE)
                self.metrics.jobs.labels(self.backend.name, "ok").inc()
        except Cancelled:
            self.metrics.jobs.labels(self.backend.name, "cancelled").inc(len(batch))
        except BaseException as error:
            logger.exception("job on %s failed", self.backend.name)
            self.metrics.jobs.labels(self.backend.name, "error").inc(len(batch))
            for ticket in batch:
                ticket.send(error)
        finally:
            self.busy = False
            self.metrics.render_seconds.labels(self.backend.name).observe(time.monotonic() - started)

    def _render(self, batch: list[_Ticket]) -> list[list[Image.Image]]:
        if len(batch) > 1:
            return self.backend.generate_batch([t.job for t in batch], [t.on_step for t in batch])
        job = batch[0].job
        if isinstance(job, EditJob):
            return [self.backend.edit(job, batch[0].on_step)]
        return [self.backend.generate(job, batch[0].on_step)]


class LocalEngine:
    """Runs every configured model in this process (one worker thread per model)."""

    def __init__(self, registry: ModelRegistry, settings: EngineSettings, metrics: EngineMetrics) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self._workers = {
            name: _ModelWorker(backend, settings.queue_size, metrics)
            for name, backend in registry.backends.items()
        }

    async def start(self) -> None:
        self.launch()

    def launch(self) -> None:
        """Start every worker thread (model loading begins); safe to call from synchronous code."""
        for worker in self._workers.values():
            if not worker.thread.is_alive():
                worker.thread.start()

    async def close(self) -> None:
        for worker in self._workers.values():
            _drain(worker.queue)
            worker.queue.put(None)
        for worker in self._workers.values():
            if worker.thread.is_alive():
                await asyncio.to_thread(worker.thread.join, 60)

    def resolve(self, model: str | None) -> ModelInfo:
        backend = self.registry.resolve(model)
        return model_info(backend, loading=self._workers[backend.name].state == "loading")

    def models(self) -> list[tuple[str, str]]:
        return [(entry.id, entry.model) for entry in self.registry.entries()]

    def admit(self, model: str) -> Admission:
        worker = self._workers[model]
        if worker.state != "ready" and worker.state != "loading":
            raise Unavailable(f"The model `{model}` could not be loaded ({worker.state}).")
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
        admission = admission or self.admit(job.model)
        worker = self._workers[job.model]
        ticket = _Ticket(job=job, loop=asyncio.get_running_loop(), admission=admission)
        worker.queue.put_nowait(ticket)
        self.metrics.queue_depth.labels(job.model).set(worker.queue.qsize())
        try:
            yield Progress(step=0, total=0)  # admitted: the caller may now commit to a response
            while (event := await ticket.events.get()) is not _DONE:
                if isinstance(event, BaseException):
                    raise event
                if isinstance(event, Progress | RenderedImage):
                    yield event
        finally:
            # Its place goes back when the model takes the job or skips it as cancelled, not here: a
            # cancelled job stays queued (holding its decoded images) until the worker reaches it, so
            # giving its place back now would let clients that hang up grow the queue without bound.
            ticket.cancelled.set()

    def metrics_text(self) -> bytes:
        return self.metrics.export()

    def health(self) -> EngineHealth:
        states = {name: worker.state for name, worker in self._workers.items()}
        return EngineHealth(
            ready=all(state == "ready" for state in states.values()),
            models=states,
            queue_depth={name: worker.queue.qsize() for name, worker in self._workers.items()},
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
    )


def _drain(pending: queue.Queue[_Ticket | None]) -> None:
    while True:
        try:
            ticket = pending.get_nowait()
        except queue.Empty:
            return
        if ticket is not None:
            ticket.cancelled.set()
            if ticket.admission is not None:
                ticket.admission.release()
            ticket.send(Unavailable("gazo is shutting down."))
