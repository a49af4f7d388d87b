"""Real TLS handshakes on loopback, bounded in time, reported as :class:`Outcome` values.

A :class:`Listener` accepts one connection on ``127.0.0.1`` (port 0, the real port read back) in a
thread and performs the server side with a stdlib ``ssl`` context. The client side is either stdlib
``ssl`` (:func:`stdlib_client`), which checks host names and reports precise ``verify_code`` values, or
pyOpenSSL (:func:`pyopenssl_client`, in :mod:`certs.negotiate`) where negotiation details matter. Every
socket has a timeout and every thread is joined before returning.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["HANDSHAKE_TIMEOUT", "Listener", "Outcome", "Peer", "describe_error", "handshake", "stdlib_client"]

#: Upper bound, in seconds, on each blocking step of a handshake (connect, accept, read).
HANDSHAKE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Outcome:
    """What one handshake came to.

    Attributes:
        accepted: whether the client accepted the connection.
        reason: why, exactly: ``"verify_code 18 / self-signed certificate"``, an OpenSSL error reason,
            or for an accepted connection the negotiated protocol version.
        details: further facts (cipher, ALPN, the server's view, the verified chain ...).
    """

    accepted: bool
    reason: str
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Peer:
    """Knobs of one side of a handshake, applied to an ``ssl.SSLContext``."""

    minimum: ssl.TLSVersion | None = None
    maximum: ssl.TLSVersion | None = None
    ciphers: str | None = None
    alpn: tuple[str, ...] = ()

    def apply(self, ctx: ssl.SSLContext) -> ssl.SSLContext:
        """Set the version range, TLS 1.2 cipher list and ALPN protocols on ``ctx``; return it."""
        if self.minimum is not None:
            ctx.minimum_version = self.minimum
        if self.maximum is not None:
            ctx.maximum_version = self.maximum
        if self.ciphers is not None:
            ctx.set_ciphers(self.ciphers)
        if self.alpn:
            ctx.set_alpn_protocols(list(self.alpn))
        return ctx


def describe_error(exc: BaseException) -> str:
    """A stable one-line reason for a failed handshake, without file and line numbers."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"verify_code {exc.verify_code} / {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"{exc.library or 'SSL'} error {exc.reason}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


class Listener:
    """A one-connection TLS server on ``127.0.0.1``; use as a context manager, read :attr:`port`."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self._ctx = ctx
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(HANDSHAKE_TIMEOUT)
        self.port: int = self._sock.getsockname()[1]
        self.view = "no connection"
        self._thread = threading.Thread(target=self._serve, name=f"tls-probe-{self.port}", daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None and self._thread.is_alive():
            # The client failed, perhaps before connecting: wake accept() rather than wait it out.
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=HANDSHAKE_TIMEOUT).close()
        self._thread.join(3 * HANDSHAKE_TIMEOUT)
        self._sock.close()

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError as exc:
            self.view = describe_error(exc)
            return
        with conn:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            try:
                with self._ctx.wrap_socket(conn, server_side=True) as tls:
                    self.view = f"accepted {tls.version()}"
                    tls.recv(1)  # wait for the client to hang up, so both sides finish the exchange
            except (ssl.SSLError, OSError) as exc:
                # A failure after the handshake (the client closing without close_notify) is no news.
                if self.view == "no connection":
                    self.view = describe_error(exc)


def stdlib_client(ctx: ssl.SSLContext, port: int, host: str) -> Outcome:
    """Connect to ``127.0.0.1:port`` as ``host`` (SNI and host name check) with a stdlib context."""
    with socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                cipher = tls.cipher()
                return Outcome(
                    True,
                    str(tls.version()),
                    {"cipher": cipher[0] if cipher else None, "alpn": tls.selected_alpn_protocol()},
                )
        except (ssl.SSLError, OSError) as exc:
            details: dict[str, object] = {"error": str(exc).split(" (_ssl.c")[0]}
            return Outcome(False, describe_error(exc), details)


Client = Callable[[int], Outcome]


def handshake(server_ctx: ssl.SSLContext, client: Client) -> Outcome:
    """Run ``client(port)`` against a fresh :class:`Listener`; the server's view joins the details."""
    with Listener(server_ctx) as listener:
        outcome = client(listener.port)
    return Outcome(outcome.accepted, outcome.reason, {**outcome.details, "server": listener.view})
