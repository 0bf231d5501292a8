"""The plugin manager: built-in plugins and third-party ones from the `gazo` entry-point group."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import pluggy

from gazo import hookspecs
from gazo.hookspecs import RegisterBackend, hookimpl

__all__ = ["DEFAULT_PLUGINS", "RegisterBackend", "backend_classes", "hookimpl", "load_plugins"]

#: Modules that register gazo's own backends, in the same way a third-party plugin would.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "gazo.backends.diffusers",
    "gazo.backends.tiny_default",
    "gazo.backends.builtin",
    "gazo.backends.simulated",
)


def load_plugins(
    allow: Iterable[str] | None = None, *, entry_points: bool = True, builtins: bool = True
) -> pluggy.PluginManager:
    """A fresh plugin manager; `allow` (settings `plugins` / `GAZO_PLUGINS`) restricts what loads.

    `builtins=False` skips gazo's own plugins (they import torch), for callers that only want
    third-party hooks such as `register_commands`.
    """
    allowed = set(allow) if allow is not None else None
    manager = pluggy.PluginManager("gazo")
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS if builtins else ():
        if allowed is None or name in allowed:
            manager.register(importlib.import_module(name), name=name)
    if entry_points:
        manager.load_setuptools_entrypoints("gazo")
        if allowed is not None:
            for name, plugin in list(manager.list_name_plugin()):
                if name not in allowed and name not in DEFAULT_PLUGINS:
                    manager.unregister(plugin)
    return manager


def backend_classes(manager: pluggy.PluginManager) -> dict[str, type[Any]]:
    """Every registered backend class by name; a name registered twice is an error, not a silent override."""
    classes: dict[str, type[Any]] = {}

    def register(name: str, backend_class: type[Any]) -> None:
        if name in classes and classes[name] is not backend_class:
            raise ValueError(
                f"backend {name!r} is registered twice ({classes[name]!r} and {backend_class!r})"
            )
        classes[name] = backend_class

    manager.hook.register_backends(register=register)
    return classes
