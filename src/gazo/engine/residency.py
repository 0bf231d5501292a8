"""Which models hold memory: load on demand, unload the least recently used idle one under a budget.

Several models share one device (an SDXL, a FLUX, a turbo model on one card). Each device has a memory
budget (`engine.memory_budget_gb`, default its memory less a headroom); a model's weights count from
the moment its load is decided (by their size told from the files, `ImageBackend.estimate_bytes`)
until its unload ends (by their measure once loaded), so two loads decided side by side can never
overcommit the card. Ollama and LocalAI keep models the same way: load on first use, unload after a
`keep_alive` or when another needs the room.

The worker of a model calls :meth:`ModelManager.acquire` before each forward pass and
:meth:`ModelManager.release` after it: a model is never unloaded during a pass, only between two. An
acquire that needs room unloads idle models, those with no queued work first, then the least
recently used; while every candidate is busy it waits. A model that keeps getting work would keep its
place for ever, so a request for another model that has waited `engine.swap_after_s` makes it step
aside at its next pass. A pass of batch lines is patient: for `engine.batch_swap_idle_s` it unloads
only models that have had no work that long, and makes none step aside, so batch work fills the device
when its users are away without pushing their model out at every pass. Loading and unloading run
outside the lock; only bookkeeping runs under it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gazo.backends.base import ImageBackend
from gazo.backends.registry import ConfigurationError
from gazo.engine.base import ModelResidency
from gazo.engine.metrics import EngineMetrics
from gazo.errors import Unavailable
from gazo.settings import EngineSettings

logger = logging.getLogger(__name__)

State = Literal["unloaded", "loading", "ready", "unloading", "failed"]
#: How often a waiting acquire looks again whether its caller still wants the model.
_POLL_S = 0.25
#: States whose weights take (or are about to take) their device's memory.
_HOLDING = ("loading", "ready", "unloading")


@dataclass(eq=False)
class Resident:
    """One model's place in memory. Every field but `backend` changes only under the manager's lock."""

    backend: ImageBackend
    device: str
    keep_alive_s: float | None
    #: Jobs queued for it: an idle model with work waiting is unloaded after those without.
    waiting: Callable[[], int]
    state: State = "unloaded"
    failure: str | None = None
    estimated: int = 0  # from its files, before any load (0: unknown)
    measured: int | None = None  # from its tensors, once loaded: kept for its next load
    active: int = 0  # passes running now
    #: Wall clock of the last pass's end, or of the load if later: keep_alive and eviction count from it.
    last_used: float | None = None
    settled: bool = False  # loaded once: the capabilities its load decides are known
    #: Its start-up load (`preload`) is over, or there is none: readiness waits for nothing more.
    started: bool = True

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def need(self) -> int:
        """What a load of it will take: its measure from an earlier load, else its files' size."""
        return self.measured if self.measured is not None else self.estimated

    @property
    def held(self) -> int:
        return self.need if self.state in _HOLDING else 0

    def describe(self) -> ModelResidency:
        status = "unloaded" if self.state == "unloading" else self.state
        return ModelResidency(
            status=status,
            memory_bytes=self.need or None,  # its measure once loaded, else its files' size
            last_used_at=int(self.last_used) if self.last_used is not None else None,
        )


