"""The registry of SSL experiments between the lab's parties (``smslab ssl-matrix``).

Expected outcomes of the "weak" cases are what OpenSSL here really does, measured (stdlib ``ssl`` on
OpenSSL 3.0, default security level 2; pyOpenSSL/cryptography on their bundled OpenSSL 3.4):

- RSA 1024: refused at level 2 (``verify_code 66 / EE certificate key too weak``), accepted at level 1;
  a server at level 2 will not even load it (``EE_KEY_TOO_SMALL``).
- SHA-1 signature: refused at levels 2 and 1 (``verify_code 68 / CA signature digest algorithm too
  weak``), accepted only at level 0; a server at level 2 will not load it (``CA_MD_TOO_WEAK``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence

from certs.cases import Case, fill
from certs.negotiate import Knobs, pyopenssl_client
from certs.pki import Pki, PkiOptions
from certs.probe import Outcome, Peer, describe_error, handshake, stdlib_client
from certs.proxy_cases import PROXY_CASES
from sim.core.errors import ConfigError
from sim.core.validation import load_cic_config

__all__ = ["CASES", "CONFIG_CASES", "PROXY_CASES", "TLS_CASES"]

V = ssl.TLSVersion
_BROKER_SIDE = "broker (trusts the public CA)"
_NAMED = "proxy, named certificate"
# The proxy rewrites to the CIC server's IP address (seed 002, "Reverse Proxy- URL Rewrite":
# https://<IP ADDRESS OF CIC server>/receivesms.php{R:0}), so that is the name it checks.
_NODE_HOST = "127.0.0.1"
_MO = "seed 002, SSL Certificate"
_REENCRYPT = "seed 002, Reverse Proxy - CIC Server's certificate; switchover.md §2.2"
_NEGOTIATION = "switchover.md §8.5-8.7"
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


def _mo_cases() -> list[Case]:
    """Broker -> proxy, the MO push (seed 002, "SSL Certificate" and "... HTTPS Binding")."""
    imported = "broker, after importing the proxy's self-signed certificate"
    return [
        Case(
            "broker-to-proxy-self-signed",
            _BROKER_SIDE,
            "proxy, IIS self-signed certificate",
            "refused",
            "verify_code 18 / self-signed certificate",
            stdlib("proxy-self-signed", "broker"),
            source="seed 002, Reverse Proxy - Default Web Site HTTPS Binding (note)",
        ),
        Case(
            "broker-to-proxy-self-signed-imported",
            imported,
            "proxy, IIS self-signed certificate",
            "accepted",
            "TLSv1.3",
            stdlib("proxy-self-signed", "broker-imported"),
            source="seed 002, Reverse Proxy - Default Web Site HTTPS Binding (note)",
        ),
        Case(
            "broker-to-proxy-named",
            _BROKER_SIDE,
            _NAMED,
            "accepted",
            "TLSv1.3",
            stdlib("proxy-named", "broker"),
            source=_MO,
        ),
        Case(
            "broker-to-proxy-wildcard",
            _BROKER_SIDE,
            "proxy, wildcard *.{parent}",
            "accepted",
            "TLSv1.3",
            stdlib("proxy-wildcard", "broker"),
            source=_MO,
        ),
        Case(
            "broker-to-proxy-wildcard-bare-domain",
            f"{_BROKER_SIDE}, asking for {{parent}}",
            "proxy, wildcard *.{parent}",
            "refused",
            "verify_code 62 / Hostname mismatch, certificate is not valid for '{parent}'.",
            stdlib("proxy-wildcard", "broker", "{parent}"),
            source="RFC 6125 §6.4.3",
        ),
        Case(
            "broker-to-proxy-wrong-host",
            _BROKER_SIDE,
            "proxy, certificate for portal.example",
            "refused",
            "verify_code 62 / Hostname mismatch, certificate is not valid for '{fqdn}'.",
            stdlib("proxy-wrong-host", "broker"),
            source=_MO,
        ),
        Case(
            "broker-to-proxy-expired",
            _BROKER_SIDE,
            "proxy, expired certificate",
            "refused",
            "verify_code 10 / certificate has expired",
            stdlib("proxy-expired", "broker"),
            source=_MO,
        ),
        Case(
            "broker-to-proxy-not-yet-valid",
            _BROKER_SIDE,
            "proxy, certificate not valid yet",
            "refused",
            "verify_code 9 / certificate is not yet valid",
            stdlib("proxy-not-yet-valid", "broker"),
            source=_MO,
        ),
        Case(
            "broker-to-proxy-unknown-issuer",
            _BROKER_SIDE,
            "proxy, certificate from an unknown CA",
            "refused",
            "verify_code 20 / unable to get local issuer certificate",
            stdlib("proxy-unknown-issuer", "broker"),
            source=_MO,
        ),
    ]


def _reencrypt_cases() -> list[Case]:
    """Proxy -> CIC node with re-encrypt: the proxy validates the node's certificate (§2.2)."""
    proxy = "proxy (trusts ServerGroup root, CIC CA as intermediate)"
    chain = [
        "CN=cic-primary.{domain},OU=node-primary,O=smslab",
        "CN=smslab cic-ca,OU=cic-ca,O=smslab",
        "CN=smslab servergroup-root,OU=servergroup-root,O=smslab",
    ]
    return [
        Case(
            "proxy-to-primary-reencrypt",
            proxy,
            "node primary, server cert + CIC CA",
            "accepted",
            "TLSv1.3",
            stdlib("node-primary", "proxy", _NODE_HOST),
            source=_REENCRYPT,
        ),
        Case(
            "proxy-to-backup-reencrypt",
            proxy,
            "node backup, server cert + CIC CA",
            "accepted",
            "TLSv1.3",
            stdlib("node-backup", "proxy", _NODE_HOST),
            source=_REENCRYPT,
        ),
        # ARR answers 502.3 here (switchover.md §2.2); that check joins when sim/proxy exists.
        Case(
            "proxy-to-node-without-servergroup-trust",
            "proxy (trusts the public CA only)",
            "node primary",
            "refused",
            "verify_code 20 / unable to get local issuer certificate",
            stdlib("node-primary", "broker", _NODE_HOST),
            source=_REENCRYPT,
        ),
        # The seed allows the CIC CA in the Trusted Root store; OpenSSL (without PARTIAL_CHAIN) still
        # wants the self-signed ServerGroup root. Whether Windows accepts it is GAP.
        Case(
            "proxy-to-node-cic-ca-only",
            "proxy (trusts the CIC CA only)",
            "node primary",
            "refused",
            "verify_code 2 / unable to get issuer certificate",
            stdlib("node-primary", ["cic-ca"], _NODE_HOST),
            source=_REENCRYPT,
        ),
        Case(
            "proxy-intermediate-store-completes-chain",
            proxy,
            "node primary, server cert only",
            "accepted",
            "TLSv1.3",
            stdlib("node-primary", "proxy", _NODE_HOST, send_chain=False),
            source=_REENCRYPT,
        ),
        Case(
            "proxy-root-only-node-sends-leaf-only",
            "proxy (trusts the ServerGroup root only)",
            "node primary, server cert only",
            "refused",
            "verify_code 20 / unable to get local issuer certificate",
            stdlib("node-primary", ["servergroup-root"], _NODE_HOST, send_chain=False),
            source=_REENCRYPT,
        ),
        Case(
            "proxy-to-primary-verified-chain",
            f"{proxy}, pyOpenSSL",
            "node primary",
            "accepted",
            "TLSv1.3",
            openssl("node-primary", "proxy", _NODE_HOST),
            facts={"verified_chain": chain},
            source=_REENCRYPT,
        ),
    ]


