"""Signing: every format reads `Trusted` with the deployment's root, says what it promises, fails closed."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image

from gazo.provenance import Ingredient, Provenance, ProvenanceError
from gazo.provenance.manifest import (
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    RENDERING_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
)
from gazo.settings import ProvenanceSettings
from tests.support.pixels import png_bytes

VERSION = "0.1.0"
MODEL = "gazo-tiny-sd"
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
NOT_ALLOWED = {
    "cawg.ai_generative_training": {"use": "notAllowed"},
    "cawg.ai_training": {"use": "notAllowed"},
    "cawg.ai_inference": {"use": "notAllowed"},
    "cawg.data_mining": {"use": "notAllowed"},
}


@pytest.fixture(scope="module")
def provenance(tmp_path_factory: pytest.TempPathFactory) -> Provenance:
    return Provenance.from_settings(
        ProvenanceSettings(), data_dir=tmp_path_factory.mktemp("data"), version=VERSION
    )


def _image(mime: str = "image/png", colour: tuple[int, int, int] = (30, 90, 160), size: int = 64) -> bytes:
    return png_bytes(Image.new("RGB", (size, size), colour), FORMATS[mime])


def _read(data: bytes, mime: str, anchors: str | None) -> tuple[str, dict[str, Any]]:
    """Read with c2pa's own Reader, as any verifier would: trusting `anchors`, or with stock settings."""
    context = c2pa.Context.from_dict({"trust": {"trust_anchors": anchors}}) if anchors else c2pa.Context()
    reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, context)
    assert reader is not None, "no Content Credentials found"
    with reader:
        return str(reader.get_validation_state()), json.loads(reader.json())


def _active(store: dict[str, Any]) -> dict[str, Any]:
    return store["manifests"][store["active_manifest"]]


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    return next(a["data"] for a in manifest["assertions"] if a["label"] == label)


@pytest.mark.parametrize("mime", FORMATS)
def test_generated_image_reads_trusted_with_the_deployment_root(provenance: Provenance, mime: str) -> None:
    signed = provenance.sign(_image(mime), mime=mime, model=MODEL, prompt="a secret prompt")
    state, store = _read(signed, mime, provenance.trust_anchor_pem())
    assert state == "Trusted"
    manifest = _active(store)
    generator = manifest["claim_generator_info"][0]
    assert (generator["name"], generator["version"]) == ("gazo", VERSION)
    (action,) = _assertion(manifest, "c2pa.actions.v2")["actions"]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert action["softwareAgent"]["name"] == f"gazo {VERSION} (model {MODEL})"
    assert _assertion(manifest, "cawg.training-mining")["entries"] == NOT_ALLOWED
    assert "thumbnail" not in manifest
    assert b"a secret prompt" not in signed and "a secret prompt" not in json.dumps(store)


@pytest.mark.parametrize("mime", FORMATS)
def test_stock_verifier_says_valid_but_untrusted(provenance: Provenance, mime: str) -> None:
    state, store = _read(provenance.sign(_image(mime), mime=mime, model=MODEL), mime, anchors=None)
    assert state == "Valid"
    assert [s["code"] for s in store["validation_status"]] == ["signingCredential.untrusted"]


def test_flipping_one_pixel_byte_makes_it_invalid(provenance: Provenance) -> None:
    signed = bytearray(provenance.sign(_image(), mime="image/png", model=MODEL))
    signed[signed.index(b"IDAT") + 12] ^= 0x01
    state, store = _read(bytes(signed), "image/png", provenance.trust_anchor_pem())
    assert state == "Invalid"
    assert "assertion.dataHash.mismatch" in [s["code"] for s in store["validation_status"]]


def test_edit_of_an_unsigned_upload_has_one_manifest_and_an_ingredient_without_credentials(
    provenance: Provenance,
) -> None:
    upload = Ingredient(data=_image("image/jpeg", (1, 2, 3)), mime="image/jpeg", title="image_0.jpg")
    signed = provenance.sign(_image(), mime="image/png", model=MODEL, ingredients=[upload])
    state, store = _read(signed, "image/png", provenance.trust_anchor_pem())
    assert state == "Trusted" and len(store["manifests"]) == 1
    (ingredient,) = _active(store)["ingredients"]
    assert ingredient["title"] == "image_0.jpg" and ingredient["relationship"] == "parentOf"
    assert "active_manifest" not in ingredient
    opened, edited = _assertion(_active(store), "c2pa.actions.v2")["actions"]
    assert opened["action"] == "c2pa.opened" and len(opened["parameters"]["ingredients"]) == 1
    assert edited["action"] == "c2pa.edited"
    assert edited["digitalSourceType"] == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA


