"""Tests of certs.issue: keys, CA and leaf certificates, the SHA-1 re-signing."""

from __future__ import annotations

import datetime
import ipaddress
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs.issue import Window, ca_certificate, leaf_certificate, name, new_key, resign_sha1, subject_alt_name

E = TypeVar("E", bound=x509.ExtensionType)
NOW = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
WINDOW = Window(NOW, NOW + datetime.timedelta(days=30))


def _ext(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


@pytest.fixture(scope="module")
def rsa_root() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An RSA root CA and its key."""
    key = new_key("rsa", 2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    return ca_certificate(name("root", "test"), key, WINDOW), key


def test_new_key_kinds() -> None:
    """An RSA key has the asked size; an EC key is on P-256."""
    rsa_key, ec_key = new_key("rsa", 2048), new_key("ec", 0)
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    assert (rsa_key.key_size, ec_key.curve.name) == (2048, "secp256r1")


def test_subject_alt_name_types() -> None:
    """IP literals become iPAddress entries and everything else dNSName entries."""
    san = subject_alt_name(["a.test", "*.b.test", "127.0.0.1", "::1"])
    assert san.get_values_for_type(x509.DNSName) == ["a.test", "*.b.test"]
    assert [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")] == san.get_values_for_type(
        x509.IPAddress
    )


def test_root_extensions(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """A root is self-issued, CA without path limit (critical), and may sign certificates and CRLs."""
    root, _ = rsa_root
    constraints, usage = _ext(root, x509.BasicConstraints), _ext(root, x509.KeyUsage)
    assert root.subject == root.issuer
    assert (constraints.critical, constraints.value.ca, constraints.value.path_length) == (True, True, None)
    assert (usage.critical, usage.value.key_cert_sign, usage.value.crl_sign) == (True, True, True)
    root.verify_directly_issued_by(root)


def test_intermediate_extensions(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """An intermediate has path_length 0 and an authority key id equal to the root's subject key id."""
    root, root_key = rsa_root
    inter = ca_certificate(name("inter", "test"), new_key("ec", 0), WINDOW, (root, root_key))
    root_ski = _ext(root, x509.SubjectKeyIdentifier).value.digest
    assert _ext(inter, x509.BasicConstraints).value.path_length == 0
    assert root_ski == _ext(inter, x509.AuthorityKeyIdentifier).value.key_identifier
    inter.verify_directly_issued_by(root)


def test_leaf_extensions(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """A leaf is not a CA, names its hosts, is for server and client auth, and has its window."""
    root, root_key = rsa_root
    leaf = leaf_certificate(
        name("a.test", "test"), new_key("ec", 0), ["a.test", "127.0.0.1"], WINDOW, (root, root_key)
    )
    assert not _ext(leaf, x509.BasicConstraints).value.ca
    assert _ext(leaf, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["a.test"]
    eku = list(_ext(leaf, x509.ExtendedKeyUsage).value)
    assert eku == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (WINDOW.not_before, WINDOW.not_after) == (leaf.not_valid_before_utc, leaf.not_valid_after_utc)
    leaf.verify_directly_issued_by(root)


def test_self_signed_leaf() -> None:
    """Without an issuer a leaf is self-signed, as IIS's "Create Self-Signed Certificate" makes it."""
    leaf = leaf_certificate(name("a.test", "test"), new_key("ec", 0), ["a.test"], WINDOW)
    assert leaf.subject == leaf.issuer
    leaf.verify_directly_issued_by(leaf)


def test_cryptography_refuses_sha1_signing(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """cryptography 44 will not sign a certificate with SHA-1 (the measured fact resign_sha1 works around)."""
    root, key = rsa_root
    builder = x509.CertificateBuilder().subject_name(root.subject).issuer_name(root.subject)
    builder = builder.public_key(key.public_key()).serial_number(1).not_valid_before(NOW).not_valid_after(NOW)
    with pytest.raises(UnsupportedAlgorithm, match="sha1"):
        builder.sign(key, hashes.SHA1())  # type: ignore[arg-type]  # typed out too


def test_resign_sha1_rsa(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """An RSA-issued leaf re-signed with SHA-1 keeps its content and verifies under SHA-1."""
    root, root_key = rsa_root
    leaf = leaf_certificate(name("a.test", "test"), new_key("ec", 0), ["a.test"], WINDOW, (root, root_key))
    weak = resign_sha1(leaf, root_key)
    assert isinstance(weak.signature_hash_algorithm, hashes.SHA1)
    assert (leaf.subject, leaf.serial_number, list(leaf.extensions)) == (
        weak.subject,
        weak.serial_number,
        list(weak.extensions),
    )
    root_key.public_key().verify(
        weak.signature, weak.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1()
    )


def test_resign_sha1_ec() -> None:
    """An EC-issued leaf re-signed with ecdsa-with-SHA1 verifies under SHA-1."""
    ca_key = new_key("ec", 0)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = ca_certificate(name("ca", "test"), ca_key, WINDOW)
    leaf = leaf_certificate(name("a.test", "test"), new_key("ec", 0), ["a.test"], WINDOW, (ca, ca_key))
    weak = resign_sha1(leaf, ca_key)
    assert isinstance(weak.signature_hash_algorithm, hashes.SHA1)
    assert leaf.subject == weak.subject
    ca_key.public_key().verify(weak.signature, weak.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))


def test_resign_sha1_rejects_other_algorithms(rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    """A certificate not signed with SHA-256 by a key of the issuer key's type is refused with the OID."""
    root, root_key = rsa_root
    with pytest.raises(
        ValueError, match=r"must be signed with ec/SHA-256 \(got 1\.2\.840\.113549\.1\.1\.11\)"
    ):
        resign_sha1(root, new_key("ec", 0))
    weak = resign_sha1(root, root_key)
    with pytest.raises(ValueError, match=r"rsa/SHA-256 \(got 1\.2\.840\.113549\.1\.1\.5\)"):
        resign_sha1(weak, root_key)
