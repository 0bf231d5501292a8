"""Verification reports: state, signer, model, actions and the edit history with each ancestor's state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from gazo.errors import InvalidImage, InvalidRequest
from gazo.provenance import Ingredient, Provenance, VerificationReport
from gazo.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA
from gazo.provenance.verify import Verifier
from gazo.settings import ProvenanceSettings
from tests.support.pixels import png_bytes

VERSION = "0.1.0"


@pytest.fixture(scope="module")
def provenance(tmp_path_factory: pytest.TempPathFactory) -> Provenance:
    return Provenance.from_settings(
        ProvenanceSettings(), data_dir=tmp_path_factory.mktemp("data"), version=VERSION
    )


@pytest.fixture(scope="module")
def other_deployment(tmp_path_factory: pytest.TempPathFactory) -> Provenance:
    settings = ProvenanceSettings(organization="Elsewhere")
    return Provenance.from_settings(settings, data_dir=tmp_path_factory.mktemp("other"), version=VERSION)


def _image(fmt: str = "PNG", colour: tuple[int, int, int] = (30, 90, 160)) -> bytes:
    return png_bytes(Image.new("RGB", (48, 48), colour), fmt)


def _three_generations(provenance: Provenance) -> bytes:
    """Generate, edit the result, edit that again (each time as a gazo user would)."""
    first = provenance.sign(_image(), mime="image/png", model="model-a")
    second = provenance.sign(
        _image("JPEG", (1, 1, 1)),
        mime="image/jpeg",
        model="model-b",
        ingredients=[Ingredient(data=first, mime="image/png", title="image_0.png")],
    )
    return provenance.sign(
        _image("WEBP", (2, 2, 2)),
        mime="image/webp",
        model="model-c",
        ingredients=[Ingredient(data=second, mime="image/jpeg", title="image_0.jpg")],
    )


def _chain(report: VerificationReport) -> list[tuple[str, str | None]]:
    """(state, model) from the image back to its first ancestor, following each parentOf."""
    links = [(report.state, report.model)]
    node = report.ingredients[0] if report.ingredients else None
    while node is not None:
        links.append((node.state, node.model))
        node = next((i for i in node.ingredients if i.relationship == "parentOf"), None)
    return links


def test_generated_image_report(provenance: Provenance) -> None:
    report = provenance.verify(provenance.sign(_image(), mime="image/png", model="gazo-tiny-sd"))
    assert report.state == "Trusted" and report.failures == () and report.manifests == 1
    assert report.format == "image/png"
    assert report.signer is not None
    assert "CN=gazo image signer" in report.signer.subject and "CN=gazo C2PA Root CA" in report.signer.issuer
    assert report.claim_generator == f"gazo {VERSION}"
    assert report.software_agent == f"gazo {VERSION} (model gazo-tiny-sd)" and report.model == "gazo-tiny-sd"
    (action,) = report.actions
    assert action.action == "c2pa.created" and action.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert set(report.training_mining.values()) == {"notAllowed"}
    assert report.signed_at is None  # no timestamp authority configured


def test_edit_of_an_edit_shows_a_three_deep_trusted_chain(provenance: Provenance) -> None:
    report = provenance.verify(_three_generations(provenance))
    assert report.manifests == 3
    assert _chain(report) == [("Trusted", "model-c"), ("Trusted", "model-b"), ("Trusted", "model-a")]
    parent = report.ingredients[0]
    assert parent.title == "image_0.jpg" and parent.relationship == "parentOf"
    assert [a.action for a in parent.actions] == ["c2pa.opened", "c2pa.edited"]
    assert parent.actions[0].ingredients == ("image_0.png",)
    assert parent.ingredients[0].actions[0].action == "c2pa.created"
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["ingredients"][0]["ingredients"][0]["state"] == "Trusted"


def test_history_reads_valid_for_a_verifier_without_our_root(
    provenance: Provenance, other_deployment: Provenance
) -> None:
    report = Verifier(other_deployment.trust_anchor_pem()).verify(_three_generations(provenance))
    assert [state for state, _ in _chain(report)] == ["Valid", "Valid", "Valid"]
    assert [f.code for f in report.failures] == ["signingCredential.untrusted"]


def test_extra_anchors_make_another_deployment_trusted(
    provenance: Provenance, other_deployment: Provenance
) -> None:
    theirs = other_deployment.sign(_image(), mime="image/png", model="m")
    assert provenance.verify(theirs).state == "Valid"
    assert provenance.verify(theirs, extra_anchors_pem=other_deployment.trust_anchor_pem()).state == "Trusted"


def test_configured_extra_anchors_file_is_trusted(other_deployment: Provenance, tmp_path: Path) -> None:
    (tmp_path / "anchors.pem").write_text(other_deployment.trust_anchor_pem())
    settings = ProvenanceSettings(extra_trust_anchors_file=tmp_path / "anchors.pem")
    provenance = Provenance.from_settings(settings, data_dir=tmp_path, version=VERSION)
    assert provenance.verify(other_deployment.sign(_image(), mime="image/png", model="m")).state == "Trusted"


def test_unsigned_ancestor_has_no_credentials(provenance: Provenance) -> None:
    upload = Ingredient(data=_image("JPEG"), mime="image/jpeg", title="upload.jpg")
    report = provenance.verify(provenance.sign(_image(), mime="image/png", model="m", ingredients=[upload]))
    (ingredient,) = report.ingredients
    assert (ingredient.state, ingredient.title, ingredient.signer) == ("None", "upload.jpg", None)


def test_tampered_image_is_invalid(provenance: Provenance) -> None:
    signed = bytearray(provenance.sign(_image(), mime="image/png", model="m"))
    signed[signed.index(b"IDAT") + 12] ^= 0x01
    report = provenance.verify(bytes(signed))
    assert report.state == "Invalid"
    assert "assertion.dataHash.mismatch" in [f.code for f in report.failures]


def test_edit_of_a_tampered_image_keeps_the_break_visible(provenance: Provenance) -> None:
    tampered = bytearray(provenance.sign(_image(), mime="image/png", model="m"))
    tampered[tampered.index(b"IDAT") + 12] ^= 0x01
    upload = Ingredient(data=bytes(tampered), mime="image/png", title="tampered.png")
    report = provenance.verify(provenance.sign(_image(), mime="image/png", model="m", ingredients=[upload]))
    assert report.state == "Trusted"
    assert report.ingredients[0].state == "Invalid"
    assert "assertion.dataHash.mismatch" in [f.code for f in report.ingredients[0].failures]


def test_image_without_credentials_reports_none(provenance: Provenance) -> None:
    report = provenance.verify(_image("WEBP"))
    assert report.state == "None" and report.to_dict()["state"] == "None"
    assert report.signer is None and report.actions == () and report.manifests == 0


def test_not_an_image_is_a_client_error(provenance: Provenance) -> None:
    with pytest.raises(InvalidImage):
        provenance.verify(b"hello, not an image at all")
    with pytest.raises(InvalidRequest, match="PEM"):
        provenance.verify(_image(), extra_anchors_pem="not a certificate")
