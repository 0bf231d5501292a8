"""Signing with c2pa-python, and `Provenance`, the one object the request path talks to.

One c2pa ``Context`` holds the signer and the settings (no thumbnail by default, our anchors so that an
ingredient's trust is recorded correctly) for the life of the process; each image gets its own single-use
``Builder``. c2pa allows many builders to share one context from many threads, so `Provenance.sign` needs
no lock. Signing happens in memory, bytes in and bytes out.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from PIL import Image

from gazo.errors import InvalidRequest
from gazo.provenance.identity import (
    ProvenanceConfigError,
    ProvenanceError,
    SignCallback,
    SigningIdentity,
    load_identity,
)
from gazo.provenance.manifest import ExtraAction, Ingredient, ManifestPlan, plan_manifest
from gazo.provenance.verify import VerificationReport, Verifier
from gazo.settings import ProvenanceSettings

log = logging.getLogger(__name__)

SIGNABLE = ("image/png", "image/jpeg", "image/webp")
_MIME_ALIASES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "image/jpg": "image/jpeg",
}
_ALGORITHMS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ps384": c2pa.C2paSigningAlg.PS384,
    "ps512": c2pa.C2paSigningAlg.PS512,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}
#: c2pa's words for a rejected certificate, and what the operator should change.
_HINTS = {
    "missing required EKU": "the certificate needs extendedKeyUsage emailProtection beside C2PA claimSigning",
    "certificate is invalid": "C2PA needs an end-entity certificate (CA:FALSE), keyUsage digitalSignature, "
    "extendedKeyUsage emailProtection, an authorityKeyIdentifier, issued by a CA",
    "self-signed": "the chain must start with the signing certificate, then its issuers",
    "not valid at time of signing": "the signing certificate has expired or is not valid yet",
    "invalid signing credentials": "the private key does not fit `provenance.signing_alg`",
    "http resolver": "the timestamp authority `provenance.tsa_url` could not be reached",
}


class Provenance:
    """Signs every image gazo returns and reads anyone's Content Credentials back.

    Built once per process with `from_settings` (which fails fast on a broken identity). `sign` raises
    `ProvenanceError` when it cannot sign, so nothing unsigned leaves gazo, unless the operator set
    `allow_unsigned_on_failure`.
    """

    def __init__(
        self,
        identity: SigningIdentity,
        *,
        version: str,
        enabled: bool = True,
        include_prompt: bool = False,
        thumbnail: bool = False,
        allow_unsigned_on_failure: bool = False,
        extra_anchors_pem: str = "",
    ) -> None:
        self.identity = identity
        self.version = version
        self.enabled = enabled
        self.include_prompt = include_prompt
        self.allow_unsigned_on_failure = allow_unsigned_on_failure
        anchors = (
            identity.anchor_pem.strip()
            + "\n"
            + (extra_anchors_pem.strip() + "\n" if extra_anchors_pem else "")
        )
        self._context = c2pa.Context.from_dict(
            _signing_settings(anchors, thumbnail=thumbnail), signer=_c2pa_signer(identity)
        )
        self._verifier = Verifier(anchors)

    @classmethod
    def from_settings(
        cls,
        settings: ProvenanceSettings,
        *,
        data_dir: Path,
        version: str,
        sign_callback: SignCallback | None = None,
    ) -> Provenance:
        """Load (on first start: create) the identity and prove it signs; else `ProvenanceConfigError`."""
        identity = load_identity(settings, data_dir=Path(data_dir), sign_callback=sign_callback)
        extra = _read_anchors(settings.extra_trust_anchors_file) if settings.extra_trust_anchors_file else ""
        try:
            provenance = cls(
                identity,
                version=version,
                enabled=settings.enabled,
                include_prompt=settings.include_prompt,
                thumbnail=settings.thumbnail,
                allow_unsigned_on_failure=settings.allow_unsigned_on_failure,
                extra_anchors_pem=extra,
            )
        except c2pa.C2paError as exc:
            raise _config_error(identity, exc) from exc
        if settings.enabled:
            provenance.check()
        return provenance

    def check(self) -> None:
        """Sign and re-read a tiny image, so a certificate c2pa rejects stops start-up with a clear reason."""
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, "PNG")
        plan = plan_manifest(version=self.version, model="self-test", mime="image/png")
        try:
            signed = self._sign_plan(buffer.getvalue(), "image/png", plan)
        except c2pa.C2paError as exc:
            raise _config_error(self.identity, exc) from exc
        report = self._verifier.verify(signed)
        if report.state == "Invalid":
            reasons = "; ".join(f"{i.code}: {i.explanation}" for i in report.failures)
            raise ProvenanceConfigError(
                f"a test signature with {self.identity.source} does not validate: {reasons}"
            )

    def sign(
        self,
        image: bytes,
        *,
        mime: str,
        model: str,
        prompt: str | None = None,
        ingredients: Sequence[Ingredient] = (),
        extra_actions: Sequence[ExtraAction] = (),
        title: str | None = None,
        rendering: Mapping[str, Any] | None = None,
    ) -> bytes:
        """`image` with Content Credentials embedded: a generation without `ingredients`, an edit with them.

        `mime` is ``image/png``, ``image/jpeg`` or ``image/webp`` (or ``png``/``jpeg``/``webp``). The prompt
        is written only if the operator turned `include_prompt` on.
        """
        if not self.enabled:
            return image
        mime = _MIME_ALIASES.get(mime.lower(), mime.lower())
        try:
            if mime not in SIGNABLE:
                raise ProvenanceError(f"cannot sign `{mime}`; gazo signs {', '.join(SIGNABLE)}")
            plan = plan_manifest(
                version=self.version,
                model=model,
                mime=mime,
                ingredients=[_normalised(item) for item in ingredients],
                prompt=prompt if self.include_prompt else None,
                extra_actions=extra_actions,
                title=title,
                rendering=rendering,
            )
            return self._sign_plan(image, mime, plan)
        except (c2pa.C2paError, ProvenanceError) as exc:
            if not self.allow_unsigned_on_failure:
                if isinstance(exc, ProvenanceError):
                    raise
                raise ProvenanceError(f"Signing the image's Content Credentials failed: {exc}") from exc
            log.error("returning an UNSIGNED %s image (allow_unsigned_on_failure): %s", mime, exc)
            return image

    def trust_anchor_pem(self) -> str:
        """This deployment's root certificate: give it to verifiers so gazo's images read `Trusted`."""
        return self.identity.anchor_pem

    @property
    def certificate(self) -> x509.Certificate:
        """The end-entity certificate that signs."""
        return self.identity.certificate

    def verify(self, data: bytes, extra_anchors_pem: str | None = None) -> VerificationReport:
        """Read `data`'s credentials trusting our root, the configured extras and `extra_anchors_pem`."""
        if extra_anchors_pem and not _is_pem(extra_anchors_pem):
            raise InvalidRequest("The trust anchors must be PEM certificates.", param="trust")
        return self._verifier.verify(data, extra_anchors_pem)

    def _sign_plan(self, image: bytes, mime: str, plan: ManifestPlan) -> bytes:
        """Sign with every ingredient hashed in; one c2pa cannot parse is kept by title only, and logged."""
        by_title: list[int] = []
        while True:
            kept = [{**plan.ingredients[i][0], "format": plan.ingredients[i][1].mime} for i in by_title]
            with c2pa.Builder(dict(plan.definition, ingredients=kept), context=self._context) as builder:
                failed = _add_ingredients(builder, plan, skip=by_title)
                if failed is None:
                    out = io.BytesIO()
                    builder.sign(mime, io.BytesIO(image), out)
                    return out.getvalue()
            by_title.append(failed)


