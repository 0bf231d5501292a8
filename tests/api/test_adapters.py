"""LoRA adapters as brand styles, through a real server and the official SDK: an adapter is a model name
of its own that renders on its base model; where the operator allows it, a request picks adapters by
name (`lora`); the adapter is named in the response's `gazo` field and in the Content Credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import openai
import pytest

from gazo.provenance.manifest import RENDERING_LABEL
from tests.support.adapters import LORA_FILE, save_tiny_sd_with_lora
from tests.support.credentials import active_manifest, read_credentials, trust_anchor
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer

CONFIG = """
[[models]]
name = "brand-base"
backend = "diffusers"
source = "{base}"
request_adapters = true
[models.options]
steps = {{ low = 2 }}
default_size = "64x64"
default_quality = "low"
[[models.adapters]]
name = "acme-brand"
source = "{lora}"
description = "Acme's house style"

[[models]]
name = "locked-base"
backend = "diffusers"
source = "{base}"
[models.options]
steps = {{ low = 2 }}
default_size = "64x64"
default_quality = "low"
[[models.adapters]]
name = "acme-file"
source = "{lora}/{file}"
weight = 0.5
"""
ACME = [{"name": "acme-brand", "weight": 1.0}]


@pytest.fixture(scope="module")
def adapter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    root = tmp_path_factory.mktemp("adapter-server")
    base, lora = save_tiny_sd_with_lora(root)
    config = root / "gazo.toml"
    config.write_text(CONFIG.format(base=base, lora=lora, file=LORA_FILE))
    with GazoServer(root / "data", config=config) as running:
        yield running


def generate(server: GazoServer, model: str, **extra: Any) -> tuple[np.ndarray, bytes, dict[str, Any]]:
    """(pixels, signed bytes, `gazo` field) of one 64x64 image with seed 7."""
    result = server.client().images.generate(
        prompt="a lighthouse", model=model, size="64x64", quality="low", extra_body={"seed": 7, **extra}
    )
    image, data = decode_b64(result.data[0].b64_json)
    return np.asarray(image.convert("RGB")), data, (result.model_extra or {}).get("gazo") or {}


def test_models_lists_each_adapter_with_its_base_model(adapter_server: GazoServer) -> None:
    client = adapter_server.client()
    models = {model.id: model.model_extra or {} for model in client.models.list()}
    assert models["acme-brand"]["base_model"] == "brand-base"
    assert models["acme-brand"]["description"] == "Acme's house style"
    assert models["acme-brand"].get("alias_of") is None
    assert models["brand-base"]["adapters"] == ["acme-brand"]
    assert models["locked-base"]["adapters"] == ["acme-file"]
    assert models["acme-brand"]["pricing"] == models["brand-base"]["pricing"]  # priced as its base model
    with pytest.raises(openai.NotFoundError, match="acme-brand"):  # model_not_found lists adapters
        client.images.generate(prompt="x", model="acme-typo", size="64x64")


def test_an_adapter_changes_the_picture_and_its_seed_reproduces_it(adapter_server: GazoServer) -> None:
    plain, _, plain_report = generate(adapter_server, "brand-base")
    branded, data, report = generate(adapter_server, "acme-brand")
    again, _, _ = generate(adapter_server, "acme-brand")
    assert np.abs(plain.astype(int) - branded.astype(int)).max() > 8
    assert np.array_equal(branded, again)
    assert "adapters" not in plain_report
    assert report["adapters"] == ACME
    state, store = read_credentials(data, trust_anchor(adapter_server.base_url))
    assert state == "Trusted"
    rendering = next(a["data"] for a in active_manifest(store)["assertions"] if a["label"] == RENDERING_LABEL)
    assert rendering["adapters"] == ACME


def test_a_request_picks_adapters_only_where_allowed(adapter_server: GazoServer) -> None:
    branded, _, _ = generate(adapter_server, "acme-brand")
    picked, _, report = generate(adapter_server, "brand-base", lora=ACME)
    assert np.array_equal(picked, branded)
    assert report["adapters"] == ACME
    for model, lora in [
        ("brand-base", [{"name": "acme-file"}]),  # another model's adapter
        ("brand-base", [{"name": "/etc/passwd"}]),  # never a path or a hub id
        ("locked-base", [{"name": "acme-file"}]),  # the operator does not allow per-request adapters
    ]:
        with pytest.raises(openai.BadRequestError) as refused:
            generate(adapter_server, model, lora=lora)
        assert refused.value.code == "invalid_value" and refused.value.param == "lora"
    with pytest.raises(openai.BadRequestError) as loud:
        generate(adapter_server, "brand-base", lora=[{"name": "acme-brand", "weight": 9}])
    assert loud.value.param is not None and "lora" in loud.value.param


def test_an_edit_takes_adapters_by_model_name_and_per_request(adapter_server: GazoServer) -> None:
    client, image = adapter_server.client(), png_bytes(photo(64, 64))
    for model, extra in [
        ("acme-file", {}),
        ("brand-base", {"lora": [{"name": "acme-brand", "weight": 0.5}]}),
    ]:
        result = client.images.edit(
            image=("in.png", image, "image/png"), prompt="a lighthouse", model=model, extra_body=extra
        )
        report = (result.model_extra or {})["gazo"]["adapters"]
        assert report == [{"name": "acme-file" if model == "acme-file" else "acme-brand", "weight": 0.5}]


def test_the_responses_image_tool_takes_a_seed_and_adapters_too(adapter_server: GazoServer) -> None:
    branded, _, _ = generate(adapter_server, "acme-brand")
    tool = {"type": "image_generation", "model": "brand-base", "size": "64x64", "quality": "low"}
    response = adapter_server.client().responses.create(
        model="gpt-5",
        input="a lighthouse",
        tools=[{**tool, "seed": 7, "lora": ACME}],  # type: ignore[list-item]
    )
    call = next(item for item in response.output if item.type == "image_generation_call")
    assert call.result is not None
    assert np.array_equal(np.asarray(decode_b64(call.result)[0].convert("RGB")), branded)
