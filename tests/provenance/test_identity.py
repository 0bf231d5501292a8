"""The signing identity: created once and reused, owner-only keys, operator chains, clear start-up errors."""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from gazo.errors import GazoError
from gazo.provenance import Provenance, ProvenanceConfigError, ProvenanceError, local_ca
from gazo.provenance.identity import C2PA_CLAIM_SIGNING
from gazo.provenance.local_ca import key_usage
from gazo.settings import ProvenanceSettings
from tests.support.pixels import png_bytes

VERSION = "0.1.0"
NOW = dt.datetime.now(dt.UTC)


def _png() -> bytes:
    return png_bytes(Image.new("RGB", (32, 32), (200, 40, 40)))


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Operator"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Operator Root"))
        .issuer_name(_name("Operator Root"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    ekus: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING),
    expired: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    end = NOW - dt.timedelta(days=1) if expired else NOW + dt.timedelta(days=365)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("Operator Signer"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
    return builder.sign(root_key, hashes.SHA256()), key


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _write_operator_files(folder: Path, chain: bytes, key: ec.EllipticCurvePrivateKey) -> ProvenanceSettings:
    (folder / "chain.pem").write_bytes(chain)
    # SEC1 ("BEGIN EC PRIVATE KEY"), which c2pa itself refuses: gazo converts it to PKCS#8.
    sec1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (folder / "signer.key").write_bytes(sec1)
    return ProvenanceSettings(cert_chain_file=folder / "chain.pem", private_key_file=folder / "signer.key")


def _signer_serial(provenance: Provenance, data: bytes) -> str | None:
    report = provenance.verify(data)
    assert report.signer is not None
    return report.signer.serial_number


def test_first_start_creates_an_identity_with_owner_only_keys(tmp_path: Path) -> None:
    Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    folder = tmp_path / "provenance"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("root-ca.key", "signer.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert {p.name for p in folder.iterdir()} >= {
        "root-ca.pem",
        "root-ca.key",
        "signer-chain.pem",
        "signer.key",
    }


def test_generated_certificates_follow_the_c2pa_rules(tmp_path: Path) -> None:
    provenance = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    leaf, root = x509.load_pem_x509_certificates(provenance.identity.chain_pem)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    ekus = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert ekus == {ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING}
    assert leaf.issuer == root.subject and root.issuer == root.subject
    assert provenance.trust_anchor_pem() == _pem(root).decode()
    assert provenance.identity.alg == "es256"


def test_restart_signs_with_the_same_certificate(tmp_path: Path) -> None:
    first = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    signed_before = first.sign(_png(), mime="image/png", model="m")
    second = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    signed_after = second.sign(_png(), mime="image/png", model="m")
    assert second.identity.chain_pem == first.identity.chain_pem
    assert second.trust_anchor_pem() == first.trust_anchor_pem()
    assert _signer_serial(second, signed_before) == _signer_serial(second, signed_after)
    assert second.verify(signed_before).state == "Trusted"


def test_signer_near_expiry_is_renewed_under_the_same_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_ca, "SIGNER_DAYS", 10)  # below the 30-day renewal margin
    first = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    second = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    assert second.identity.certificate.serial_number != first.identity.certificate.serial_number
    assert second.trust_anchor_pem() == first.trust_anchor_pem()
    assert second.verify(first.sign(_png(), mime="image/png", model="m")).state == "Trusted"


def test_operator_chain_and_key_sign_trusted(tmp_path: Path) -> None:
    root, root_key = _ca()
    leaf, key = _leaf(root, root_key)
    settings = _write_operator_files(tmp_path, _pem(root, leaf), key)  # root first: gazo reorders it
    provenance = Provenance.from_settings(settings, data_dir=tmp_path / "data", version=VERSION)
    assert provenance.trust_anchor_pem() == _pem(root).decode()
    report = provenance.verify(provenance.sign(_png(), mime="image/png", model="m"))
    assert report.state == "Trusted"
    assert report.signer is not None and "CN=Operator Signer" in report.signer.subject
    assert not (tmp_path / "data" / "provenance").exists()


def test_sign_callback_signs_for_a_key_gazo_never_sees(tmp_path: Path) -> None:
    root, root_key = _ca()
    leaf, key = _leaf(root, root_key)
    (tmp_path / "chain.pem").write_bytes(_pem(leaf, root))
    calls: list[int] = []

    def kms_sign(data: bytes) -> bytes:
        calls.append(len(data))
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    settings = ProvenanceSettings(cert_chain_file=tmp_path / "chain.pem")
    provenance = Provenance.from_settings(
        settings, data_dir=tmp_path, version=VERSION, sign_callback=kms_sign
    )
    assert provenance.verify(provenance.sign(_png(), mime="image/png", model="m")).state == "Trusted"
    assert len(calls) == 2  # the start-up self-test and the image


def _broken(kind: str, folder: Path) -> ProvenanceSettings:
    root, root_key = _ca()
    if kind == "not pem":
        (folder / "chain.pem").write_text("this is not a certificate\n")
        return ProvenanceSettings(cert_chain_file=folder / "chain.pem", private_key_file=folder / "chain.pem")
    if kind == "missing file":
        return ProvenanceSettings(cert_chain_file=folder / "nope.pem", private_key_file=folder / "nope.key")
    if kind == "wrong key":
        leaf, _ = _leaf(root, root_key)
        return _write_operator_files(folder, _pem(leaf, root), ec.generate_private_key(ec.SECP256R1()))
    options = {
        "ca leaf": {"ca": True},
        "no eku": {"ekus": ()},
        "expired": {"expired": True},
        "server eku": {"ekus": (ExtendedKeyUsageOID.SERVER_AUTH,)},
    }
    leaf, key = _leaf(root, root_key, **options.get(kind, {}))
    settings = _write_operator_files(folder, _pem(leaf, root) if kind != "leaf only" else _pem(leaf), key)
    if kind == "wrong alg":
        return settings.model_copy(update={"signing_alg": "es384"})
    return settings


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not pem", "is not a PEM certificate chain"),
        ("missing file", "cannot read `provenance.cert_chain_file`"),
        ("wrong key", "does not match any certificate"),
        ("ca leaf", "is a CA certificate"),
        ("no eku", "extendedKeyUsage emailProtection"),
        ("server eku", "extendedKeyUsage emailProtection"),
        ("expired", "is valid only from"),
        ("leaf only", "holds no issuer"),
        ("wrong alg", "implies `es256`"),
    ],
)
def test_broken_certificate_stops_start_up_with_a_clear_message(
    kind: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ProvenanceConfigError, match=message):
        Provenance.from_settings(_broken(kind, tmp_path), data_dir=tmp_path, version=VERSION)


def test_callback_or_key_without_a_chain_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceConfigError, match="cert_chain_file` is required"):
        Provenance.from_settings(
            ProvenanceSettings(sign_callback="os:urandom"), data_dir=tmp_path, version=VERSION
        )


def test_provenance_errors_are_server_errors() -> None:
    assert issubclass(ProvenanceConfigError, ProvenanceError) and issubclass(ProvenanceError, GazoError)
    assert ProvenanceError("x").status == 500 and ProvenanceError("x").type == "server_error"


def test_unreadable_png_is_not_signed(tmp_path: Path) -> None:
    provenance = Provenance.from_settings(ProvenanceSettings(), data_dir=tmp_path, version=VERSION)
    with pytest.raises(ProvenanceError, match="Signing"):
        provenance.sign(io.BytesIO(b"not a png").getvalue(), mime="image/png", model="m")


def test_unreachable_timestamp_authority_stops_start_up(tmp_path: Path) -> None:
    settings = ProvenanceSettings(tsa_url="http://127.0.0.1:9/tsa")
    with pytest.raises(
        ProvenanceConfigError, match=r"timestamp authority `provenance\.tsa_url` could not be reached"
    ):
        Provenance.from_settings(settings, data_dir=tmp_path, version=VERSION)
