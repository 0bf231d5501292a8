"""The README's first command serves the built-in engine: the real default, through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.credentials import read_credentials, trust_anchor
from tests.support.memory import edit_at_peak, flat_png
from tests.support.ocr import ocr_reader
from tests.support.pixels import centre_mask, changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    with GazoServer(tmp_path_factory.mktemp("default-data")) as running:  # no config at all
        yield running


def test_the_default_model_is_the_builtin_engine_and_says_so(default_server: GazoServer) -> None:
    models = {model.id: model for model in default_server.client().models.list()}
    assert "gazo-builtin" in models and models["gpt-image-1"].model_extra["alias_of"] == "gazo-builtin"
    assert "not a diffusion model" in models["gazo-builtin"].model_extra["description"]


def test_a_colour_prompt_gives_that_colour_and_signed_credentials(default_server: GazoServer) -> None:
    result = default_server.client().images.generate(
        model="gpt-image-1", prompt="a red apple on a blue background", size="1024x1024", quality="low"
    )
    image, data = decode_b64(result.data[0].b64_json)
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    border = np.concatenate([pixels[:40].reshape(-1, 3), pixels[-40:].reshape(-1, 3)])
    red, green, blue = border.mean(axis=0)
    assert blue > red + 30 and blue > green
    state, store = read_credentials(data, trust_anchor(default_server.base_url))
    assert state == "Trusted" and "gazo-builtin" in str(store)


def test_stream_partials_transparency_and_mask_edit(default_server: GazoServer) -> None:
    client = default_server.client()
    events = list(
        client.images.generate(prompt="a cat sticker", size="512x512", stream=True, partial_images=3)
    )
    assert [e.type for e in events].count("image_generation.partial_image") == 3
    assert events[-1].type == "image_generation.completed"
    cut = client.images.generate(prompt="a cat sticker", size="512x512", background="transparent")
    alpha = np.asarray(decode_b64(cut.data[0].b64_json)[0])[..., 3]
    assert (alpha == 0).mean() > 0.2 and (alpha == 255).mean() > 0.05
    original = photo()
    mask, keep = centre_mask(256, 256, (64, 64, 192, 192))
    edited = client.images.edit(
        image=("p.png", png_bytes(original), "image/png"),
        mask=("m.png", png_bytes(mask), "image/png"),
        prompt="a dog",
    )
    result = decode_b64(edited.data[0].b64_json)[0]
    assert changed_pixels(original, result, where=keep) == 0
    assert changed_pixels(original, result, where=~keep) > 0


def test_text_field_is_set_natively_beside_the_quoted_text(default_server: GazoServer) -> None:
    result = default_server.client().images.generate(
        prompt="a bakery poster 'Fresh Bread'",
        size="768x768",
        quality="medium",
        extra_body={"text": "朝7時から"},
    )
    assert (result.model_extra or {})["gazo"]["text"] == {
        "mode": "native",
        "strings": ["Fresh Bread", "朝7時から"],
        "left_to_model": [],
    }
    read = ocr_reader()(decode_b64(result.data[0].b64_json)[0])
    assert "FreshBread" in read and "朝7時から" in read


def test_references_are_placed_and_recorded_as_components(default_server: GazoServer) -> None:
    images = [(f"{seed}.png", png_bytes(photo(seed=seed)), "image/png") for seed in (0, 3)]
    result = default_server.client().images.edit(image=images, prompt="a cosy room", size="512x512")
    assert result.gazo == {"references": {"mode": "placed+palette", "count": 1}}
    _, data = decode_b64(result.data[0].b64_json)
    _, store = read_credentials(data, trust_anchor(default_server.base_url))
    manifest = store["manifests"][store["active_manifest"]]
    assert [i["relationship"] for i in manifest["ingredients"]] == ["parentOf", "componentOf"]
    assert "c2pa.placed" in str(manifest["assertions"])


def test_readme_gallery_is_checked_in() -> None:
    gallery = Path(__file__).resolve().parents[2] / "docs" / "gallery"
    images = sorted(gallery.glob("*.webp"))
    assert len(images) >= 4 and sum(path.stat().st_size for path in images) < 400_000


def test_sixteen_6000px_images_are_placed_in_under_1_gb(default_server: GazoServer) -> None:
    """Issue #15 on the built-in engine, which places references in the picture and takes its palette."""
    images = [flat_png(6000, 6000, seed) for seed in range(16)]
    warm_up = [png_bytes(photo()), png_bytes(photo(seed=1))]  # every lazy part of the edit path is loaded
    edit_at_peak(default_server, warm_up, prompt="warm up", size="512x512", quality="low")
    result, growth, seconds = edit_at_peak(
        default_server, images, prompt="these on a table", size="512x512", quality="low"
    )
    print(f"16 x 6000x6000 edit (built-in): peak RSS +{growth / 2**20:.0f} MiB, {seconds:.1f} s")
    assert result.gazo == {"references": {"mode": "placed+palette", "count": 15}}
    assert growth < 2**30, f"the server grew by {growth / 2**20:.0f} MiB"
