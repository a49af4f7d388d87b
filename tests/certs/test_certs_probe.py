"""Tests of certs.probe: the loopback listener, the stdlib client, bounds and cleanup."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from certs import probe
from certs.pki import Pki
from certs.probe import Listener, Outcome, Peer, describe_error, handshake, stdlib_client

FQDN = "webportal.smslab.test"


def test_accepted_handshake_details(pki: Pki) -> None:
    """An accepted handshake reports the version, cipher, ALPN and the server's view."""
    server = Peer(alpn=("http/1.1",)).apply(pki.server_ssl_context("proxy-named"))
    client = Peer(alpn=("h2", "http/1.1")).apply(pki.client_ssl_context("broker"))
    outcome = handshake(server, lambda port: stdlib_client(client, port, FQDN))
    expected: dict[str, object] = {
        "cipher": "TLS_AES_256_GCM_SHA384",
        "alpn": "http/1.1",
        "server": "accepted TLSv1.3",
    }
    assert Outcome(True, "TLSv1.3", expected) == outcome


def test_refused_handshake_reason(pki: Pki) -> None:
    """A refused handshake gives the verify code and message, and the alert the server saw."""
    client = pki.client_ssl_context("broker")
    outcome = handshake(
        pki.server_ssl_context("proxy-expired"), lambda port: stdlib_client(client, port, FQDN)
    )
    assert (outcome.accepted, outcome.reason) == (False, "verify_code 10 / certificate has expired")
    assert outcome.details == {
        "error": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired",
        "server": "SSL error SSLV3_ALERT_CERTIFICATE_EXPIRED",
    }


def test_peer_apply_sets_versions() -> None:
    """Peer.apply sets the version range on the context it returns."""
    ctx = Peer(minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_2).apply(
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    )
    assert (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2) == (ctx.minimum_version, ctx.maximum_version)


def test_listener_survives_garbage(pki: Pki) -> None:
    """A client sending plain text gets no TLS; the listener records why and its thread ends."""
    with (
        Listener(pki.server_ssl_context("proxy-named")) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=5) as raw,
    ):
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        listener._thread.join(5)
    assert listener.view == "SSL error HTTP_REQUEST"


def test_nothing_left_behind(pki: Pki) -> None:
    """After a handshake no probe thread is alive and the listening socket is closed."""
    client = pki.client_ssl_context("broker")
    before = threading.active_count()
    with Listener(pki.server_ssl_context("proxy-named")) as listener:
        stdlib_client(client, listener.port, FQDN)
    assert (before, -1) == (threading.active_count(), listener._sock.fileno())


def test_silent_client_is_bounded(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that connects and never speaks is given up on after the handshake timeout."""
    monkeypatch.setattr(probe, "HANDSHAKE_TIMEOUT", 0.2)
    with (
        Listener(pki.server_ssl_context("proxy-named")) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=5),
    ):
        listener._thread.join(5)
    assert listener.view == "timed out"


def test_silent_server_is_bounded(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers makes the client give up with 'timed out'."""
    monkeypatch.setattr(probe, "HANDSHAKE_TIMEOUT", 0.2)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        outcome = stdlib_client(pki.client_ssl_context("broker"), silent.getsockname()[1], FQDN)
    assert (outcome.accepted, outcome.reason) == (False, "timed out")


def test_describe_error_forms() -> None:
    """Errors other than certificate failures are described by library and reason, or by type."""
    error = ssl.SSLError(1, "[SSL: X] x")
    error.library, error.reason = "SSL", "UNSUPPORTED_PROTOCOL"
    assert describe_error(error) == "SSL error UNSUPPORTED_PROTOCOL"
    assert describe_error(ConnectionResetError("reset")) == "ConnectionResetError: reset"


def test_failing_client_does_not_wait(pki: Pki) -> None:
    """A client that fails before connecting lets the listener end at once, not after its timeout."""

    def failing(port: int) -> Outcome:
        raise KeyError("no such trust")

    before, started = threading.active_count(), time.monotonic()
    with pytest.raises(KeyError, match="no such trust"):
        handshake(pki.server_ssl_context("proxy-named"), failing)
    assert (before, True) == (threading.active_count(), time.monotonic() - started < probe.HANDSHAKE_TIMEOUT)
