"""Keys and X.509 certificates built with cryptography's ``CertificateBuilder``.

The extensions follow the CA hierarchy of pyca/cryptography's X.509 tutorial ("Creating a CA
hierarchy"): roots are ``CA:TRUE`` with ``keyCertSign``; intermediates add ``path_length=0`` and an
authority key identifier; leaves carry their host names in the subjectAltName and ``serverAuth``.

One thing cryptography 44 no longer does is sign a certificate with SHA-1: ``CertificateBuilder.sign``
raises ``UnsupportedAlgorithm('Hash algorithm "sha1" not supported for signatures')`` (measured here).
The weak-signature experiment still needs such a certificate, so :func:`resign_sha1` re-signs the
to-be-signed bytes of a SHA-256 certificate with SHA-1: a small DER edit of the algorithm identifiers.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "KeyType",
    "PrivateKey",
    "Window",
    "ca_certificate",
    "leaf_certificate",
    "name",
    "new_key",
    "resign_sha1",
    "subject_alt_name",
]

KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# DER AlgorithmIdentifiers (RFC 4055 §5, RFC 3279 §2.2.1 and RFC 3279 §2.2.3, RFC 5758 §3.2): what
# CertificateBuilder signs with, and the SHA-1 form that replaces it.
_SHA256_TO_SHA1 = {
    "rsa": (bytes.fromhex("300d06092a864886f70d01010b0500"), bytes.fromhex("300d06092a864886f70d0101050500")),
    "ec": (bytes.fromhex("300a06082a8648ce3d040302"), bytes.fromhex("300906072a8648ce3d0401")),
}


@dataclass(frozen=True)
class Window:
    """A validity period: ``not_before`` up to and including ``not_after`` (both UTC)."""

    not_before: datetime.datetime
    not_after: datetime.datetime


def new_key(key_type: KeyType, key_size: int) -> PrivateKey:
    """Generate a private key.

    Args:
        key_type: ``"rsa"`` (what IIS imports everywhere) or ``"ec"`` (P-256, fast for tests).
        key_size: RSA modulus size in bits; ignored for ``"ec"``.
    """
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def name(common_name: str, unit: str) -> x509.Name:
    """A distinguished name ``O=smslab, OU=<unit>, CN=<common_name>``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smslab"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def subject_alt_name(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    """A subjectAltName with an ``IPAddress`` entry for each IP literal and a ``DNSName`` for the rest."""
    entries: list[x509.GeneralName] = []
    for host in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, window: Window
) -> x509.CertificateBuilder:
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(window.not_before)
        .not_valid_after(window.not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _authority_key_id(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def ca_certificate(
    subject: x509.Name,
    key: PrivateKey,
    window: Window,
    issuer: tuple[x509.Certificate, PrivateKey] | None = None,
) -> x509.Certificate:
    """Issue a CA certificate: self-signed root when ``issuer`` is None, else an intermediate.

    Args:
        subject: the CA's name.
        key: the CA's own private key.
        window: validity period.
        issuer: the signing CA's certificate and key, for an intermediate (``path_length=0``).
    """
    issuer_name = subject if issuer is None else issuer[0].subject
    builder = _builder(subject, issuer_name, key, window).add_extension(
        x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        ),
        critical=True,
    )
    if issuer is not None:
        builder = builder.add_extension(_authority_key_id(issuer[0]), critical=False)
    return builder.sign(key if issuer is None else issuer[1], hashes.SHA256())


def leaf_certificate(
    subject: x509.Name,
    key: PrivateKey,
    hosts: Sequence[str],
    window: Window,
    issuer: tuple[x509.Certificate, PrivateKey] | None = None,
) -> x509.Certificate:
    """Issue a TLS server certificate for ``hosts``; self-signed when ``issuer`` is None.

    The self-signed form is what IIS's "Create Self-Signed Certificate" gives the reverse proxy
    (SMS Technical Reference, "Reverse Proxy - Default Web Site HTTPS Binding"): ``CA:FALSE``, issuer =
    subject.
    """
    issuer_name = subject if issuer is None else issuer[0].subject
    builder = (
        _builder(subject, issuer_name, key, window)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(subject_alt_name(hosts), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(_authority_key_id(issuer[0]), critical=False)
    return builder.sign(key if issuer is None else issuer[1], hashes.SHA256())


def _der(tag: int, body: bytes) -> bytes:
    """One DER TLV (X.690 §8.1.3: short form below 128 bytes, long form above)."""
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _body(der: bytes) -> bytes:
    """The contents of one DER TLV, without its tag and length octets."""
    size = der[1]
    return der[2:] if size < 0x80 else der[2 + (size & 0x7F) :]


def resign_sha1(cert: x509.Certificate, issuer_key: PrivateKey) -> x509.Certificate:
    """Return ``cert`` re-signed by ``issuer_key`` with SHA-1 (sha1WithRSAEncryption or ecdsa-with-SHA1).

    Args:
        cert: a certificate signed with SHA-256 by ``issuer_key``.
        issuer_key: the issuer's RSA or P-256 key.

    Raises:
        ValueError: ``cert`` was not signed with SHA-256 by a key of ``issuer_key``'s type.
    """
    kind = "rsa" if isinstance(issuer_key, rsa.RSAPrivateKey) else "ec"
    sha256_id, sha1_id = _SHA256_TO_SHA1[kind]
    body = _body(cert.tbs_certificate_bytes)
    if body.count(sha256_id) != 1:
        oid = cert.signature_algorithm_oid.dotted_string
        raise ValueError(f"certificate must be signed with {kind}/SHA-256 (got {oid})")
    tbs = _der(0x30, body.replace(sha256_id, sha1_id))
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    else:
        signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA1()))
    # Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature } (RFC 5280 §4.1)
    return x509.load_der_x509_certificate(_der(0x30, tbs + sha1_id + _der(0x03, b"\x00" + signature)))
