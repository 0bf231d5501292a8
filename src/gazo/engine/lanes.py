"""The jobs waiting for one model, in two lanes: interactive requests, then batch lines.

A model's worker takes a batch line only when no interactive job waits, and batches each lane with
itself only, so an interactive request never waits behind batch work it could have gone before, and
never rides a bigger forward pass than its own. Batch lines take no place in the admission line:
they never make an interactive request wait for a place or be refused one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from gazo.jobs import Priority

T = TypeVar("T")


class Lanes(Generic[T]):
    """Two FIFO lanes under one lock; `take` blocks until a job (interactive first) or `close`."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._lanes: dict[Priority, deque[T]] = {"interactive": deque(), "batch": deque()}
        self._closed = False

    def put(self, item: T, priority: Priority) -> None:
        with self._changed:
            self._lanes[priority].append(item)
            self._changed.notify_all()

    def put_back(self, items: Iterable[T], priority: Priority) -> None:
        """Return `items` to the front of their lane, in order (jobs that made way keep their turn)."""
        with self._changed:
            self._lanes[priority].extendleft(reversed(list(items)))
            self._changed.notify_all()

    def take(self) -> tuple[T, Priority] | None:
        """The next job and its lane, interactive first; None once closed."""
        with self._changed:
            while True:
                if self._closed:
                    return None
                for priority, lane in self._lanes.items():
                    if lane:
                        return lane.popleft(), priority
                self._changed.wait()

    def take_matching(self, priority: Priority, match: Callable[[T], bool], deadline: float) -> T | None:
        """The first job of `priority`'s lane that `match`es, waiting until `deadline` (monotonic) for
        one to arrive; jobs passed over keep their place. Waiting stops early when the lane is
        `batch` and an interactive job arrives: that job goes next, not a fuller batch pass."""
        with self._changed:
            while not self._closed:
                lane = self._lanes[priority]
                for index, item in enumerate(lane):
                    if match(item):
                        del lane[index]
                        return item
                if priority == "batch" and self._lanes["interactive"]:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
            return None

    def waiting(self, priority: Priority) -> int:
        return len(self._lanes[priority])

    def close(self) -> list[T]:
        """Stop `take` (after the pass in progress) and hand back every job still waiting."""
        with self._changed:
            self._closed = True
            left = [*self._lanes["interactive"], *self._lanes["batch"]]
            for lane in self._lanes.values():
                lane.clear()
            self._changed.notify_all()
            return left
