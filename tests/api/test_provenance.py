"""Every image that leaves the server carries Content Credentials that read Trusted with its root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.credentials import actions, active_manifest, read_credentials, trust_anchor
from tests.support.pixels import decode_b64, photo, png_bytes
from tests.support.server import GazoServer


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
def test_generated_images_are_trusted_in_every_format(server: GazoServer, output_format: str) -> None:
    result = server.client().images.generate(
        prompt="a harbour", size="256x256", quality="low", output_format=output_format, n=2
    )
    anchor = trust_anchor(server.base_url)
    for item in result.data:
        state, store = read_credentials(decode_b64(item.b64_json)[1], anchor)
        assert state == "Trusted"
        manifest = active_manifest(store)
        assert actions(manifest)[0] == "c2pa.created"
        assert "harbour" not in json.dumps(store)  # the prompt is not written by default
    stock_state, _ = read_credentials(decode_b64(result.data[0].b64_json)[1], None)
    assert stock_state == "Valid"  # intact, but a stock verifier does not know our root


def test_streamed_partial_images_are_signed_too(server: GazoServer) -> None:
    stream = server.client().images.generate(
        prompt="a mill", size="256x256", quality="high", stream=True, partial_images=2
    )
    anchor = trust_anchor(server.base_url)
    events = list(stream)
    assert len(events) == 3
    for event in events:
        assert read_credentials(decode_b64(event.b64_json)[1], anchor)[0] == "Trusted"


def verify(server: GazoServer, data: bytes) -> dict:
    response = httpx.post(
        f"{server.base_url}/v1/provenance/verify",
        files={"image": ("x", data, "application/octet-stream")},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_one_flipped_byte_reads_invalid(server: GazoServer) -> None:
    result = server.client().images.generate(
        prompt="a bridge", size="256x256", quality="low", output_format="jpeg"
    )
    data = bytearray(decode_b64(result.data[0].b64_json)[1])
    assert verify(server, bytes(data))["state"] == "Trusted"
    data[-100] ^= 0xFF  # inside the JPEG's entropy-coded pixel data
    report = verify(server, bytes(data))
    assert report["state"] == "Invalid"
    assert any("mismatch" in failure["code"] for failure in report["failures"])


def test_editing_a_gazo_image_twice_keeps_a_three_deep_history(server: GazoServer) -> None:
    client = server.client()
    first = decode_b64(
        client.images.generate(prompt="a vase", size="128x128", quality="low").data[0].b64_json
    )[1]
    second = decode_b64(
        client.images.edit(image=("a.png", first, "image/png"), prompt="add flowers").data[0].b64_json
    )[1]
    third = decode_b64(
        client.images.edit(image=("b.png", second, "image/png"), prompt="make it blue").data[0].b64_json
    )[1]
    report = verify(server, third)
    assert report["state"] == "Trusted"
    assert [a["action"] for a in report["actions"]][:2] == ["c2pa.opened", "c2pa.edited"]
    parent = report["ingredients"][0]
    grandparent = parent["ingredients"][0]
    assert parent["state"] == grandparent["state"] == "Trusted"
    assert grandparent["actions"][0]["action"] == "c2pa.created"
    assert report["model"] == "gazo-tiny-sd"


def test_edit_of_an_unsigned_upload_has_one_manifest_and_a_bare_ingredient(server: GazoServer) -> None:
    result = server.client().images.edit(
        image=("mine.png", png_bytes(photo(64, 64)), "image/png"), prompt="x"
    )
    report = verify(server, decode_b64(result.data[0].b64_json)[1])
    assert report["state"] == "Trusted" and report["manifests"] == 1
    assert report["ingredients"][0]["title"] == "mine.png"
    assert report["ingredients"][0]["state"] == "None"


def test_an_image_without_credentials_reports_none(server: GazoServer) -> None:
    assert verify(server, png_bytes(photo(32, 32)))["state"] == "None"


def test_restart_keeps_the_signing_identity(tmp_path: Path, tiny_sd_config: Path) -> None:
    data_dir = tmp_path / "data"
    anchors = []
    for _ in range(2):
        with GazoServer(data_dir, config=tiny_sd_config) as running:
            anchors.append(trust_anchor(running.base_url))
            image = running.client().images.generate(prompt="x", size="64x64", quality="low").data[0].b64_json
    assert anchors[0] == anchors[1]
    assert read_credentials(decode_b64(image)[1], anchors[0])[0] == "Trusted"
    assert (data_dir / "provenance" / "signer.key").stat().st_mode & 0o077 == 0


def test_a_broken_certificate_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "chain.pem").write_text("not a certificate\n")
    completed = subprocess.run(
        [sys.executable, "-m", "gazo", "serve", "--port", "0", "--data-dir", str(tmp_path / "d")],
        env={
            **__import__("os").environ,
            "GAZO_PROVENANCE__CERT_CHAIN_FILE": str(tmp_path / "chain.pem"),
            "GAZO_PROVENANCE__PRIVATE_KEY_FILE": str(tmp_path / "chain.pem"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode != 0
    assert "is not a PEM certificate chain" in completed.stderr


def test_gazo_verify_cli_shows_the_history(server: GazoServer, tmp_path: Path) -> None:
    client = server.client()
    first = decode_b64(client.images.generate(prompt="a cup", size="64x64", quality="low").data[0].b64_json)[
        1
    ]
    edited = decode_b64(
        client.images.edit(image=("cup.png", first, "image/png"), prompt="tea").data[0].b64_json
    )[1]
    (tmp_path / "edited.png").write_bytes(edited)
    (tmp_path / "root.pem").write_text(trust_anchor(server.base_url))
    command = [
        sys.executable,
        "-m",
        "gazo",
        "verify",
        str(tmp_path / "edited.png"),
        "--data-dir",
        str(tmp_path / "d"),
    ]
    untrusted = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert untrusted.returncode == 0 and "Valid but untrusted" in untrusted.stdout
    trusted = subprocess.run(
        [*command, "--trust", str(tmp_path / "root.pem"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(trusted.stdout)
    assert report["state"] == "Trusted" and report["ingredients"][0]["title"] == "cup.png"
    human = subprocess.run(
        [*command, "--trust", str(tmp_path / "root.pem")], capture_output=True, text=True, timeout=60
    )
    assert "Trusted" in human.stdout and "c2pa.created" in human.stdout and "cup.png" in human.stdout
