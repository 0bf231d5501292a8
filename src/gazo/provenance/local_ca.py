"""gazo's own root CA and ES256 signer in `<data_dir>/provenance/`: made on first start, renewed near expiry.

For deployments without an operator certificate: verifiers are given the root once
(`GET /v1/provenance/trust-anchor`) and it stays the same across restarts and signer renewals.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from gazo.provenance.errors import ProvenanceConfigError
from gazo.provenance.pem import PrivateKey, pem, pkcs8, read_certs, read_key, same_key, write_atomically

log = logging.getLogger(__name__)

#: The C2PA claim-signing EKU; c2pa also needs a classic one (emailProtection) beside it.
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
ROOT_DAYS, SIGNER_DAYS, RENEW_BEFORE_DAYS = 3650, 365, 30
ROOT_CERT, ROOT_KEY, SIGNER_CHAIN, SIGNER_KEY = "root-ca.pem", "root-ca.key", "signer-chain.pem", "signer.key"
_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def local_identity(folder: Path, organization: str) -> tuple[list[x509.Certificate], PrivateKey, str]:
    """Load `<data_dir>/provenance/`: create root and signer on first use, renew a signer near its expiry.

    The root CA's key stays in the folder so an expiring signer can be re-issued without changing the root
    that verifiers were told to trust.
    """
    source = f"`{folder}`"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with locked(folder / ".lock"):
        root = _ensure_root(folder, organization, source)
        for secret in (folder / ROOT_KEY, folder / SIGNER_KEY):
            if secret.exists() and secret.stat().st_mode & 0o077:
                log.warning("%s was readable by others; restricting it to its owner", secret)
                secret.chmod(0o600)
        if (folder / SIGNER_CHAIN).exists() and (folder / SIGNER_KEY).exists():
            chain = read_certs(folder / SIGNER_CHAIN, "signer chain")
            expires = chain[0].not_valid_after_utc
            if expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=RENEW_BEFORE_DAYS):
                return chain, read_key(folder / SIGNER_KEY), source
            log.info("renewing the C2PA signing certificate in %s (expires %s)", folder, expires)
        root_key = read_key(folder / ROOT_KEY)
        if not same_key(root.public_key(), root_key):
            raise ProvenanceConfigError(f"{folder / ROOT_KEY} does not match {folder / ROOT_CERT}")
        key = ec.generate_private_key(ec.SECP256R1())
        chain = [_signer_cert(key, root, root_key), root]
        write_atomically(folder / SIGNER_KEY, pkcs8(key), secret=True)
        write_atomically(folder / SIGNER_CHAIN, b"".join(pem(cert) for cert in chain))
        return chain, key, source


def _ensure_root(folder: Path, organization: str, source: str) -> x509.Certificate:
    if not (folder / ROOT_CERT).exists():
        if (folder / SIGNER_CHAIN).exists():
            raise ProvenanceConfigError(
                f"{source} has a signer but no {ROOT_CERT}; move the folder away to start over"
            )
        root_key = ec.generate_private_key(ec.SECP256R1())
        write_atomically(folder / ROOT_KEY, pkcs8(root_key), secret=True)
        write_atomically(folder / ROOT_CERT, pem(_root_cert(root_key, organization)))
        log.info("created a C2PA root CA in %s", folder)
    return read_certs(folder / ROOT_CERT, "root certificate")[0]


def _root_cert(key: ec.EllipticCurvePrivateKey, organization: str) -> x509.Certificate:
    name = _name(organization, f"{organization} C2PA Root CA")
    return (
        _cert_builder(name, name, key.public_key(), ROOT_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )


def _signer_cert(
    key: ec.EllipticCurvePrivateKey, root: x509.Certificate, root_key: PrivateKey
) -> x509.Certificate:
    value = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    organization = value.decode() if isinstance(value, bytes) else value  # bytes only in odd encodings
    ekus = [ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING]
    return (
        _cert_builder(
            _name(organization, f"{organization} image signer"),
            root.subject,
            key.public_key(),
            SIGNER_DAYS,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )


def _cert_builder(
    subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _name(organization: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage(**on: bool) -> x509.KeyUsage:
    """A keyUsage extension with exactly the flags in `on` set (x509 wants every flag named)."""
    return x509.KeyUsage(**(dict.fromkeys(_KEY_USAGE_FLAGS, False) | on))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise first-start creation between processes (several workers on one data dir)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: single process assumed
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
