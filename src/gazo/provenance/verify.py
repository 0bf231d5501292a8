"""Reading Content Credentials back: one report a person (or the playground) can read, whoever signed.

The state follows c2pa's words: ``Trusted`` (valid, signed by a certificate that chains to an anchor we were
given), ``Valid`` (intact, but the signer is unknown to us), ``Invalid`` (tampered or broken) and ``None``
(no credentials at all). Each ancestor in the ingredient tree gets its own state, merged from what was
recorded when it was used as an ingredient and what this reader found on re-validating it, so a verifier
sees the whole edit history and where it breaks.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import c2pa

from gazo.errors import InvalidImage

State = Literal["Trusted", "Valid", "Invalid", "None"]
TRUSTED, UNTRUSTED = "signingCredential.trusted", "signingCredential.untrusted"
MAX_DEPTH = 32
_MODEL = re.compile(r"\(model (?P<model>.+)\)$")


@dataclass(frozen=True, kw_only=True)
class ValidationIssue:
    """One validation failure: its C2PA status code, c2pa's explanation, the part of the manifest it names."""

    code: str
    explanation: str = ""
    url: str = ""


@dataclass(frozen=True, kw_only=True)
class SignerInfo:
    """The signing certificate, as distinguished names (``CN=..., O=...``)."""

    subject: str
    issuer: str
    serial_number: str | None = None
    algorithm: str | None = None


