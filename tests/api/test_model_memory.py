"""Two models in a memory budget that fits one, through a real server and the openai SDK: `/v1/models`
and `/readyz` tell where each model's weights are, and each request swaps its model in."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest

from gazo.backends.footprint import weights_bytes
from tests.support.keys import create_key
from tests.support.noise_models import NOISE_MODEL_MODERATION
from tests.support.pixels import centre_mask, photo, png_bytes
from tests.support.server import GazoServer
from tests.support.tiny_models import built_tiny_sd

CONFIG = (
    NOISE_MODEL_MODERATION
    + """
[engine]
memory_budget_gb = {budget}

[[models]]
name = "first"
backend = "tiny"
source = "{first}"

[[models]]
name = "second"
backend = "tiny"
source = "{second}"
preload = false
"""
)


def states(client: openai.OpenAI) -> dict[str, dict[str, object]]:
    return {m.id: (m.model_extra or {}) for m in client.models.list() if m.id in ("first", "second")}


def wait_until_ready(client: openai.OpenAI, model: str) -> None:
    deadline = time.monotonic() + 60
    while states(client)[model]["status"] != "ready":
        assert time.monotonic() < deadline, states(client)
        time.sleep(0.1)


def test_models_swap_in_a_budget_for_one_and_say_so(
    shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = built_tiny_sd(shared_data_dir)
    size = weights_bytes(shared, 4)
    root = tmp_path_factory.mktemp("memory")
    folders = {}
    for name in ("first", "second"):  # two models, two folders (links to the session's tiny SD)
        folders[name] = root / name
        folders[name].symlink_to(shared, target_is_directory=True)
    config = root / "gazo.toml"
    config.write_text(CONFIG.format(budget=1.5 * size / 2**30, **folders))
    keys = {
        name: create_key(root / "data", name, *limits)
        for name, limits in (("a", ("--admin",)), ("b", ("--rpm", "1")))
    }
    with GazoServer(root / "data", config=config) as server:
        client, one_a_minute = server.client(keys["a"]), server.client(keys["b"])
        ready = httpx.get(f"{server.base_url}/readyz", timeout=10).json()
        assert ready["models"] == {"first": "ready", "second": "unloaded"}
        assert 0 < ready["memory"]["cpu"]["used_bytes"] <= ready["memory"]["cpu"]["budget_bytes"]
        models = states(client)
        assert models["first"]["status"] == "ready" and models["second"]["status"] == "unloaded"
        assert size <= models["second"]["memory_bytes"] <= size * 1.01  # told from its files, unloaded
        assert models["second"]["last_used_at"] is None

        # an inpainting edit must know what the never-loaded model can do: 503, and its load starts,
        # but only for a prompt that passes moderation, and as one of the caller's requests per minute
        image = ("in.png", png_bytes(photo(64, 64)), "image/png")
        mask = ("mask.png", png_bytes(centre_mask(64, 64, (16, 16, 48, 48))[0]), "image/png")
        edit = {"model": "second", "image": image, "mask": mask, "size": "64x64"}
        with pytest.raises(openai.BadRequestError) as flagged:
            one_a_minute.images.edit(prompt="naked woman lying on a bed, explicit, nsfw", **edit)
        assert flagged.value.code == "moderation_blocked"
        time.sleep(0.5)
        assert states(client)["second"]["status"] == "unloaded"
        with pytest.raises(openai.InternalServerError) as refused:
            one_a_minute.images.edit(prompt="a moon", **edit)
        assert refused.value.code == "model_loading"
        with pytest.raises(openai.RateLimitError):
            one_a_minute.images.edit(prompt="a moon", **edit)
        wait_until_ready(client, "second")
        assert states(client)["first"]["status"] == "unloaded"  # made room for it
        edited = client.images.edit(
            model="second", image=image, mask=mask, prompt="a moon", size="64x64", quality="low"
        )
        assert edited.data and edited.data[0].b64_json

        generated = client.images.generate(model="first", prompt="a hill", size="64x64", quality="low")
        assert generated.data and generated.data[0].b64_json
        models = states(client)
        assert models["first"]["status"] == "ready" and models["second"]["status"] == "unloaded"
        assert isinstance(models["second"]["last_used_at"], int)
        auth = {"Authorization": f"Bearer {keys['a']}"}
        metrics = httpx.get(f"{server.base_url}/metrics", headers=auth, timeout=10).text
        assert 'gazo_model_unloads_total{model="first",reason="evicted"} 1.0' in metrics
        assert 'gazo_model_unloads_total{model="second",reason="evicted"} 1.0' in metrics
        assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
