"""What the lab's PKI contains: its options, one :class:`Spec` per certificate, the trust bundles.

The parties and their certificates come from the PureConnect SMS Technical Reference:

- "Reverse Proxy - CIC Server's certificate": each CIC node's SMS Server presents a *Server*
  certificate signed by the *CIC Certificate Authority*, itself signed by the self-signed *Server Group*
  certificate. The proxy trusts the Server Group root and holds the CIC CA as an intermediate.
- "Reverse Proxy - Default Web Site HTTPS Binding": the proxy's own self-signed certificate, which a
  broker accepts only once it has imported it.
- "SSL Certificate": the alternative, a named (``webportal.xyzcorp.com``) or wildcard (``*.xyzcorp.com``)
  certificate bought from a public CA, which brokers trust already; and, for MT, the brokers' own
  certificates, also from public CAs, which the CIC nodes trust.

Names use the reserved ``.test`` top-level domain (RFC 6761 §6.2) so they can never resolve to a real host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from certs.issue import KeyType

__all__ = [
    "CIC_CA",
    "PROXY_SELF_SIGNED",
    "PUBLIC_CA",
    "SERVERGROUP_ROOT",
    "TRUST_BUNDLES",
    "UNKNOWN_CA",
    "PkiError",
    "PkiOptions",
    "Spec",
    "plan",
]

SERVERGROUP_ROOT = "servergroup-root"
CIC_CA = "cic-ca"
PUBLIC_CA = "public-ca"
UNKNOWN_CA = "unknown-ca"
PROXY_SELF_SIGNED = "proxy-self-signed"

#: Trust bundle name -> the certificates it holds. "proxy" is the reverse proxy as a client of the
#: nodes (re-encrypt: ARR validates the member's certificate); "broker" a broker pushing MO to the proxy, and
#: "broker-imported" the same broker after importing the proxy's self-signed certificate; "node" a CIC
#: node sending MT to a broker over HTTPS.
TRUST_BUNDLES: dict[str, tuple[str, ...]] = {
    # The CIC CA rides along as the "Intermediate Certificate Authorities" store: OpenSSL
    # still insists on reaching the self-signed Server Group root, so it adds no trust of its own.
    "proxy": (SERVERGROUP_ROOT, CIC_CA),
    "broker": (PUBLIC_CA,),
    "broker-imported": (PUBLIC_CA, PROXY_SELF_SIGNED),
    "node": (PUBLIC_CA,),
}

# RFC 1035 §2.3.1 labels, lower case; broker and node names become labels of host names.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class PkiError(ValueError):
    """The PKI options or an output directory are not usable; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PkiOptions:
    """The knobs of ``smslab certs``; every field has a documented default.

    Attributes:
        domain: DNS domain of every lab host name.
        fqdn: the proxy's public name (the SMS Technical Reference's "URI" example,
            ``webportal.xyzcorp.com``); defaults to ``webportal.<domain>``. The wildcard certificate covers
            ``*.<parent of fqdn>``.
        nodes: names of the CIC switchover pair; node ``n`` answers as ``cic-n.<domain>``.
        brokers: brokers with their own HTTPS endpoint, each answering as ``<broker>.<domain>``.
        key_type: ``"rsa"`` or ``"ec"`` (P-256) for every key but the deliberately weak one.
        key_size: RSA modulus size; at least 2048, OpenSSL's security level 2 minimum.
        days: validity of the leaf certificates; 397 is the CA/Browser Forum maximum for public TLS
            certificates (Baseline Requirements §6.3.2).
        ca_days: validity of the CA certificates.
        p12_password: password of the PKCS#12 bundles (IIS asks for one on import).
    """

    domain: str = "smslab.test"
    fqdn: str = ""
    nodes: tuple[str, ...] = ("primary", "backup")
    brokers: tuple[str, ...] = ("kaleyra", "portico", "eztexting")
    key_type: KeyType = "rsa"
    key_size: int = 2048
    days: int = 397
    ca_days: int = 3650
    p12_password: str = field(default="smslab", repr=False)

    @property
    def proxy_fqdn(self) -> str:
        """The proxy's public name: ``fqdn`` or ``webportal.<domain>``."""
        return self.fqdn or f"webportal.{self.domain}"

    def problems(self) -> list[str]:
        """Every reason these options cannot build a PKI, each as "'x' must be ... (got ...)"."""
        found = [f"'{n}' must be a DNS label (got {v!r})" for n, v in self._labels() if not _LABEL.match(v)]
        labels = self.proxy_fqdn.split(".")
        if len(labels) < 3 or not all(_LABEL.match(label) for label in labels):
            # OpenSSL will not match a wildcard with fewer than two labels after it ("*.test").
            found.append(f"'fqdn' must be a host name of at least three labels (got {self.proxy_fqdn!r})")
        if self.key_type not in ("rsa", "ec"):
            found.append(f"'key_type' must be 'rsa' or 'ec' (got {self.key_type!r})")
        if self.key_size < 2048 or self.key_size > 8192:
            found.append(f"'key_size' must be between 2048 and 8192 (got {self.key_size!r})")
        if self.days < 1:
            found.append(f"'days' must be at least 1 (got {self.days!r})")
        if self.ca_days < self.days:
            found.append(f"'ca_days' must be at least 'days' ({self.days}) (got {self.ca_days!r})")
        if len(set(self.nodes)) != len(self.nodes) or len(set(self.brokers)) != len(self.brokers):
            found.append(f"names must be unique (got nodes {self.nodes!r}, brokers {self.brokers!r})")
        return found

    def _labels(self) -> list[tuple[str, str]]:
        pairs = [("node", n) for n in self.nodes] + [("broker", b) for b in self.brokers]
        return pairs + [("domain", label) for label in self.domain.split(".")]

    def check(self) -> None:
        """Raise :class:`PkiError` listing every problem, if there is any."""
        if found := self.problems():
            raise PkiError(found)


