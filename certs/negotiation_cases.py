"""ssl-matrix cases of the negotiation itself: TLS versions, what the handshake shows, and weak keys and
signatures.

Expected outcomes of the "weak" cases are what OpenSSL here really does, measured (stdlib ``ssl`` on
OpenSSL 3.0, default security level 2; pyOpenSSL/cryptography on their bundled OpenSSL 3.4):

- RSA 1024: refused at level 2 (``verify_code 66 / EE certificate key too weak``), accepted at level 1;
  a server at level 2 will not even load it (``EE_KEY_TOO_SMALL``).
- SHA-1 signature: refused at levels 2 and 1 (``verify_code 68 / CA signature digest algorithm too
  weak``), accepted only at level 0; a server at level 2 will not load it (``CA_MD_TOO_WEAK``).
"""

from __future__ import annotations

import ssl

from certs.case_steps import NEGOTIATION_SOURCE as _NEGOTIATION
from certs.case_steps import openssl, server_setup, stdlib
from certs.cases import Case
from certs.negotiate import Knobs
from certs.probe import Peer

__all__ = ["NEGOTIATION_CASES"]

V = ssl.TLSVersion


def _version_cases() -> list[Case]:
    """TLS 1.2-only and TLS 1.3-only peers against each other and against 1.2-1.3 peers."""
    only12, only13 = Peer(maximum=V.TLSv1_2), Peer(minimum=V.TLSv1_3)
    refused = "SSL error TLSV1_ALERT_PROTOCOL_VERSION"
    grid = [
        (
            "tls12-client-to-tls13-server",
            "broker, TLS 1.2 only",
            "proxy, TLS 1.3 only",
            only12,
            only13,
            refused,
        ),
        (
            "tls13-client-to-tls12-server",
            "broker, TLS 1.3 only",
            "proxy, TLS 1.2 only",
            only13,
            only12,
            refused,
        ),
        (
            "tls12-client-to-flexible-server",
            "broker, TLS 1.2 only",
            "proxy, TLS 1.2-1.3",
            only12,
            Peer(),
            "TLSv1.2",
        ),
        (
            "tls13-client-to-flexible-server",
            "broker, TLS 1.3 only",
            "proxy, TLS 1.2-1.3",
            only13,
            Peer(),
            "TLSv1.3",
        ),
        (
            "flexible-client-to-tls12-server",
            "broker, TLS 1.2-1.3",
            "proxy, TLS 1.2 only",
            Peer(),
            only12,
            "TLSv1.2",
        ),
        (
            "flexible-client-to-tls13-server",
            "broker, TLS 1.2-1.3",
            "proxy, TLS 1.3 only",
            Peer(),
            only13,
            "TLSv1.3",
        ),
    ]
    return [
        Case(
            name,
            client,
            server,
            "refused" if reason == refused else "accepted",
            reason,
            stdlib("proxy-named", "broker", client_peer=cp, server_peer=sp),
            source=_NEGOTIATION,
        )
        for name, client, server, cp, sp, reason in grid
    ]


def _detail_cases() -> list[Case]:
    """Cipher, ALPN and host-name details, where pyOpenSSL shows what stdlib does not."""
    ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"
    knobs12 = Knobs(maximum="TLSv1.2", ciphers=ciphers, alpn=("h2", "http/1.1"))
    wrong = "proxy, certificate for portal.example"
    return [
        Case(
            "tls12-cipher-and-alpn",
            "broker, pyOpenSSL, TLS 1.2, AES128-GCM, ALPN h2,http/1.1",
            "proxy, ALPN http/1.1",
            "accepted",
            "TLSv1.2",
            openssl("proxy-named", "broker", knobs=knobs12, server_peer=Peer(alpn=("http/1.1",))),
            facts={"cipher": "ECDHE-RSA-AES128-GCM-SHA256", "cipher_version": "TLSv1.2", "alpn": "http/1.1"},
            source=_NEGOTIATION,
        ),
        Case(
            "alpn-without-overlap",
            "broker, ALPN http/1.1",
            "proxy, ALPN h2",
            "accepted",
            "TLSv1.3",
            stdlib(
                "proxy-named", "broker", client_peer=Peer(alpn=("http/1.1",)), server_peer=Peer(alpn=("h2",))
            ),
            facts={"alpn": None},
            source="RFC 7301 §3.2 (the stdlib server does not abort)",
        ),
        Case(
            "pyopenssl-skips-host-names",
            "broker, pyOpenSSL VERIFY_PEER, no host check",
            wrong,
            "accepted",
            "TLSv1.3",
            openssl("proxy-wrong-host", "broker", knobs=Knobs(check_host=False)),
            source="pyca/pyopenssl#1020 (no host name check)",
        ),
        Case(
            "pyopenssl-explicit-host-check",
            "broker, pyOpenSSL with explicit host check",
            wrong,
            "refused",
            "host name check: '{fqdn}' is not among the subjectAltName entries (portal.example)",
            openssl("proxy-wrong-host", "broker"),
            facts={"handshake": "completed"},
            source=_NEGOTIATION,
        ),
        Case(
            "pyopenssl-verify-callback-self-signed",
            "broker, pyOpenSSL verify callback",
            "proxy, IIS self-signed certificate",
            "refused",
            "errnum 18 depth 0 / ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
            openssl("proxy-self-signed", "broker"),
            source=_NEGOTIATION,
        ),
    ]


def _weak_cases() -> list[Case]:
    """RSA 1024 and SHA-1 certificates against OpenSSL security levels (module docstring)."""
    key, sig = "proxy, RSA 1024 key (server at level 0)", "proxy, SHA-1 signature (server at level 0)"
    level = "broker at security level {}"
    return [
        Case(
            "weak-key-default-level",
            level.format(2),
            key,
            "refused",
            "verify_code 66 / EE certificate key too weak",
            stdlib("proxy-weak-key", "broker", server_level=0),
            source="OpenSSL SSL_CTX_set_security_level(3)",
        ),
        Case(
            "weak-key-level-1",
            level.format(1),
            key,
            "accepted",
            "TLSv1.3",
            stdlib("proxy-weak-key", "broker", server_level=0, client_level=1),
        ),
        Case(
            "weak-key-server-default-level",
            "-",
            "proxy, RSA 1024 key at level 2",
            "refused",
            "SSL error EE_KEY_TOO_SMALL",
            server_setup("proxy-weak-key"),
        ),
        Case(
            "weak-signature-default-level",
            level.format(2),
            sig,
            "refused",
            "verify_code 68 / CA signature digest algorithm too weak",
            stdlib("proxy-weak-signature", "broker", server_level=0),
        ),
        Case(
            "weak-signature-level-1",
            level.format(1),
            sig,
            "refused",
            "verify_code 68 / CA signature digest algorithm too weak",
            stdlib("proxy-weak-signature", "broker", server_level=0, client_level=1),
        ),
        Case(
            "weak-signature-level-0",
            level.format(0),
            sig,
            "accepted",
            "TLSv1.3",
            stdlib("proxy-weak-signature", "broker", server_level=0, client_level=0),
        ),
        Case(
            "weak-signature-server-default-level",
            "-",
            "proxy, SHA-1 signature at level 2",
            "refused",
            "SSL error CA_MD_TOO_WEAK",
            server_setup("proxy-weak-signature"),
        ),
    ]


#: The negotiation cases, in report order.
NEGOTIATION_CASES: list[Case] = [*_version_cases(), *_detail_cases(), *_weak_cases()]