def test_every_input_is_an_ingredient_first_parent_then_components(provenance: Provenance) -> None:
    parent = provenance.sign(_image(), mime="image/png", model=MODEL)
    inputs = [
        Ingredient(data=parent, mime="image/png", title="image_0.png"),
        Ingredient(data=_image("image/webp", (9, 9, 9)), mime="image/webp", title="image_1.webp"),
        Ingredient(data=_image("image/jpeg", (5, 5, 5)), mime="jpeg", title="image_2.jpg"),
    ]
    signed = provenance.sign(
        _image("image/webp"), mime="webp", model=MODEL, ingredients=inputs, extra_actions=["c2pa.resized"]
    )
    state, store = _read(signed, "image/webp", provenance.trust_anchor_pem())
    assert state == "Trusted" and len(store["manifests"]) == 2
    ingredients = _active(store)["ingredients"]
    assert [(i["title"], i["relationship"]) for i in ingredients] == [
        ("image_0.png", "parentOf"),
        ("image_1.webp", "componentOf"),
        ("image_2.jpg", "componentOf"),
    ]
    assert "active_manifest" in ingredients[0]
    actions = _assertion(_active(store), "c2pa.actions.v2")["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.placed", "c2pa.edited", "c2pa.resized"]
    assert len(actions[1]["parameters"]["ingredients"]) == 2


def test_references_that_only_guided_the_model_are_inputs_and_the_rendering_is_recorded(
    provenance: Provenance,
) -> None:
    inputs = [
        Ingredient(data=_image(), mime="image/png", title="photo.png", relationship="parentOf"),
        Ingredient(_image(colour=(9, 9, 9)), "image/png", title="style.png", relationship="inputTo"),
    ]
    rendering = {"references": {"mode": "init+colour", "count": 1}, "text": {"mode": "typeset", "count": 1}}
    signed = provenance.sign(_image(), mime="png", model=MODEL, ingredients=inputs, rendering=rendering)
    state, store = _read(signed, "image/png", provenance.trust_anchor_pem())
    manifest = _active(store)
    assert state == "Trusted"
    assert [(i["title"], i["relationship"]) for i in manifest["ingredients"]] == [
        ("photo.png", "parentOf"),
        ("style.png", "inputTo"),
    ]
    actions = _assertion(manifest, "c2pa.actions.v2")["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited"]  # nothing was placed
    assert _assertion(manifest, RENDERING_LABEL) == rendering


def test_prompt_is_written_only_when_the_operator_allows_it(provenance: Provenance) -> None:
    talkative = Provenance(provenance.identity, version=VERSION, include_prompt=True)
    signed = talkative.sign(_image(), mime="image/png", model=MODEL, prompt="a lighthouse at dusk")
    _, store = _read(signed, "image/png", provenance.trust_anchor_pem())
    (action,) = _assertion(_active(store), "c2pa.actions.v2")["actions"]
    assert action["description"] == "a lighthouse at dusk"


def test_thumbnail_is_off_by_default_and_small_when_on(provenance: Provenance) -> None:
    image = _image(size=512)
    plain = provenance.sign(image, mime="image/png", model=MODEL)
    with_thumbnail = Provenance(provenance.identity, version=VERSION, thumbnail=True)
    thumbed = with_thumbnail.sign(image, mime="image/png", model=MODEL)
    _, store = _read(thumbed, "image/png", provenance.trust_anchor_pem())
    assert "thumbnail" in _active(store)
    assert len(plain) - len(image) < 10_000
    assert len(thumbed) - len(plain) < 50_000


def test_input_c2pa_cannot_parse_is_kept_by_name(provenance: Provenance) -> None:
    odd = Ingredient(data=b"\x89PNG\r\n\x1a\n" + b"not really", mime="image/png", title="odd.png")
    signed = provenance.sign(_image(), mime="image/png", model=MODEL, ingredients=[odd])
    state, store = _read(signed, "image/png", provenance.trust_anchor_pem())
    assert state == "Trusted"
    assert [i["title"] for i in _active(store)["ingredients"]] == ["odd.png"]


def test_signing_failure_fails_closed_unless_the_operator_allows_unsigned(provenance: Provenance) -> None:
    broken = b"\x89PNG\r\n\x1a\n" + b"truncated"
    with pytest.raises(ProvenanceError, match="Signing the image's Content Credentials failed"):
        provenance.sign(broken, mime="image/png", model=MODEL)
    with pytest.raises(ProvenanceError, match="cannot sign `image/gif`"):
        provenance.sign(broken, mime="image/gif", model=MODEL)
    lenient = Provenance(provenance.identity, version=VERSION, allow_unsigned_on_failure=True)
    assert lenient.sign(broken, mime="image/png", model=MODEL) == broken


def test_disabled_provenance_returns_the_image_untouched(tmp_path: Path) -> None:
    provenance = Provenance.from_settings(
        ProvenanceSettings(enabled=False), data_dir=tmp_path, version=VERSION
    )
    image = _image()
    assert provenance.sign(image, mime="image/png", model=MODEL) == image


def test_one_provenance_signs_from_many_threads(provenance: Provenance) -> None:
    states: list[str] = []

    def work(index: int) -> None:
        for mime in FORMATS:
            signed = provenance.sign(_image(mime, (index, 0, 0)), mime=mime, model=MODEL)
            states.append(provenance.verify(signed).state)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states == ["Trusted"] * 24