def _mt_cases() -> list[Case]:
    """CIC node -> broker, MT over HTTPS (seed 002, "SSL Certificate", last paragraph)."""
    node = "CIC node (trusts the public CA)"
    cases = [
        Case(
            f"node-to-broker-{b}",
            node,
            f"broker {b}",
            "accepted",
            "TLSv1.3",
            stdlib(f"broker-{b}", "node", f"{b}.{{domain}}"),
            source=_MO,
        )
        for b in PkiOptions().brokers
    ]
    return [
        *cases,
        Case(
            "node-to-broker-trusting-cic-chain-only",
            "CIC node (trusts only the CIC chain)",
            "broker kaleyra",
            "refused",
            "verify_code 20 / unable to get local issuer certificate",
            stdlib("broker-kaleyra", "proxy", "kaleyra.{domain}"),
            source=_MO,
        ),
    ]


def _version_cases() -> list[Case]:
    """TLS 1.2-only and TLS 1.3-only peers against each other and against 1.2-1.3 peers (§8.7)."""
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
    """Cipher, ALPN and host-name details, where pyOpenSSL shows what stdlib does not (§8.5)."""
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
            source="switchover.md §8.5 (pyca/pyopenssl#1020)",
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


TLS_CASES: list[Case] = [
    *_mo_cases(),
    *_reencrypt_cases(),
    *_mt_cases(),
    *_version_cases(),
    *_detail_cases(),
    *_weak_cases(),
]

#: Configuration-level cases: the outcome of validating a lab configuration rather than a handshake,
#: e.g. a broker with MO on HTTPS and MT on HTTP, which seed 002 ("Using SSL") forbids: "both MO and
#: MT from the CIC server can use either HTTP or HTTPS, but you must use the same for both". Such a case
#: uses ``kind="config"``, lists the configuration module in ``needs``, and its ``run`` returns an
#: ``Outcome`` whose reason is the validation message. The configuration model lives in ``sim/core``.
def _mixed_scheme_broker(_pki: Pki) -> Outcome:
    """Validate a broker whose MO listener is HTTPS while its MT gateway is HTTP."""
    broker = {"name": "kaleyra", "type": "kaleyra", "encryption": "HTTPS",
              "mo": {"incoming_port": 8443, "incoming_path": "/kaleyra/mo"},
              "mt": {"gateway": "http://127.0.0.1:9001"}}
    try:
        load_cic_config({"brokers": [broker]}, "ssl-matrix")
    except ConfigError as exc:
        problem = exc.problems[0]
        return Outcome(False, f"{problem.path}: {problem.reason}", {"value": problem.value})
    return Outcome(True, "configuration accepted")


CONFIG_CASES: list[Case] = [
    Case(
        "config-mo-https-mt-http",
        "lab configuration (broker kaleyra)",
        "config validation",
        "refused",
        "brokers[0].mt.gateway: must use https like the broker's encryption HTTPS",
        _mixed_scheme_broker,
        facts={"value": "http://127.0.0.1:9001"},
        needs=("sim.core.validation",),
        kind="config",
        source="seed 002, Using SSL",
    ),
]

#: Every experiment ``smslab ssl-matrix`` runs, in report order.
CASES: list[Case] = [*TLS_CASES, *PROXY_CASES, *CONFIG_CASES]
