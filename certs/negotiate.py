"""The pyOpenSSL client probe: negotiation details, a verify callback, and an explicit host name check.

pyOpenSSL is used here and nowhere else, and only through ``OpenSSL.SSL`` (pyOpenSSL's README: use
cryptography for anything but TLS connections). It reports what stdlib ``ssl`` does not: the cipher's
protocol version, the verified chain, and, through a verify callback, the X.509 error number and depth of
the first failure. It does **not** check
host names (pyca/pyopenssl#1020), so :func:`host_problem` does, after the handshake.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from OpenSSL import SSL, crypto

from certs.probe import HANDSHAKE_TIMEOUT, Outcome

__all__ = ["Knobs", "host_problem", "pyopenssl_client"]

_VERSIONS = {"TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}
# X509_V_ERR_* number -> pyOpenSSL's name for it (a plain class of constants, not an Enum).
_CODES = {v: k for k, v in vars(SSL.X509VerificationCodes).items() if isinstance(v, int)}


@dataclass(frozen=True)
class Knobs:
    """Client settings for a pyOpenSSL probe: version range (``"TLSv1.2"``/``"TLSv1.3"``), TLS 1.2
    cipher list, ALPN protocols, and whether to check the host name after the handshake."""

    minimum: str | None = None
    maximum: str | None = None
    ciphers: str | None = None
    alpn: tuple[str, ...] = ()
    check_host: bool = True


def host_problem(cert: x509.Certificate, host: str) -> str | None:
    """Why ``cert`` does not name ``host`` (None when it does).

    DNS names match case-insensitively; a ``*`` left-most label matches exactly one label
    (RFC 6125 §6.4.3); an IP literal matches an ``iPAddress`` entry only (RFC 6125 §6.2.1).
    """
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "certificate has no subjectAltName"
    try:
        if ipaddress.ip_address(host) in names.get_values_for_type(x509.IPAddress):
            return None
    except ValueError:
        wanted = host.lower().rstrip(".").split(".")
        for dns in names.get_values_for_type(x509.DNSName):
            pattern = dns.lower().split(".")
            if len(pattern) == len(wanted) and _labels_match(pattern, wanted):
                return None
    listed = ", ".join(str(n.value) for n in names)
    return f"{host!r} is not among the subjectAltName entries ({listed})"


def _labels_match(pattern: list[str], wanted: list[str]) -> bool:
    first = pattern[0] in ("*", wanted[0])
    return first and pattern[1:] == wanted[1:]


def _context(trust: Sequence[x509.Certificate], knobs: Knobs, failures: list[tuple[int, int]]) -> SSL.Context:
    """A fresh context per probe: pyOpenSSL 26.2 forbids changing one once it is in use (CHANGELOG)."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    store = ctx.get_cert_store()
    assert store is not None  # a new context always has a store
    for cert in trust:
        store.add_cert(crypto.X509.from_cryptography(cert))

    def record(_conn: SSL.Connection, _cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            failures.append((errnum, depth))
        return bool(ok)

    ctx.set_verify(SSL.VERIFY_PEER, record)
    if knobs.minimum:
        ctx.set_min_proto_version(_VERSIONS[knobs.minimum])
    if knobs.maximum:
        ctx.set_max_proto_version(_VERSIONS[knobs.maximum])
    if knobs.ciphers:
        ctx.set_cipher_list(knobs.ciphers.encode())
    if knobs.alpn:
        ctx.set_alpn_protos([p.encode() for p in knobs.alpn])
    return ctx


def _drive(conn: SSL.Connection, raw: socket.socket) -> None:
    """Finish the handshake on a socket with a timeout (non-blocking underneath), within the bound."""
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT
    while True:
        try:
            conn.do_handshake()
            return
        except (SSL.WantReadError, SSL.WantWriteError) as want:
            remaining = deadline - time.monotonic()
            reading = isinstance(want, SSL.WantReadError)
            ready = select.select([raw] if reading else [], [] if reading else [raw], [], max(remaining, 0))
            if remaining <= 0 or not any(ready):
                raise TimeoutError("handshake timed out") from None


def _details(conn: SSL.Connection) -> dict[str, object]:
    chain = conn.get_verified_chain(as_cryptography=True) or []
    return {
        "version": conn.get_protocol_version_name(),
        "cipher": conn.get_cipher_name(),
        "cipher_version": conn.get_cipher_version(),
        "alpn": conn.get_alpn_proto_negotiated().decode() or None,
        "verified_chain": [c.subject.rfc4514_string() for c in chain],
    }


def _failure(exc: Exception, failures: list[tuple[int, int]]) -> Outcome:
    if failures:
        errnum, depth = failures[0]
        code = _CODES.get(errnum, "unknown")
        return Outcome(False, f"errnum {errnum} depth {depth} / {code}", {"error": str(exc)})
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        # pyOpenSSL's error is the OpenSSL error queue: a list of (library, function, reason).
        return Outcome(False, f"SSL.Error {exc.args[0][-1][-1]}", {"error": str(exc)})
    return Outcome(False, f"{type(exc).__name__}: {exc}", {})


def pyopenssl_client(trust: Sequence[x509.Certificate], port: int, host: str, knobs: Knobs) -> Outcome:
    """Handshake with ``127.0.0.1:port`` as ``host`` (SNI) through pyOpenSSL, trusting ``trust``.

    Returns a refused :class:`Outcome` with ``"host name check: ..."`` when the handshake succeeded but
    the certificate does not name ``host`` (and ``knobs.check_host`` is on).
    """
    failures: list[tuple[int, int]] = []
    ctx = _context(trust, knobs, failures)
    with socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT) as raw:
        conn = SSL.Connection(ctx, raw)
        conn.set_tlsext_host_name(host.encode())
        conn.set_connect_state()
        try:
            _drive(conn, raw)
        except (SSL.Error, OSError) as exc:
            return _failure(exc, failures)
        details = _details(conn)
        leaf = conn.get_peer_certificate(as_cryptography=True)
    problem = host_problem(leaf, host) if knobs.check_host and leaf is not None else None
    if problem:
        return Outcome(False, f"host name check: {problem}", {**details, "handshake": "completed"})
    return Outcome(True, str(details["version"]), details)
