"""Edits with several images: how the model used the references, told in the response and the credentials."""

from __future__ import annotations

from typing import Any

from PIL import Image

from tests.support.credentials import active_manifest, read_credentials, trust_anchor
from tests.support.memory import edit_at_peak, flat_png
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer


def solid(colour: tuple[int, int, int]) -> bytes:
    return png_bytes(Image.new("RGB", (128, 128), colour))


def edit_with_references(server: GazoServer, *references: bytes) -> tuple[Any, Image.Image, bytes]:
    images = [("photo.png", png_bytes(photo()), "image/png")]
    images += [(f"reference_{index}.png", data, "image/png") for index, data in enumerate(references)]
    result = server.client().images.edit(
        image=images,
        prompt="the same scene in these colours",
        size="256x256",
        quality="low",
        extra_body={"seed": 3},
    )
    return (result, *decode_b64(result.data[0].b64_json))  # type: ignore[arg-type]


def test_the_reference_mode_is_in_the_response_and_the_credentials(server: GazoServer) -> None:
    result, _, data = edit_with_references(server, solid((220, 30, 30)), solid((230, 200, 40)))
    assert result.gazo == {"references": {"mode": "init+colour", "count": 2}}  # the SDK keeps extra fields
    state, store = read_credentials(data, trust_anchor(server.base_url))
    manifest = active_manifest(store)
    assert state == "Trusted"
    assert [(i["title"], i["relationship"]) for i in manifest["ingredients"]] == [
        ("photo.png", "parentOf"),
        ("reference_0.png", "inputTo"),
        ("reference_1.png", "inputTo"),
    ]
    rendering = next(a["data"] for a in manifest["assertions"] if a["label"] == "gazo.rendering")
    assert rendering == {"references": {"mode": "init+colour", "count": 2}}


def test_a_single_image_edit_reports_no_references(server: GazoServer) -> None:
    result = server.client().images.edit(
        image=("photo.png", png_bytes(photo()), "image/png"), prompt="autumn", size="256x256", quality="low"
    )
    assert "gazo" not in (result.model_extra or {})


def test_sixteen_6000px_images_are_edited_in_under_1_gb(server: GazoServer) -> None:
    """Issue #15: 16 images of 6000x6000 (small PNGs) once took 15-18 GB; references are now shrunk as
    they are decoded, one at a time, and colour statistics come from small samples."""
    edit_with_references(server, solid((220, 30, 30)))  # every lazy part of the edit path is loaded
    images = [flat_png(6000, 6000, seed) for seed in range(16)]
    result, growth, seconds = edit_at_peak(
        server, images, prompt="the same scene in these colours", size="256x256", quality="low"
    )
    print(f"16 x 6000x6000 edit (tiny SD): peak RSS +{growth / 2**20:.0f} MiB, {seconds:.1f} s")
    assert result.gazo == {"references": {"mode": "init+colour", "count": 15}}
    assert growth < 2**30, f"the server grew by {growth / 2**20:.0f} MiB"
