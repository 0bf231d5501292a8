"""The hooks plugins implement. Built-in backends register through the same hooks as third-party ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("gazo")
hookimpl = pluggy.HookimplMarker("gazo")

#: ``register(name, backend_class)``: make a backend class available under `name` in `[[models]]`.
RegisterBackend = Callable[[str, type[Any]], None]


@hookspec
def register_backends(register: RegisterBackend) -> None:
    """Register backend classes by name.

    Called once per process (and again in every Ray replica), so implementations must be
    idempotent: register classes, never load weights here — backends load lazily.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the `gazo` command line (`cli` is the root click group)."""
