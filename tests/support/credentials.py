"""Reading the C2PA manifest of returned bytes with c2pa's own Reader, as any verifier would."""

from __future__ import annotations

import io
import json
from typing import Any

import c2pa
import httpx


def trust_anchor(base_url: str) -> str:
    response = httpx.get(f"{base_url}/v1/provenance/trust-anchor", timeout=10)
    response.raise_for_status()
    return response.text


def read_credentials(data: bytes, anchors_pem: str | None) -> tuple[str, dict[str, Any]]:
    """(validation state, manifest store) trusting `anchors_pem`; raises AssertionError if there are none."""
    settings = {"trust": {"trust_anchors": anchors_pem}} if anchors_pem else {}
    reader = c2pa.Reader.try_create(None, io.BytesIO(data), None, c2pa.Context.from_dict(settings))
    assert reader is not None, "no Content Credentials found"
    with reader:
        return str(reader.get_validation_state()), json.loads(reader.json())


def active_manifest(store: dict[str, Any]) -> dict[str, Any]:
    return store["manifests"][store["active_manifest"]]


def actions(manifest: dict[str, Any]) -> list[str]:
    data = next(a["data"] for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    return [action["action"] for action in data["actions"]]