def _add_ingredients(builder: c2pa.Builder, plan: ManifestPlan, *, skip: list[int]) -> int | None:
    """Hash each ingredient (and its credentials) into `builder`; the index of the first c2pa rejects."""
    for index, (definition, ingredient) in enumerate(plan.ingredients):
        if index in skip:
            continue
        try:
            builder.add_ingredient(definition, ingredient.mime, io.BytesIO(ingredient.data))
        except c2pa.C2paError as exc:
            log.warning("ingredient %r kept by title only, c2pa cannot read it: %s", ingredient.title, exc)
            return index
    return None


def _signing_settings(anchors_pem: str, *, thumbnail: bool) -> dict[str, object]:
    thumb: dict[str, object] = {"enabled": False}
    if thumbnail:  # small JPEG: the default 1024-px one adds 0.5-2.4 MB and ~70 ms per image
        thumb = {"enabled": True, "format": "jpeg", "long_edge": 256, "quality": "medium"}
    return {
        "builder": {"thumbnail": thumb},
        "trust": {"trust_anchors": anchors_pem},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }


def _c2pa_signer(identity: SigningIdentity) -> c2pa.Signer:
    alg = _ALGORITHMS[identity.alg]
    if identity.callback is not None:
        return c2pa.Signer.from_callback(
            identity.callback, alg, identity.chain_pem.decode(), identity.tsa_url
        )
    assert identity.private_key_pem is not None
    info = c2pa.C2paSignerInfo(alg, identity.chain_pem, identity.private_key_pem, identity.tsa_url)
    return c2pa.Signer.from_info(info)


def _config_error(identity: SigningIdentity, exc: Exception) -> ProvenanceConfigError:
    hint = next((hint for needle, hint in _HINTS.items() if needle in str(exc)), None)
    return ProvenanceConfigError(
        f"cannot sign with {identity.source}: {exc}" + (f" ({hint})" if hint else "")
    )


def _normalised(item: Ingredient) -> Ingredient:
    mime = _MIME_ALIASES.get(item.mime.lower(), item.mime.lower())
    return item if mime == item.mime else replace(item, mime=mime)


def _read_anchors(path: Path) -> str:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ProvenanceConfigError(
            f"cannot read `provenance.extra_trust_anchors_file` {path}: {exc}"
        ) from exc
    if not _is_pem(text):
        raise ProvenanceConfigError(f"`provenance.extra_trust_anchors_file` {path} holds no PEM certificates")
    return text


def _is_pem(text: str) -> bool:
    try:
        return bool(x509.load_pem_x509_certificates(text.encode()))
    except ValueError:
        return False
