"""How an ssl-matrix case runs: a handshake with a stdlib or a pyOpenSSL client, or only a server set-up.

Each function returns the case's ``run``: given the PKI, it builds both parties' contexts, makes one real
handshake on loopback and returns its :class:`~certs.probe.Outcome`. The source names every case cites
are here too, so the case modules share one spelling of each.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence

from certs.cases import fill
from certs.negotiate import Knobs, pyopenssl_client
from certs.pki import Pki
from certs.probe import Outcome, Peer, describe_error, handshake, stdlib_client

__all__ = ["MO_SOURCE", "NEGOTIATION_SOURCE", "REENCRYPT_SOURCE", "openssl", "server_setup", "stdlib"]

MO_SOURCE = "SMS Technical Reference, SSL Certificate"
REENCRYPT_SOURCE = ("SMS Technical Reference, Reverse Proxy - CIC Server's certificate; IIS support blog, "
                    "Troubleshooting SSL certificate issues in reverse proxy")
NEGOTIATION_SOURCE = "measured on loopback (OpenSSL through stdlib ssl and pyOpenSSL)"
_DEFAULT_PEER = Peer()
_DEFAULT_KNOBS = Knobs()


def stdlib(
    server: str,
    trust: str | Sequence[str],
    host: str = "{fqdn}",
    *,
    server_peer: Peer = _DEFAULT_PEER,
    client_peer: Peer = _DEFAULT_PEER,
    server_level: int | None = None,
    client_level: int | None = None,
    send_chain: bool = True,
) -> Callable[[Pki], Outcome]:
    """A handshake with a stdlib client trusting ``trust`` against party ``server``, as ``host``."""

    def run(pki: Pki) -> Outcome:
        server_ctx = pki.server_ssl_context(server, security_level=server_level, send_chain=send_chain)
        client_ctx = client_peer.apply(pki.client_ssl_context(trust, security_level=client_level))
        name = fill(host, pki)
        return handshake(server_peer.apply(server_ctx), lambda port: stdlib_client(client_ctx, port, name))

    return run


def openssl(
    server: str,
    trust: str,
    host: str = "{fqdn}",
    knobs: Knobs = _DEFAULT_KNOBS,
    server_peer: Peer = _DEFAULT_PEER,
) -> Callable[[Pki], Outcome]:
    """A handshake with a pyOpenSSL client trusting bundle ``trust`` against party ``server``."""

    def run(pki: Pki) -> Outcome:
        server_ctx = server_peer.apply(pki.server_ssl_context(server))
        name, anchors = fill(host, pki), pki.trust(trust)
        return handshake(server_ctx, lambda port: pyopenssl_client(anchors, port, name, knobs))

    return run


def server_setup(server: str) -> Callable[[Pki], Outcome]:
    """Only build ``server``'s context at the default security level; refused if OpenSSL will not."""

    def run(pki: Pki) -> Outcome:
        try:
            pki.server_ssl_context(server)
        except ssl.SSLError as exc:
            return Outcome(False, describe_error(exc), {"error": str(exc).split(" (_ssl.c")[0]})
        return Outcome(True, "loaded", {})

    return run
