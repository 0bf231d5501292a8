"""DALL-E clients: `dall-e-2`/`dall-e-3`, their sizes, `quality` standard/hd, `style`, `revised_prompt`."""

from __future__ import annotations

import pytest

from gazo.backends.builtin.backend import BuiltinBackend
from gazo.billing.tokens import image_output_tokens
from gazo.jobs import Size
from gazo.service.checks import STYLE_PROMPTS, size_problem
from tests.support.pixels import decode_b64
from tests.support.server import GazoServer

DALLE_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
}


@pytest.mark.parametrize(
    ("model", "size"), [(model, size) for model, sizes in DALLE_SIZES.items() for size in sizes]
)
def test_every_dall_e_size_renders(server: GazoServer, model: str, size: str) -> None:
    result = server.client().images.generate(model=model, prompt="a red fox", size=size, quality="low")  # type: ignore[arg-type]
    width, height = Size.parse(size).width, Size.parse(size).height
    assert decode_b64(result.data[0].b64_json)[0].size == (width, height)
    assert result.size == size


def test_the_builtin_default_model_accepts_every_dall_e_size() -> None:
    capabilities = BuiltinBackend.capabilities.model_copy(
        update={"max_side": 2048, "max_pixels": 2048 * 2048}
    )
    for sizes in DALLE_SIZES.values():
        assert all(size_problem(Size.parse(size), capabilities) is None for size in sizes)


def test_dall_e_names_default_to_1024_square(server: GazoServer) -> None:
    result = server.client().images.generate(model="dall-e-2", prompt="a boat", quality="low")
    assert result.size == "1024x1024"
    assert result.data[0].revised_prompt is None  # dall-e-2 has no prompt revision


@pytest.mark.parametrize(("quality", "gazo_quality"), [("hd", "high"), ("standard", "medium")])
def test_dall_e_qualities_map_to_gazo_qualities_and_bill_as_them(
    server: GazoServer, quality: str, gazo_quality: str
) -> None:
    result = server.client().images.generate(
        model="dall-e-3",
        prompt="a lantern",
        size="1024x1024",
        quality=quality,  # type: ignore[arg-type]
    )
    assert result.quality == gazo_quality
    assert result.usage.output_tokens == image_output_tokens(1024, 1024, gazo_quality)


def test_dall_e_3_revises_its_prompt_with_the_vivid_style_by_default(server: GazoServer) -> None:
    prompt = "a lighthouse in a storm"
    result = server.client().images.generate(model="dall-e-3", prompt=prompt, size="1024x1024", quality="hd")
    assert result.data[0].revised_prompt == prompt + STYLE_PROMPTS["vivid"]
    assert (
        result.usage.input_tokens_details.text_tokens
        == server.client()
        .images.generate(model="gpt-image-1", prompt=prompt, size="64x64", quality="low")
        .usage.input_tokens_details.text_tokens
    )  # billed on the user's text, not the style addition


def test_style_is_accepted_on_any_model_and_changes_the_rendered_prompt(server: GazoServer) -> None:
    client = server.client()
    revised = {}
    for style in ("vivid", "natural"):
        result = client.images.generate(
            prompt="a cat",
            size="64x64",
            quality="low",
            style=style,
            extra_body={"seed": 3},  # type: ignore[arg-type]
        )
        revised[style] = result.data[0].revised_prompt
    assert revised == {style: "a cat" + addition for style, addition in STYLE_PROMPTS.items()}
    plain = client.images.generate(prompt="a cat", size="64x64", quality="low")
    assert plain.data[0].revised_prompt is None  # no style, no DALL-E 3: nothing was revised