class ModelManager:
    """Keeps each device's models within its budget (see the module's docstring)."""

    def __init__(
        self,
        settings: EngineSettings,
        metrics: EngineMetrics,
        device_memory: Callable[[str], int] | None = None,
    ) -> None:
        self.settings, self.metrics = settings, metrics
        self._device_memory = device_memory
        self._cond = threading.Condition()
        self._residents: dict[str, Resident] = {}
        self._waiting_since: dict[str, float] = {}  # unloaded models waiting for room, since when
        self._budgets: dict[str, int] = {}
        self._closed = False
        self._reaper: threading.Thread | None = None

    def budget(self, device: str) -> int:
        """Bytes of weights `device` may hold."""
        if device not in self._budgets:
            if self.settings.memory_budget_gb is not None:
                self._budgets[device] = round(self.settings.memory_budget_gb * 2**30)
            else:
                total = (self._device_memory or _device_memory)(device)
                self._budgets[device] = max(0, total - round(self.settings.memory_headroom_gb * 2**30))
            self.metrics.memory_budget.labels(device).set(self._budgets[device])
        return self._budgets[device]

    def add(self, resident: Resident) -> None:
        """Take charge of a model; one whose weights exceed its device's whole budget stops the start."""
        resident.estimated = resident.backend.estimate_bytes()
        budget = self.budget(resident.device)
        if resident.estimated > budget:
            raise ConfigurationError(
                f"model {resident.name!r} needs {_gib(resident.estimated)} for its weights, more than the "
                f"memory budget of {resident.device} ({_gib(budget)}): raise engine.memory_budget_gb, "
                "lower memory_headroom_gb, give it another device or a smaller dtype"
            )
        self._residents[resident.name] = resident

    def plan_preloads(self, wanted: list[str]) -> list[str]:
        """Of the models to load at start, in configuration order, those that fit beside the ones
        before them (the rest load on their first request); they count against the budget from now."""
        planned = []
        with self._cond:
            for name in wanted:
                resident = self._residents[name]
                if self._room_for(resident) == []:
                    resident.state, resident.started = "loading", False
                    planned.append(name)
                else:
                    logger.warning(
                        "model %s (%s) does not fit in the memory budget of %s beside %s: it loads on its "
                        "first request",
                        name,
                        _gib(resident.need),
                        resident.device,
                        ", ".join(planned),
                    )
        return planned

    def preload(self, resident: Resident) -> None:
        """The start-up load planned by `plan_preloads` (on the model's own worker thread)."""
        self._load(resident, on_demand=False)
        with self._cond:
            resident.started = True

    def acquire(
        self, resident: Resident, wanted: Callable[[], bool] = lambda: True, *, patient: bool = False
    ) -> bool:
        """Block until `resident` is loaded (loading it, after making room, when it is not), then count it
        in use until :meth:`release`. False, holding nothing, once `wanted()` turns false while waiting;
        `Unavailable` when its load failed. `patient` (a pass of batch lines): for its first
        `batch_swap_idle_s` of waiting, room is made only of models idle that long, and no model is
        made to step aside; after that it asks as any request does, so batch work costs the models
        in use at most one swap each `batch_swap_idle_s` and never waits for ever."""
        patience = self.settings.batch_swap_idle_s if patient else 0.0
        since = time.monotonic()
        with self._cond:
            while True:
                if resident.state == "failed":
                    raise Unavailable(f"The model `{resident.name}` could not be loaded: {resident.failure}")
                if resident.state == "ready" and not self._should_step_aside(resident):
                    resident.active += 1
                    return True
                idle_for = patience if time.monotonic() - since < patience else 0.0
                victims = self._room_for(resident, idle_for) if resident.state == "unloaded" else None
                if victims is not None:
                    self._waiting_since.pop(resident.name, None)
                    resident.state = "loading"
                    for victim in victims:
                        victim.state = "unloading"
                    break
                if not wanted():
                    self._waiting_since.pop(resident.name, None)
                    return False
                if resident.state == "unloaded" and not idle_for:
                    self._waiting_since.setdefault(resident.name, time.monotonic())
                self._cond.wait(_POLL_S)
        for victim in victims:
            self._unload(victim, "evicted")
        loaded = self._load(resident)
        with self._cond:  # taken at once: a model just loaded never steps aside before its first pass
            if not loaded:
                raise Unavailable(f"The model `{resident.name}` could not be loaded: {resident.failure}")
            resident.active += 1
            return True

    def release(self, resident: Resident) -> None:
        with self._cond:
            resident.active -= 1
            resident.last_used = time.time()
            self._cond.notify_all()

    def warm(self, resident: Resident, wait_s: float) -> None:
        """Load `resident` in the background, if it is not loaded, so the requests that must know what
        its load decides find it loaded when they come back (they are answered 503 `model_loading`)."""
        with self._cond:
            if resident.state != "unloaded" or resident.name in self._waiting_since:
                return
            self._waiting_since[resident.name] = time.monotonic()
        deadline = time.monotonic() + wait_s

        def load() -> None:
            try:
                if self.acquire(resident, lambda: time.monotonic() < deadline and not self._closed):
                    self.release(resident)
            except Unavailable:
                pass  # logged by the load; its requests are told

        threading.Thread(target=load, name=f"gazo-warm-{resident.name}", daemon=True).start()

    def memory(self) -> dict[str, dict[str, int]]:
        """Per device: its budget and what the models' weights take (or are about to)."""
        with self._cond:
            devices = sorted({r.device for r in self._residents.values()})
            return {
                device: {
                    "budget_bytes": self.budget(device),
                    "used_bytes": sum(r.held for r in self._residents.values() if r.device == device),
                }
                for device in devices
            }

    def describe(self) -> dict[str, ModelResidency]:
        with self._cond:
            return {name: resident.describe() for name, resident in self._residents.items()}

    def start_reaper(self) -> None:
        """Unload models idle past their `keep_alive` (a thread, only if a model has one)."""
        if self._reaper is None and any(r.keep_alive_s is not None for r in self._residents.values()):
            self._reaper = threading.Thread(target=self._reap, name="gazo-keep-alive", daemon=True)
            self._reaper.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _reap(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now, expired = time.time(), []
                for resident in self._residents.values():
                    alive = resident.keep_alive_s
                    idle = resident.state == "ready" and resident.active == 0 and not resident.waiting()
                    if alive is not None and idle and now - (resident.last_used or now) >= alive:
                        resident.state = "unloading"
                        expired.append(resident)
                if not expired:
                    self._cond.wait(1.0)
            for resident in expired:
                self._unload(resident, "keep_alive")

    def _room_for(self, resident: Resident, idle_for: float = 0.0) -> list[Resident] | None:
        """The idle models to unload so that `resident` fits ([] = it fits now); None when it cannot fit
        until a busy model finishes its pass. Unloading candidates go idle-without-work first, then
        least recently used. With `idle_for`, only models without queued work whose last pass ended
        that many seconds ago are candidates."""
        others = [r for r in self._residents.values() if r.device == resident.device and r is not resident]
        excess = sum(r.held for r in others) + resident.need - self.budget(resident.device)
        if excess <= 0:
            return []
        idle = [r for r in others if r.state == "ready" and r.active == 0]
        if idle_for:
            since = time.time() - idle_for
            idle = [r for r in idle if not r.waiting() and (r.last_used or 0.0) <= since]
        idle.sort(key=lambda r: (r.waiting() > 0, r.last_used or 0.0))
        victims = []
        for candidate in idle:
            victims.append(candidate)
            excess -= candidate.held
            if excess <= 0:
                return victims
        return None

    def _should_step_aside(self, resident: Resident) -> bool:
        """Whether a loaded idle model should leave its device to a model that has waited for room
        `swap_after_s` (and could then load)."""
        if resident.active or not self._waiting_since:
            return False
        now = time.monotonic()
        for name, since in self._waiting_since.items():
            waiter = self._residents[name]
            if waiter.device == resident.device and now - since >= self.settings.swap_after_s:
                room = self._room_for(waiter)
                if room is not None and resident in room:
                    return True
        return False

    def _load(self, resident: Resident, *, on_demand: bool = True) -> bool:
        """Load outside the lock (state `loading`, its estimate already counted), then settle; whether
        it loaded. Loads on demand are logged (the backend logs its own at start, in a quiet start)."""
        backend, started = resident.backend, time.monotonic()
        try:
            backend.load(backend.context.device)
        except Exception as error:
            logger.exception("model %s failed to load", resident.name)
            with self._cond:
                resident.state, resident.failure, resident.started = "failed", str(error), True
                self._cond.notify_all()
            return False
        measured = backend.resident_bytes()
        seconds = time.monotonic() - started
        with self._cond:
            resident.state, resident.settled = "ready", True
            resident.measured = measured or resident.measured
            resident.last_used = time.time()
            over = self._room_for(resident) or []  # its files told less than it took: trim the others
            for victim in over:
                victim.state = "unloading"
            self._cond.notify_all()
        self.metrics.model_loads.labels(resident.name).inc()
        self.metrics.model_load_seconds.labels(resident.name).observe(seconds)
        self.metrics.model_memory.labels(resident.name).set(resident.need)
        logger.log(
            logging.INFO if on_demand else logging.DEBUG,
            "model %s loaded on %s in %.2f s (%s)",
            resident.name,
            resident.device,
            seconds,
            _gib(resident.need),
        )
        for victim in over:
            self._unload(victim, "evicted")
        return True

    def _unload(self, resident: Resident, reason: str) -> None:
        started = time.monotonic()
        try:
            resident.backend.unload()
        except Exception:  # its memory may still be held; the budget cannot tell, so say it loudly
            logger.exception("model %s failed to unload", resident.name)
        seconds = time.monotonic() - started
        with self._cond:
            resident.state = "unloaded"
            self._cond.notify_all()
        self.metrics.model_unloads.labels(resident.name, reason).inc()
        self.metrics.model_unload_seconds.labels(resident.name).observe(seconds)
        self.metrics.model_memory.labels(resident.name).set(0)
        logger.info(
            "model %s unloaded (%s) in %.2f s, %s freed", resident.name, reason, seconds, _gib(resident.need)
        )


def _device_memory(device: str) -> int:
    from gazo.backends.devices import device_memory_bytes

    return device_memory_bytes(device)


def _gib(size: int) -> str:
    if not size:
        return "an unknown size"
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"
