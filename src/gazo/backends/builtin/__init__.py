"""The built-in engine: a design compositor that makes useful images offline, on a CPU, in under a second.

Registered as the backend `builtin` through the same plugin hook as third-party backends. Its
heavy parts (the embedding model, the icon set, the fonts) load in `BuiltinBackend.load`, never at
import or registration.
"""

from __future__ import annotations

from gazo import plugins
from gazo.backends.builtin.backend import BuiltinBackend, BuiltinOptions

__all__ = ["BuiltinBackend", "BuiltinOptions"]


@plugins.hookimpl
def register_backends(register: plugins.RegisterBackend) -> None:
    register("builtin", BuiltinBackend)
