"""A job in flight inside the local engine, and the channel its events travel back on."""

from __future__ import annotations

import asyncio
import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from gazo.engine.admission import Admission
from gazo.errors import Cancelled
from gazo.jobs import Job, Priority, Progress, RenderedImage


class Signal(enum.Enum):
    """Markers that travel where tickets and events do, typed so the checker tells them apart."""

    DONE = "done"  # a ticket's last event: every image was sent


DONE = Signal.DONE
#: What a ticket's channel carries: progress, images, the error that ended the job, or `DONE`.
Event = Progress | RenderedImage | BaseException | Signal


class MakeWay:
    """Asked at every step of a batch-line pass: once an interactive job waits, every line of the pass
    leaves it at its next step (latched, so that no line lingers after another has left)."""

    def __init__(self, interactive_waiting: Callable[[], bool]) -> None:
        self._interactive_waiting = interactive_waiting
        self.now = False

    def __call__(self) -> bool:
        self.now = self.now or self._interactive_waiting()
        return self.now


@dataclass
class Ticket:
    """A job in flight, and the channel its events travel back to the event loop on."""

    job: Job
    loop: asyncio.AbstractEventLoop
    priority: Priority = "interactive"
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    enqueued_at: float = field(default_factory=time.monotonic)
    preview_steps: set[int] | None = None
    admission: Admission | None = None  # its place in the line, given back once the model takes it
    make_way: MakeWay | None = None  # set while a batch line renders: whether to leave the pass
    made_way: bool = False  # left its pass for an interactive job: to be run again
    step_sent: int = 0  # a rerun (after making way) does not repeat the steps the caller has seen

    def send(self, event: Event) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def on_step(self, step: int, total: int, make_previews: Callable[[], list[Image.Image]]) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        if step < total and self.make_way is not None and self.make_way():
            self.made_way = True
            raise Cancelled()  # the backend drops this job from the pass, as if its client had left
        if step <= self.step_sent:
            return
        self.step_sent = step
        if self.preview_steps is None:
            self.preview_steps = preview_steps(total, self.job.partial_images)
        previews = tuple(make_previews()) if step in self.preview_steps else ()
        self.send(Progress(step=step, total=total, previews=previews))


def preview_steps(total: int, wanted: int) -> set[int]:
    """Up to `wanted` steps, evenly spread and before the last, that get a partial image."""
    if wanted <= 0 or total < 2:
        return set()
    return {max(1, min(total - 1, round((index + 1) * total / (wanted + 1)))) for index in range(wanted)}
