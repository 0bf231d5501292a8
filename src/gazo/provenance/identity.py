"""Who signs: the certificate chain, the key (or a callback that holds it) and the trust anchor.

Three sources, in this order of preference: an operator's chain + key PEM files, an operator's chain + a
signing callback (KMS/HSM: the key never enters gazo), or a local root CA and ES256 signer that gazo creates
in ``<data_dir>/provenance/`` on first start and reuses afterwards. Every chain is checked here against the
rules c2pa enforces (see ``shared/notes/trust-dependencies.md``), so a bad certificate stops gazo at start-up
with a message that says what is wrong, instead of failing every request later.

The checks live here; gazo's own CA is `local_ca`, file handling `pem`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from gazo.provenance.errors import ProvenanceConfigError, ProvenanceError
from gazo.provenance.local_ca import C2PA_CLAIM_SIGNING, ROOT_CERT, local_identity
from gazo.provenance.pem import PrivateKey, pem, pkcs8, read_certs, read_key, same_key
from gazo.settings import ProvenanceSettings

__all__ = [
    "C2PA_CLAIM_SIGNING",
    "ROOT_CERT",
    "ProvenanceConfigError",
    "ProvenanceError",
    "SignCallback",
    "SigningIdentity",
    "check_chain",
    "load_identity",
]

log = logging.getLogger(__name__)

SignCallback = Callable[[bytes], bytes]

#: EKUs c2pa's default trust configuration accepts on an end-entity certificate.
ACCEPTED_EKUS = {
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ExtendedKeyUsageOID.TIME_STAMPING,
    ExtendedKeyUsageOID.OCSP_SIGNING,
}


@dataclass(frozen=True)
class SigningIdentity:
    """A checked chain (end-entity first) and what signs for it: PKCS#8 key bytes or a callback."""

    chain_pem: bytes
    alg: str
    anchor_pem: str
    private_key_pem: bytes | None = None
    callback: SignCallback | None = None
    tsa_url: str | None = None
    source: str = ""

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]


def load_identity(
    settings: ProvenanceSettings, *, data_dir: Path, sign_callback: SignCallback | None = None
) -> SigningIdentity:
    """The identity the settings describe, creating the local one on first use; or `ProvenanceConfigError`."""
    callback = sign_callback or (_import_callback(settings.sign_callback) if settings.sign_callback else None)
    if settings.cert_chain_file is None:
        if callback is not None or settings.private_key_file is not None:
            raise ProvenanceConfigError(
                "`provenance.cert_chain_file` is required with `private_key_file` or `sign_callback`"
            )
        chain, key, source = local_identity(data_dir / "provenance", settings.organization)
    else:
        chain = read_certs(settings.cert_chain_file, "provenance.cert_chain_file")
        key, source = None, f"`{settings.cert_chain_file}`"
        if callback is None:
            if settings.private_key_file is None:
                raise ProvenanceConfigError(
                    "`provenance.private_key_file` (or `sign_callback`) is required with `cert_chain_file`"
                )
            key = read_key(settings.private_key_file)
    chain = check_chain(chain, key, source=source)
    alg = _check_alg(chain[0].public_key(), settings.signing_alg, source)
    return SigningIdentity(
        chain_pem=b"".join(pem(cert) for cert in chain),
        alg=alg,
        anchor_pem=pem(chain[-1]).decode(),
        private_key_pem=None if key is None else pkcs8(key),
        callback=callback,
        tsa_url=settings.tsa_url,
        source=source,
    )


def check_chain(
    certs: list[x509.Certificate], key: PrivateKey | None, *, source: str
) -> list[x509.Certificate]:
    """The chain ordered end-entity first, after checking what c2pa would otherwise reject at signing time."""
    issuers = {cert.issuer for cert in certs if cert.issuer != cert.subject}
    leaf = next((cert for cert in certs if cert.subject not in issuers), certs[0])
    if key is not None:
        matching = [cert for cert in certs if same_key(cert.public_key(), key)]
        if not matching:
            raise ProvenanceConfigError(f"the private key does not match any certificate in {source}")
        leaf = matching[0]
    chain = [leaf]
    while (issuer := _find_issuer(chain[-1], certs)) is not None and issuer not in chain:
        chain.append(issuer)
    if len(chain) < 2:
        raise ProvenanceConfigError(
            f"{source} holds no issuer of the signing certificate `{leaf.subject.rfc4514_string()}`; "
            "add the intermediate/root certificates after it so verifiers can be given a trust anchor"
        )
    _check_end_entity(leaf, source)
    return chain


def _check_end_entity(cert: x509.Certificate, source: str) -> None:
    name = f"signing certificate `{cert.subject.rfc4514_string()}` in {source}"
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ProvenanceConfigError(
            f"the {name} is valid only from {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    if cert.issuer == cert.subject:
        raise ProvenanceConfigError(f"the {name} is self-signed; C2PA needs one issued by a CA")
    constraints = _extension(cert, x509.BasicConstraints)
    if isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        raise ProvenanceConfigError(
            f"the {name} is a CA certificate (basicConstraints CA:TRUE); use an end entity"
        )
    usage = _extension(cert, x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise ProvenanceConfigError(f"the {name} needs keyUsage digitalSignature")
    if _extension(cert, x509.AuthorityKeyIdentifier) is None:
        raise ProvenanceConfigError(
            f"the {name} has no authorityKeyIdentifier extension, which C2PA requires"
        )
    ekus = _extension(cert, x509.ExtendedKeyUsage)
    if ekus is None or not ACCEPTED_EKUS & set(ekus):
        raise ProvenanceConfigError(
            f"the {name} needs extendedKeyUsage emailProtection (best with C2PA claimSigning "
            f"{C2PA_CLAIM_SIGNING.dotted_string}); timeStamping or OCSPSigning are accepted too"
        )


def _check_alg(public_key: object, configured: str | None, source: str) -> str:
    implied = _implied_alg(public_key)
    if configured is None:
        if implied is None:
            raise ProvenanceConfigError(
                f"the key type of the signing certificate in {source} is not supported"
            )
        return implied
    family = {"es256": "es256", "es384": "es384", "es512": "es512", "ed25519": "ed25519"}.get(
        configured, "ps"
    )
    if implied is None or (implied != family and not (family == "ps" and implied.startswith("ps"))):
        raise ProvenanceConfigError(
            f"`provenance.signing_alg` is `{configured}` but the key of the signing certificate in {source} "
            f"implies `{implied}`"
        )
    return configured


def _implied_alg(public_key: object) -> str | None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(public_key.curve.name)
    if isinstance(public_key, rsa.RSAPublicKey):
        return "ps256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return None


def _import_callback(spec: str) -> SignCallback:
    module_name, _, attr = spec.partition(":")
    try:
        callback = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ProvenanceConfigError(
            f"`provenance.sign_callback` must be `package.module:function`, got `{spec}` ({exc})"
        ) from exc
    if not callable(callback):
        raise ProvenanceConfigError(f"`provenance.sign_callback` `{spec}` is not callable")
    return callback


_Extension = TypeVar("_Extension", bound=x509.ExtensionType)


def _extension(cert: x509.Certificate, kind: type[_Extension]) -> _Extension | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _find_issuer(cert: x509.Certificate, pool: list[x509.Certificate]) -> x509.Certificate | None:
    if cert.issuer == cert.subject:
        return None
    return next((other for other in pool if other.subject == cert.issuer and other is not cert), None)
