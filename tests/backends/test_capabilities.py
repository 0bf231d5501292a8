"""Capabilities as one typed contract: known from the configuration before any load, completed once by
the load, and carried to the service (across Ray's process boundary too) as they are."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from pydantic import ValidationError

from gazo.backends.base import BackendContext, Capabilities
from gazo.backends.builtin.backend import BuiltinBackend, BuiltinOptions
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.engine.local import model_info

CONTEXT = BackendContext(cache_dir=Path("/tmp"))


def test_the_options_narrow_the_capabilities_before_any_load() -> None:
    options = DiffusersOptions(steps={"low": 4, "high": 20}, max_side=1024)
    backend = DiffusersBackend("d", "nowhere", options, CONTEXT)
    assert backend.capabilities.qualities == ("low", "high")
    assert (backend.capabilities.max_side, backend.capabilities.max_pixels) == (1024, 1024 * 1024)
    assert DiffusersBackend.capabilities.max_side == 3840  # the class's declaration is left alone

    builtin = BuiltinBackend("b", "builtin", BuiltinOptions(max_side=512), CONTEXT)
    assert (builtin.capabilities.max_side, builtin.capabilities.text) == (512, "native")


def test_only_what_the_load_decides_is_pending_while_it_loads() -> None:
    backend = DiffusersBackend("d", "nowhere", DiffusersOptions(), CONTEXT)
    loading, loaded = model_info(backend, loading=True), model_info(backend, loading=False)
    assert loading.pending == {"edit", "mask", "text", "references"} and not loaded.pending
    builtin = BuiltinBackend("b", "builtin", BuiltinOptions(), CONTEXT)
    assert not model_info(builtin, loading=True).pending  # everything it can do is known from its options


def test_a_load_may_settle_only_what_it_decides() -> None:
    backend = DiffusersBackend("d", "nowhere", DiffusersOptions(), CONTEXT)
    backend.settle(edit=True, mask=False, text="typeset", references="init+colour")
    assert (backend.capabilities.mask, backend.capabilities.text) == (False, "typeset")
    with pytest.raises(ValueError, match="max_side"):
        backend.settle(max_side=512)
    with pytest.raises(ValidationError):
        backend.settle(text="handwritten")  # modes are a closed set


def test_model_info_crosses_a_process_boundary_as_it_is() -> None:
    info = model_info(DiffusersBackend("d", "nowhere", DiffusersOptions(), CONTEXT), loading=True)
    copy = pickle.loads(pickle.dumps(info))
    assert copy == info and isinstance(copy.capabilities, Capabilities)
