"""Tests of certs.negotiate: the explicit host name check and the pyOpenSSL client probe."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certs import negotiate
from certs.issue import Window, leaf_certificate, name, new_key
from certs.negotiate import Knobs, host_problem, pyopenssl_client
from certs.pki import Pki
from certs.probe import Peer, handshake

NOW = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


def _cert(*hosts: str) -> x509.Certificate:
    window = Window(NOW, NOW + datetime.timedelta(days=1))
    return leaf_certificate(name("x", "test"), new_key("ec", 0), hosts, window)


@pytest.mark.parametrize(
    ("hosts", "host"),
    [
        (("a.lab.test",), "a.lab.test"),
        (("A.Lab.Test",), "a.lab.test"),
        (("*.lab.test",), "anything.lab.test"),
        (("127.0.0.1",), "127.0.0.1"),
        (("::1",), "::1"),
        (("a.lab.test",), "a.lab.test."),
    ],
)
def test_host_matches(hosts: tuple[str, ...], host: str) -> None:
    """Exact names in any case, one-label wildcards, and IP entries match."""
    assert host_problem(_cert(*hosts), host) is None


@pytest.mark.parametrize(
    ("hosts", "host"),
    [
        (("*.lab.test",), "lab.test"),
        (("*.lab.test",), "a.b.lab.test"),
        (("a.lab.test",), "b.lab.test"),
        (("localhost",), "127.0.0.1"),
        (("127.0.0.1",), "127.0.0.2"),
    ],
)
def test_host_mismatches(hosts: tuple[str, ...], host: str) -> None:
    """A wildcard covers one label only; an IP is matched by an iPAddress entry, not a name."""
    assert (
        host_problem(_cert(*hosts), host) == f"{host!r} is not among the subjectAltName entries ({hosts[0]})"
    )


def test_no_subject_alt_name() -> None:
    """A certificate without subjectAltName names no host at all."""
    key = new_key("ec", 0)
    subject = name("a.lab.test", "test")
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
    )
    cert = builder.serial_number(1).not_valid_before(NOW).not_valid_after(NOW).sign(key, hashes.SHA256())
    assert host_problem(cert, "a.lab.test") == "certificate has no subjectAltName"


def test_verified_chain_and_details(pki: Pki) -> None:
    """An accepted pyOpenSSL handshake reports cipher version, ALPN and the verified chain."""
    server = Peer(alpn=("http/1.1",)).apply(pki.server_ssl_context("node-primary"))
    knobs = Knobs(alpn=("http/1.1",))
    outcome = handshake(server, lambda port: pyopenssl_client(pki.trust("proxy"), port, "127.0.0.1", knobs))
    assert (outcome.accepted, outcome.reason) == (True, "TLSv1.3")
    assert (outcome.details["cipher_version"], outcome.details["alpn"]) == ("TLSv1.3", "http/1.1")
    assert len(outcome.details["verified_chain"]) == 3  # type: ignore[arg-type]


def test_verify_callback_records_first_failure(pki: Pki) -> None:
    """The verify callback turns pyOpenSSL's generic failure into errnum, depth and name."""
    server = pki.server_ssl_context("proxy-unknown-issuer")
    outcome = handshake(server, lambda port: pyopenssl_client(pki.trust("broker"), port, "x", Knobs()))
    assert outcome.reason == "errnum 20 depth 0 / ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"


def test_protocol_failure_reason(pki: Pki) -> None:
    """A failure without a verify error is reported with OpenSSL's reason text."""
    server = Peer(maximum=ssl.TLSVersion.TLSv1_2).apply(pki.server_ssl_context("proxy-named"))
    knobs = Knobs(minimum="TLSv1.3")
    outcome = handshake(server, lambda port: pyopenssl_client(pki.trust("broker"), port, "x", knobs))
    assert (outcome.accepted, outcome.reason) == (False, "SSL.Error tlsv1 alert protocol version")


def test_silent_server_is_bounded(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that never answers makes the pyOpenSSL probe give up after the timeout."""
    monkeypatch.setattr(negotiate, "HANDSHAKE_TIMEOUT", 0.2)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        outcome = pyopenssl_client(pki.trust("broker"), silent.getsockname()[1], "x", Knobs())
    assert (outcome.accepted, outcome.reason) == (False, "TimeoutError: handshake timed out")
