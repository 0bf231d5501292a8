"""The built-in engine loaded once per session, and an OCR reader to check typeset text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image

from gazo.backends.base import BackendContext
from gazo.backends.builtin import BuiltinBackend
from gazo.jobs import GenerateJob, Size
from tests.support.ocr import ocr_reader


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> BuiltinBackend:
    context = BackendContext(cache_dir=tmp_path_factory.mktemp("builtin-cache"))
    loaded = BuiltinBackend("builtin", "builtin", BuiltinBackend.Options(), context)
    loaded.load(None)
    return loaded


@pytest.fixture(scope="session")
def generate(backend: BuiltinBackend) -> Callable[..., list[Image.Image]]:
    def run(prompt: str, size: str = "768x768", **fields: object) -> list[Image.Image]:
        job = GenerateJob(prompt=prompt, model="builtin", size=Size.parse(size), quality="medium", **fields)
        return backend.generate(job, lambda *_: None)

    return run


@pytest.fixture(scope="session")
def read_text() -> Callable[[Image.Image], str]:
    """OCR (RapidOCR's PP-OCR models, English and Japanese) with the settings that read banners well."""
    return ocr_reader()
