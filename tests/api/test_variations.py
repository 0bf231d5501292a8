"""`client.images.create_variation`: an edit of one image with a fixed prompt, on any model that can edit."""

from __future__ import annotations

import io

import httpx
import openai
import pytest
from PIL import Image

from gazo.api.protocol import VARIATION_PROMPT, ImageCreateVariationRequest
from gazo.backends.base import Capabilities
from gazo.billing.tokens import count_usage
from gazo.engine.base import ModelInfo
from gazo.errors import UnsupportedParameter
from gazo.jobs import Upload
from gazo.service.checks import prepare
from gazo.settings import ServerSettings
from tests.support.credentials import actions, active_manifest, read_credentials, trust_anchor
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer


def test_variations_are_signed_edits_of_the_input_billed_as_edits(server: GazoServer) -> None:
    result = server.client().images.create_variation(
        image=("cup.png", png_bytes(photo(256, 256)), "image/png"), n=2, size="512x512"
    )
    assert len(result.data) == 2
    anchor = trust_anchor(server.base_url)
    for item in result.data:
        image, data = decode_b64(item.b64_json)
        assert image.size == (512, 512) and item.revised_prompt is None
        state, store = read_credentials(data, anchor)
        manifest = active_manifest(store)
        assert state == "Trusted" and "c2pa.edited" in actions(manifest)
        assert manifest["ingredients"][0]["title"] == "cup.png"
    expected = count_usage(
        prompt=VARIATION_PROMPT,
        n=2,
        width=512,
        height=512,
        quality="medium",
        input_images=[(256, 256)],
        input_fidelity="high",
    )
    usage = result.usage
    assert usage is not None
    assert usage.input_tokens_details.image_tokens == expected.image_input_tokens > 0
    assert usage.output_tokens == expected.image_output_tokens


def test_a_variation_can_come_back_as_a_url(server: GazoServer) -> None:
    result = server.client().images.create_variation(
        image=("in.png", png_bytes(photo(64, 64)), "image/png"), response_format="url"
    )
    answer = httpx.get(str(result.data[0].url), timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(answer.content)).size == (64, 64)


def test_variation_refuses_what_it_does_not_take(server: GazoServer) -> None:
    client = server.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.create_variation(
            image=("in.png", png_bytes(photo(64, 64)), "image/png"), extra_body={"prompt": "x"}
        )
    assert caught.value.code == "unknown_parameter"
    answer = httpx.post(
        f"{server.base_url}/v1/images/variations",
        data={"n": "1"},
        headers={"authorization": "Bearer gz-test"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "image"


def test_a_model_that_cannot_edit_makes_no_variations() -> None:
    painter = ModelInfo(
        name="painter",
        description="",
        capabilities=Capabilities(edit=False).model_dump(),
        default_size="1024x1024",
        default_quality="medium",
    )
    request = ImageCreateVariationRequest(n=1).to_variation_request(Upload(png_bytes(photo(64, 64))))
    assert request.input_fidelity == "high" and request.prompt == VARIATION_PROMPT
    with pytest.raises(UnsupportedParameter, match="`painter` cannot edit images") as refused:
        prepare(request, painter, ServerSettings())
    assert refused.value.status == 400 and refused.value.param == "image"