@dataclass(frozen=True, kw_only=True)
class ActionInfo:
    """One recorded action; `ingredients` are the titles of the ingredients it refers to."""

    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    description: str | None = None
    ingredients: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Credentials:
    state: State
    title: str | None = None
    format: str | None = None
    manifest_label: str | None = None
    signer: SignerInfo | None = None
    signed_at: str | None = None
    claim_generator: str | None = None
    software_agent: str | None = None
    model: str | None = None
    actions: tuple[ActionInfo, ...] = ()
    training_mining: dict[str, str] = field(default_factory=dict)
    ingredients: tuple[IngredientReport, ...] = ()
    failures: tuple[ValidationIssue, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (lists, dicts, strings), nested ingredients included."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass(frozen=True, kw_only=True)
class IngredientReport(_Credentials):
    """An input of an edit: ``parentOf`` (opened), ``componentOf`` (placed in it), ``inputTo`` (guided it)."""

    relationship: str = "parentOf"


@dataclass(frozen=True, kw_only=True)
class VerificationReport(_Credentials):
    """The verdict on one file: its active manifest, and through `ingredients` every ancestor."""

    manifests: int = 0


class Verifier:
    """Reads credentials with a fixed set of trust anchors; one per deployment, shareable between threads."""

    def __init__(self, anchors_pem: str) -> None:
        self._anchors = anchors_pem
        self._context = reading_context(anchors_pem)

    def verify(self, data: bytes, extra_anchors_pem: str | None = None) -> VerificationReport:
        """Report on `data`; `extra_anchors_pem` adds anchors for this call (e.g. ``gazo verify --trust``)."""
        context = self._context
        if extra_anchors_pem:
            context = reading_context(f"{self._anchors.strip()}\n{extra_anchors_pem.strip()}\n")
        try:
            reader = c2pa.Reader.try_create(None, io.BytesIO(data), None, context)
        except c2pa.C2paError.NotSupported as exc:
            raise InvalidImage(
                "The file is not in a format Content Credentials can be read from.", param="image"
            ) from exc
        except c2pa.C2paError as exc:
            issue = ValidationIssue(code="manifest.unreadable", explanation=str(exc))
            return VerificationReport(state="Invalid", failures=(issue,))
        if reader is None:
            return VerificationReport(state="None")
        with reader:
            store, crjson = json.loads(reader.json()), json.loads(reader.crjson())
            state = reader.get_validation_state() or "Invalid"
        report = build_report(store, crjson, state)
        return dataclasses.replace(report, format=report.format or _sniff(data))


def reading_context(anchors_pem: str) -> c2pa.Context:
    """Trust exactly these anchors (none: every signer is untrusted), and never touch the network."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if anchors_pem.strip():
        settings["trust"] = {"trust_anchors": anchors_pem}
    return c2pa.Context.from_dict(settings)


#: The states c2pa reports for a manifest that gazo passes on as they are.
_KNOWN_STATES: tuple[State, ...] = ("Trusted", "Valid", "Invalid")


def _state(reported: str) -> State:
    """c2pa's state for the active manifest; any other it might report counts as Invalid."""
    return next((known for known in _KNOWN_STATES if known == reported), "Invalid")


def build_report(store: dict[str, Any], crjson: dict[str, Any], state: str) -> VerificationReport:
    """Turn c2pa's JSON (``Reader.json()`` and ``Reader.crjson()``) into a `VerificationReport`."""
    results = store.get("validation_results") or {}
    tree = _Tree(store, crjson, results.get("ingredientDeltas") or [])
    failures = _issues((results.get("activeManifest") or {}).get("failure")) or _issues(
        store.get("validation_status")
    )
    label = store.get("active_manifest")
    fields = tree.fields(label, depth=0, seen=frozenset()) if label in tree.manifests else {}
    return VerificationReport(
        state=_state(state),
        failures=failures,
        manifests=len(tree.manifests),
        **fields,
    )


class _Tree:
    def __init__(self, store: dict[str, Any], crjson: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        self.manifests: dict[str, Any] = store.get("manifests") or {}
        self.certs = {m.get("label"): (m.get("signature") or {}) for m in crjson.get("manifests") or []}
        self.deltas = {d.get("ingredientAssertionURI"): d.get("validationDeltas") or {} for d in deltas}

    def fields(self, label: str, *, depth: int, seen: frozenset[str]) -> dict[str, Any]:
        manifest = self.manifests[label]
        titles = {ing.get("label"): ing.get("title") or "" for ing in manifest.get("ingredients") or []}
        actions = tuple(
            _action(raw, titles) for raw in _assertion_data(manifest, "c2pa.actions").get("actions", [])
        )
        agent = next((a.software_agent for a in actions if a.software_agent), None)
        mining = _assertion_data(manifest, "cawg.training-mining") or _assertion_data(
            manifest, "c2pa.training-mining"
        )
        match = _MODEL.search(agent or "")
        return {
            "title": manifest.get("title"),
            "format": manifest.get("format"),
            "manifest_label": label,
            "signer": self._signer(label, manifest.get("signature_info") or {}),
            "signed_at": (manifest.get("signature_info") or {}).get("time"),
            "claim_generator": _generator(manifest),
            "software_agent": agent,
            "model": match.group("model") if match else None,
            "actions": actions,
            "training_mining": {k: str(v.get("use")) for k, v in (mining.get("entries") or {}).items()},
            "ingredients": tuple(
                self._ingredient(label, ing, depth=depth + 1, seen=seen | {label})
                for ing in manifest.get("ingredients") or []
            ),
        }

    def _ingredient(
        self, parent: str, ing: dict[str, Any], *, depth: int, seen: frozenset[str]
    ) -> IngredientReport:
        common = {
            "title": ing.get("title"),
            "format": ing.get("format"),
            "relationship": ing.get("relationship", ""),
        }
        child = ing.get("active_manifest")
        if not child or child not in self.manifests:
            return IngredientReport(state="None", **common)
        delta = self.deltas.get(f"self#jumbf=/c2pa/{parent}/c2pa.assertions/{ing.get('label')}") or {}
        state, failures = _merge(ing, delta)
        if depth > MAX_DEPTH or child in seen:
            issue = ValidationIssue(
                code="ingredient.tooDeep", explanation="history cut off (too deep or circular)"
            )
            return IngredientReport(state=state, failures=(*failures, issue), **common)
        fields = self.fields(child, depth=depth, seen=seen) | common
        return IngredientReport(state=state, failures=failures, **fields)

    def _signer(self, label: str, info: dict[str, Any]) -> SignerInfo | None:
        signature = self.certs.get(label) or {}
        cert = signature.get("certificateInfo") or {}
        if not cert and not info:
            return None
        return SignerInfo(
            subject=_dn(cert.get("subject")) or _dn({"CN": info.get("common_name"), "O": info.get("issuer")}),
            issuer=_dn(cert.get("issuer")),
            serial_number=cert.get("serialNumber") or info.get("cert_serial_number"),
            algorithm=signature.get("algorithm") or info.get("alg"),
        )


def _merge(ing: dict[str, Any], delta: dict[str, Any]) -> tuple[State, tuple[ValidationIssue, ...]]:
    """An ancestor's state: what was recorded when it became an ingredient, corrected by our deltas."""
    recorded = (ing.get("validation_results") or {}).get("activeManifest")
    if recorded is None:  # claim v1 ingredients only kept a status list
        recorded = {"failure": ing.get("validation_status") or []}
    success = {i.code for i in _issues(recorded.get("success"))} | {
        i.code for i in _issues(delta.get("success"))
    }
    new_failures = _issues(delta.get("failure"))
    failures = [*_issues(recorded.get("failure")), *new_failures]
    if TRUSTED in {i.code for i in _issues(delta.get("success"))}:
        failures = [i for i in failures if i.code != UNTRUSTED]
    if UNTRUSTED in {i.code for i in new_failures}:
        success.discard(TRUSTED)
    unique = tuple(dict.fromkeys(failures))
    if any(i.code != UNTRUSTED for i in unique):
        return "Invalid", unique
    if TRUSTED in success and not unique:
        return "Trusted", unique
    return "Valid", unique


def _action(raw: dict[str, Any], titles: dict[str, str]) -> ActionInfo:
    agent = raw.get("softwareAgent")
    refs = (raw.get("parameters") or {}).get("ingredients") or []
    return ActionInfo(
        action=str(raw.get("action", "")),
        digital_source_type=raw.get("digitalSourceType"),
        software_agent=agent.get("name") if isinstance(agent, dict) else agent,
        description=raw.get("description"),
        ingredients=tuple(titles.get(str(ref.get("url", "")).rsplit("/", 1)[-1], "") for ref in refs),
    )


def _assertion_data(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    for assertion in manifest.get("assertions") or []:
        if assertion.get("label") in (label, f"{label}.v2"):
            return assertion.get("data") or {}
    return {}


def _generator(manifest: dict[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info") or []
    if infos:
        return " ".join(str(infos[0][key]) for key in ("name", "version") if infos[0].get(key))
    return manifest.get("claim_generator")


def _issues(entries: list[dict[str, Any]] | None) -> tuple[ValidationIssue, ...]:
    return tuple(
        ValidationIssue(
            code=str(e.get("code", "")),
            explanation=str(e.get("explanation") or ""),
            url=str(e.get("url") or ""),
        )
        for e in entries or []
    )


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _dn(parts: dict[str, Any] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in (parts or {}).items() if value)
