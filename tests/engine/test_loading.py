"""Requests sent while a model loads, against a real server whose tiny SD model is held mid-load.

What a diffusers pipeline can do (edit, inpaint, how it sets text, how it uses references) is known
only once it is loaded. A request that depends on it gets 503 `model_loading` with `Retry-After`
(never a 400 judged by the pre-load placeholders, never text silently left to the model); the openai
SDK retries it on its own. A request that depends on none of it queues and runs once the load ends.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import openai
import pytest

from tests.support.noise_models import NOISE_MODEL_MODERATION
from tests.support.pixels import centre_mask, photo, png_bytes
from tests.support.server import GazoServer
from tests.support.tiny_models import built_tiny_sd

MODEL = "held-tiny-sd"
CONFIG = (
    NOISE_MODEL_MODERATION
    + """
[[models]]
name = "held-tiny-sd"
backend = "tiny"
source = "{source}"
"""
)


class HeldLoad:
    """The tiny backend builds or loads its folder under an exclusive lock next to it: holding that lock
    keeps the server's model loading for as long as the test wants."""

    def __init__(self, folder: Path) -> None:
        self.path = folder.parent / f".{folder.name}.lock"
        self.file: IO[str] | None = None

    def hold(self) -> None:
        self.file = self.path.open("w")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing drops the lock
            self.file = None


@pytest.fixture(scope="module")
def loading(
    shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GazoServer, HeldLoad]]:
    """A server whose model is loading until the test releases it: a link to the session's tiny SD
    folder (built here if no server built it yet), so the lock is this module's own."""
    shared = built_tiny_sd(shared_data_dir)
    root = tmp_path_factory.mktemp("held")
    folder = root / "models" / MODEL
    folder.parent.mkdir(parents=True)
    folder.symlink_to(shared, target_is_directory=True)
    config = root / "gazo.toml"
    config.write_text(CONFIG.format(source=folder))
    held = HeldLoad(folder)
    held.hold()
    running = GazoServer(root / "data", config=config)
    try:
        yield running.start(wait_for_models=False), held
    finally:
        held.release()
        running.stop()


def test_requests_that_depend_on_the_load_wait_for_it_and_the_rest_queue(
    loading: tuple[GazoServer, HeldLoad],
) -> None:
    server, held = loading
    client = server.client()
    assert httpx.get(f"{server.base_url}/readyz", timeout=5).status_code == 503  # the model is loading

    # `text`, quoted text and edits depend on what the pipeline turns out to be: 503, never a wrong 400
    image = ("in.png", png_bytes(photo(64, 64)), "image/png")
    mask = ("mask.png", png_bytes(centre_mask(64, 64, (16, 16, 48, 48))[0]), "image/png")
    for send in (
        lambda: client.images.generate(prompt="a sign", size="64x64", extra_body={"text": "OPEN"}),
        lambda: client.images.generate(prompt='a sign that says "OPEN"', size="64x64"),
        lambda: client.images.edit(image=image, prompt="a moon", size="64x64"),
        lambda: client.images.edit(image=image, mask=mask, prompt="a moon", size="64x64"),
    ):
        with pytest.raises(openai.InternalServerError) as refused:
            send()
        assert refused.value.status_code == 503
        assert refused.value.code == "model_loading", refused.value.body
        assert refused.value.response.headers["retry-after"] == "5"

    # a plain generation depends on nothing the load decides: it queues behind the load
    plain: list[openai.types.ImagesResponse] = []
    waiting = threading.Thread(
        target=lambda: plain.append(client.images.generate(prompt="a hill", size="64x64", quality="low"))
    )
    waiting.start()
    waiting.join(2)
    assert waiting.is_alive() and not plain  # still waiting for the model

    # the openai SDK retries the 503 by itself, after `Retry-After`: its user sees the loaded answer
    retrying = server.client().with_options(max_retries=5, timeout=60)  # 5 s apart: up to 25 s of load
    threading.Timer(1.0, held.release).start()
    result = retrying.images.generate(
        prompt="a sign", size="64x64", quality="low", extra_body={"text": "OPEN"}
    )
    assert (result.model_extra or {})["gazo"]["text"]["mode"] == "typeset+harmonise"
    waiting.join(60)
    assert plain and plain[0].data and plain[0].data[0].b64_json

    edited = client.images.edit(image=image, mask=mask, prompt="a moon", size="64x64", quality="low")
    assert edited.data and edited.data[0].b64_json
