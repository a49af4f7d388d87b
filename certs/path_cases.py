"""ssl-matrix cases along the SMS path: broker -> proxy (the MO push), proxy -> CIC node (re-encrypt), and
CIC node -> broker (the MT), each with the certificate the SMS Technical Reference describes and its usual
mistakes.
"""

from __future__ import annotations

from certs.case_steps import MO_SOURCE as _MO
from certs.case_steps import REENCRYPT_SOURCE as _REENCRYPT
from certs.case_steps import openssl, stdlib
from certs.cases import Case
from certs.pki import PkiOptions

__all__ = ["PATH_CASES"]

_BROKER_SIDE = "broker (trusts the public CA)"
_NAMED = "proxy, named certificate"
# The proxy rewrites to the CIC server's IP address (SMS Technical Reference, "Reverse Proxy- URL Rewrite":
# https://<IP ADDRESS OF CIC server>/receivesms.php{R:0}), so that is the name it checks.
_NODE_HOST = "127.0.0.1"


def _mo_cases() -> list[Case]:
    """Broker -> proxy, the MO push (SMS Technical Reference, "SSL Certificate" and "... HTTPS Binding")."""
    imported = "broker, after importing the proxy's self-signed certificate"
    return [
        Case(
            "broker-to-proxy-self-signed",
            _BROKER_SIDE,
            "proxy, IIS self-signed certificate",
            "refused",
            "verify_code 18 / self-signed certificate",
            stdlib("proxy-self-signed", "broker"),
            source="SMS Technical Reference, Reverse Proxy - Default Web Site HTTPS Binding (note)",
        ),
        Case(
            "broker-to-proxy-self-signed-imported",
            imported,
            "proxy, IIS self-signed certificate",
            "accepted",
            "TLSv1.3",
            stdlib("proxy-self-signed", "broker-imported"),
            source="SMS Technical Reference, Reverse Proxy - Default Web Site HTTPS Binding (note)",
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
    """Proxy -> CIC node with re-encrypt: the proxy validates the node's certificate."""
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
        # ARR answers 502.3 here (the _REENCRYPT source); that check joins when sim/proxy exists.
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
    """CIC node -> broker, MT over HTTPS (SMS Technical Reference, "SSL Certificate", last paragraph)."""
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


#: The cases of the three legs, in report order.
PATH_CASES: list[Case] = [*_mo_cases(), *_reencrypt_cases(), *_mt_cases()]
