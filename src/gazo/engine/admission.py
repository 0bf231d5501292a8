"""A place in a model's line, taken before a request costs anything.

A request asks for its place right after it is authenticated and parsed, before moderation, billing
or any database write, so that a full line answers 429 at once and a refused request leaves no trace
(no usage row, no rate-limit count, no thread-pool hop). The place is given back when the model takes
the job (in-process) or when the job or the request ends, however it ends; giving it back twice is
harmless, from any thread.
"""

from __future__ import annotations

import threading


class Admission:
    """One place in a model's line; `release()` gives it back (idempotent, thread-safe)."""

    def __init__(self, line: AdmissionLine) -> None:
        self._line: AdmissionLine | None = line

    def release(self) -> None:
        line = self._line
        if line is not None:
            line.give_back(self)

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class AdmissionLine:
    """Counts the places taken in one model's line against its capacity (None: no limit)."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.taken = 0
        self._lock = threading.Lock()

    def admit(self, spare: int = 0) -> Admission | None:
        """A place, or None when the line is full; `spare` places are added for this once (an idle
        model will take the next request at once, so it need not count against those waiting)."""
        with self._lock:
            if self.capacity is not None and self.taken >= self.capacity + spare:
                return None
            self.taken += 1
        return Admission(self)

    def give_back(self, admission: Admission) -> None:
        with self._lock:
            if admission._line is self:  # not given back already (by another thread, say)
                admission._line = None
                self.taken -= 1