Validity = Literal["valid", "expired", "not-yet-valid"]


@dataclass(frozen=True)
class Spec:
    """One certificate of the PKI: its name, issuer, host names and deliberate defect, if any."""

    name: str
    role: str
    issuer: str | None = None
    hosts: tuple[str, ...] = ()
    ca: bool = False
    validity: Validity = "valid"
    weak: Literal["", "key", "signature"] = ""
    pkcs12: bool = False


def plan(options: PkiOptions) -> list[Spec]:
    """All certificates for ``options``, every issuer before the certificates it signs."""
    fqdn, parent = options.proxy_fqdn, options.proxy_fqdn.split(".", 1)[1]
    proxy_hosts = (fqdn, *_LOOPBACK)
    specs = [
        Spec(SERVERGROUP_ROOT, "ServerGroup certificate (self-signed root)", ca=True),
        Spec(CIC_CA, "CIC Certificate Authority (intermediate)", SERVERGROUP_ROOT, ca=True),
        Spec(PUBLIC_CA, "public CA root (stands for Thawte, DigiCert ...)", ca=True),
        Spec(UNKNOWN_CA, "a CA nobody in the lab trusts", ca=True),
    ]
    for node in options.nodes:
        hosts = (f"cic-{node}.{options.domain}", f"cic-{node}", *_LOOPBACK)
        role = f"CIC server certificate of node {node}"
        specs.append(Spec(f"node-{node}", role, CIC_CA, hosts, pkcs12=True))
    specs += [
        Spec(PROXY_SELF_SIGNED, "proxy, IIS self-signed certificate", None, proxy_hosts, pkcs12=True),
        Spec("proxy-named", "proxy, purchased named certificate", PUBLIC_CA, proxy_hosts, pkcs12=True),
        Spec("proxy-wildcard", "proxy, wildcard", PUBLIC_CA, (f"*.{parent}", *_LOOPBACK), pkcs12=True),
    ]
    specs += [
        Spec(f"broker-{b}", f"broker {b}, HTTPS endpoint", PUBLIC_CA, (f"{b}.{options.domain}", *_LOOPBACK))
        for b in options.brokers
    ]
    return specs + _variants(proxy_hosts)


def _variants(proxy_hosts: tuple[str, ...]) -> list[Spec]:
    """Proxy certificates with exactly one defect each, for the negotiation experiments."""
    return [
        Spec("proxy-expired", "variant: expired", PUBLIC_CA, proxy_hosts, validity="expired"),
        Spec("proxy-not-yet-valid", "variant: future", PUBLIC_CA, proxy_hosts, validity="not-yet-valid"),
        Spec("proxy-wrong-host", "variant: another host name", PUBLIC_CA, ("portal.example",)),
        Spec("proxy-unknown-issuer", "variant: unknown issuer", UNKNOWN_CA, proxy_hosts),
        Spec("proxy-weak-key", "variant: RSA 1024 key", PUBLIC_CA, proxy_hosts, weak="key"),
        Spec("proxy-weak-signature", "variant: SHA-1 signature", PUBLIC_CA, proxy_hosts, weak="signature"),
    ]
