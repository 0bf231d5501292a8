"""Certificates and keys on disk: read with errors that name the file, written atomically and owner-only."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from gazo.provenance.errors import ProvenanceConfigError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def read_certs(path: Path, what: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as exc:
        raise ProvenanceConfigError(f"cannot read `{what}` {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ProvenanceConfigError(f"`{what}` {path} is not a PEM certificate chain: {exc}") from exc
    return certs


def read_key(path: Path) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ProvenanceConfigError(f"cannot read private key {path}: {exc.strerror or exc}") from exc
    except TypeError as exc:
        raise ProvenanceConfigError(
            f"private key {path} is encrypted; give gazo an unencrypted key or use `provenance.sign_callback`"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ProvenanceConfigError(f"private key {path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, PrivateKey):
        raise ProvenanceConfigError(
            f"private key {path} is a {type(key).__name__}; C2PA signs with EC, RSA or Ed25519"
        )
    return key


def write_atomically(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Write atomically; secrets are created owner-only (0600) so they are never readable, even briefly."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def same_key(public_key: CertificatePublicKeyTypes, private_key: PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return public_key.public_bytes(*spki) == private_key.public_key().public_bytes(*spki)
    except (AttributeError, ValueError):
        return False


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
