"""Who signs: the certificate chain, the key (or a callback that holds it) and the trust anchor.

Three sources, in this order of preference: an operator's chain + key PEM files, an operator's chain + a
signing callback (KMS/HSM: the key never enters gazo), or a local root CA and ES256 signer that gazo creates
in ``<data_dir>/provenance/`` on first start and reuses afterwards. Every chain is checked here against the
rules c2pa enforces (see ``shared/notes/trust-dependencies.md``), so a bad certificate stops gazo at start-up
with a message that says what is wrong, instead of failing every request later.

The errors live here because the identity is the bottom of the package: everything else imports it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from gazo.errors import GazoError
from gazo.settings import ProvenanceSettings

log = logging.getLogger(__name__)

SignCallback = Callable[[bytes], bytes]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

#: The C2PA claim-signing EKU; c2pa also needs a classic one (emailProtection) beside it.
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
#: EKUs c2pa's default trust configuration accepts on an end-entity certificate.
ACCEPTED_EKUS = {
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ExtendedKeyUsageOID.TIME_STAMPING,
    ExtendedKeyUsageOID.OCSP_SIGNING,
}
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


class ProvenanceError(GazoError):
    """Signing or reading Content Credentials failed; the image must not leave unsigned (HTTP 500)."""

    code = "provenance_failed"


class ProvenanceConfigError(ProvenanceError):
    """The signing identity is unusable (broken, mismatched or expired certificate); raised at start-up."""

    code = "provenance_misconfigured"


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
        chain, key, source = _local_identity(data_dir / "provenance", settings.organization)
    else:
        chain = _read_certs(settings.cert_chain_file, "provenance.cert_chain_file")
        key, source = None, f"`{settings.cert_chain_file}`"
        if callback is None:
            if settings.private_key_file is None:
                raise ProvenanceConfigError(
                    "`provenance.private_key_file` (or `sign_callback`) is required with `cert_chain_file`"
                )
            key = _read_key(settings.private_key_file)
    chain = check_chain(chain, key, source=source)
    alg = _check_alg(chain[0].public_key(), settings.signing_alg, source)
    return SigningIdentity(
        chain_pem=b"".join(_pem(cert) for cert in chain),
        alg=alg,
        anchor_pem=_pem(chain[-1]).decode(),
        private_key_pem=None if key is None else _pkcs8(key),
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
        matching = [cert for cert in certs if _same_key(cert.public_key(), key)]
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


# --- the local identity --------------------------------------------------------------------------------


def _local_identity(folder: Path, organization: str) -> tuple[list[x509.Certificate], PrivateKey, str]:
    """Load `<data_dir>/provenance/`: create root and signer on first use, renew a signer near its expiry.

    The root CA's key stays in the folder so an expiring signer can be re-issued without changing the root
    that verifiers were told to trust.
    """
    source = f"`{folder}`"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(folder / ".lock"):
        root = _ensure_root(folder, organization, source)
        for secret in (folder / ROOT_KEY, folder / SIGNER_KEY):
            if secret.exists() and secret.stat().st_mode & 0o077:
                log.warning("%s was readable by others; restricting it to its owner", secret)
                secret.chmod(0o600)
        if (folder / SIGNER_CHAIN).exists() and (folder / SIGNER_KEY).exists():
            chain = _read_certs(folder / SIGNER_CHAIN, "signer chain")
            expires = chain[0].not_valid_after_utc
            if expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=RENEW_BEFORE_DAYS):
                return chain, _read_key(folder / SIGNER_KEY), source
            log.info("renewing the C2PA signing certificate in %s (expires %s)", folder, expires)
        root_key = _read_key(folder / ROOT_KEY)
        if not _same_key(root.public_key(), root_key):
            raise ProvenanceConfigError(f"{folder / ROOT_KEY} does not match {folder / ROOT_CERT}")
        key = ec.generate_private_key(ec.SECP256R1())
        chain = [_signer_cert(key, root, root_key), root]
        _write(folder / SIGNER_KEY, _pkcs8(key), secret=True)
        _write(folder / SIGNER_CHAIN, b"".join(_pem(cert) for cert in chain))
        return chain, key, source


def _ensure_root(folder: Path, organization: str, source: str) -> x509.Certificate:
    if not (folder / ROOT_CERT).exists():
        if (folder / SIGNER_CHAIN).exists():
            raise ProvenanceConfigError(
                f"{source} has a signer but no {ROOT_CERT}; move the folder away to start over"
            )
        root_key = ec.generate_private_key(ec.SECP256R1())
        _write(folder / ROOT_KEY, _pkcs8(root_key), secret=True)
        _write(folder / ROOT_CERT, _pem(_root_cert(root_key, organization)))
        log.info("created a C2PA root CA in %s", folder)
    return _read_certs(folder / ROOT_CERT, "root certificate")[0]


def _root_cert(key: ec.EllipticCurvePrivateKey, organization: str) -> x509.Certificate:
    name = _name(organization, f"{organization} C2PA Root CA")
    return (
        _cert_builder(name, name, key.public_key(), ROOT_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )


def _signer_cert(
    key: ec.EllipticCurvePrivateKey, root: x509.Certificate, root_key: PrivateKey
) -> x509.Certificate:
    organization = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    ekus = [ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING]
    return (
        _cert_builder(
            _name(str(organization), f"{organization} image signer"),
            root.subject,
            key.public_key(),
            SIGNER_DAYS,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )


def _cert_builder(
    subject: x509.Name, issuer: x509.Name, public_key: object, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
    )


def _name(organization: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(**on: bool) -> x509.KeyUsage:
    return x509.KeyUsage(**(dict.fromkeys(_KEY_USAGE_FLAGS, False) | on))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
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


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Write atomically; secrets are created owner-only (0600) so they are never readable, even briefly."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# --- reading PEM ---------------------------------------------------------------------------------------


def _read_certs(path: Path, what: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as exc:
        raise ProvenanceConfigError(f"cannot read `{what}` {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ProvenanceConfigError(f"`{what}` {path} is not a PEM certificate chain: {exc}") from exc
    return certs


def _read_key(path: Path) -> PrivateKey:
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
    return callback  # type: ignore[no-any-return]


def _extension(cert: x509.Certificate, kind: type) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _same_key(public_key: object, private_key: PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return public_key.public_bytes(*spki) == private_key.public_key().public_bytes(*spki)  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _find_issuer(cert: x509.Certificate, pool: list[x509.Certificate]) -> x509.Certificate | None:
    if cert.issuer == cert.subject:
        return None
    return next((other for other in pool if other.subject == cert.issuer and other is not cert), None)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
