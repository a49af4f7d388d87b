"""The lab's PKI, in memory first: every party's certificate, key, chain and trust, and ``ssl`` contexts.

Typical use by another part of smslab::

    pki = Pki.generate()                                    # or Pki.load("certs/out")
    server = pki.server_ssl_context("node-primary")         # a CIC node's HTTPS listener
    client = pki.client_ssl_context("proxy")                # the proxy re-encrypting to the nodes
    pki.write("certs/out")                                   # PEM, PKCS#12 and trust bundles, opt-in

Party names are those of :func:`certs.layout.plan` (``servergroup-root``, ``cic-ca``, ``node-<n>``,
``proxy-self-signed``, ``proxy-named``, ``proxy-wildcard``, ``broker-<b>``, the ``proxy-*`` variants);
trust bundle names those of :data:`certs.layout.TRUST_BUNDLES`. ``smslab certs`` (:func:`certs.cli.main`)
writes the same PKI to a directory and reuses it on later runs (see :mod:`certs.cli`).
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from certs import files
from certs.issue import PrivateKey, Window, ca_certificate, leaf_certificate, name, new_key, resign_sha1
from certs.layout import (
    CIC_CA,
    PROXY_SELF_SIGNED,
    PUBLIC_CA,
    SERVERGROUP_ROOT,
    TRUST_BUNDLES,
    PkiError,
    PkiOptions,
    Spec,
    plan,
)

__all__ = ["Identity", "Pki", "PkiError", "PkiOptions"]

# Valid certificates start an hour before "now", so hosts whose clocks differ a little (the lab's
# distributed mode) still accept them.
BACKDATE = datetime.timedelta(hours=1)
# The weak-key variant: the smallest RSA key cryptography 44 generates (its minimum is 1024 bits).
WEAK_KEY_SIZE = 1024


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Identity:
    """One party's certificate and key, and the issuers above it.

    Attributes:
        spec: what this certificate is (name, role, issuer, hosts, defect).
        cert: the certificate.
        key: its private key.
        issuers: the issuing chain, nearest first, ending with the self-signed root; empty for a root
            or a self-signed leaf.
    """

    spec: Spec
    cert: x509.Certificate
    key: PrivateKey
    issuers: tuple[x509.Certificate, ...] = ()

    @property
    def name(self) -> str:
        """The party name, e.g. ``node-primary``."""
        return self.spec.name

    @property
    def cert_pem(self) -> bytes:
        """The certificate alone, PEM."""
        return _pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def chain_pem(self) -> bytes:
        """What a server sends: the certificate and its intermediates, without the root."""
        return b"".join(_pem(c) for c in (self.cert, *self.issuers[:-1]))


def _window(spec: Spec, options: PkiOptions, now: datetime.datetime) -> Window:
    days = datetime.timedelta(days=options.ca_days if spec.ca else options.days)
    if spec.validity == "expired":
        return Window(now - days - datetime.timedelta(days=1), now - datetime.timedelta(days=1))
    if spec.validity == "not-yet-valid":
        # Starts when the valid leaves end, so it stays "not yet valid" for as long as a written PKI
        # is reused (certs.files).
        return Window(now + days, now + 2 * days)
    return Window(now - BACKDATE, now + days)


def _issue(spec: Spec, options: PkiOptions, now: datetime.datetime, issuer: Identity | None) -> Identity:
    key = new_key("rsa", WEAK_KEY_SIZE) if spec.weak == "key" else new_key(options.key_type, options.key_size)
    window = _window(spec, options, now)
    signer = None if issuer is None else (issuer.cert, issuer.key)
    if spec.ca:
        cert = ca_certificate(name(f"smslab {spec.name}", spec.name), key, window, signer)
    else:
        cert = leaf_certificate(name(spec.hosts[0], spec.name), key, spec.hosts, window, signer)
    if spec.weak == "signature" and issuer is not None:
        cert = resign_sha1(cert, issuer.key)
    chain = () if issuer is None else (issuer.cert, *issuer.issuers)
    return Identity(spec, cert, key, chain)


class Pki:
    """Every certificate of the lab, by party name. Build with :meth:`generate` or :meth:`load`."""

    def __init__(self, options: PkiOptions, identities: dict[str, Identity]) -> None:
        self.options = options
        self._identities = identities

    @classmethod
    def generate(cls, options: PkiOptions | None = None, *, now: datetime.datetime | None = None) -> Pki:
        """Generate a fresh PKI.

        Args:
            options: what to build; the defaults of :class:`PkiOptions` when None.
            now: the clock reading validity windows start from (UTC); the wall clock when None.

        Raises:
            PkiError: the options are invalid (every problem listed).
        """
        options = options or PkiOptions()
        options.check()
        now = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
        made: dict[str, Identity] = {}
        for spec in plan(options):
            made[spec.name] = _issue(spec, options, now, made.get(spec.issuer or ""))
        return cls(options, made)

    @classmethod
    def assemble(cls, options: PkiOptions, parts: dict[str, tuple[x509.Certificate, PrivateKey]]) -> Pki:
        """Rebuild a PKI from certificates and keys (e.g. read back from files), chains included."""
        made: dict[str, Identity] = {}
        for spec in plan(options):
            issuer = made.get(spec.issuer or "")
            chain = () if issuer is None else (issuer.cert, *issuer.issuers)
            made[spec.name] = Identity(spec, *parts[spec.name], chain)
        return cls(options, made)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], options: PkiOptions | None = None) -> Pki:
        """Read a PKI written by :meth:`write` or ``smslab certs``.

        Args:
            directory: where it was written.
            options: the options to expect; those of the manifest when None.

        Raises:
            PkiError: files are missing, unreadable, or written for other options.
        """
        written, parts = files.read(directory, plan)
        if options is not None and files.comparable(options) != files.comparable(written):
            raise PkiError([f"{directory} was written for other options"])
        return cls.assemble(options or written, parts)

    def write(self, directory: str | os.PathLike[str]) -> list[tuple[str, str]]:
        """Write every file into ``directory`` (created if needed); returns ``(file, what)`` pairs.

        Keys and PKCS#12 bundles are written with mode 0600, each file replaced atomically.
        """
        return files.write(self, directory)

    def check(self, now: datetime.datetime | None = None) -> list[str]:
        """What is wrong with this PKI at ``now`` (wall clock when None); empty when all is in order.

        Each key must match its certificate, each certificate be signed by its issuer, and each
        validity window play its part: valid now, or still expired / still not yet valid.
        """
        now = now or datetime.datetime.now(datetime.UTC)
        return [p for identity in self for p in _problems(identity, now)]

    def __getitem__(self, party: str) -> Identity:
        try:
            return self._identities[party]
        except KeyError:
            raise KeyError(f"no party {party!r} in this PKI (known: {', '.join(self._identities)})") from None

    def __iter__(self) -> Iterator[Identity]:
        return iter(self._identities.values())

    servergroup_root = property(lambda self: self[SERVERGROUP_ROOT], doc="The ServerGroup root.")
    cic_ca = property(lambda self: self[CIC_CA], doc="The CIC Certificate Authority.")
    public_ca = property(lambda self: self[PUBLIC_CA], doc="The public CA root.")
    proxy_self_signed = property(lambda self: self[PROXY_SELF_SIGNED], doc="The proxy's self-signed cert.")
    proxy_named = property(lambda self: self["proxy-named"], doc="The proxy's purchased named cert.")
    proxy_wildcard = property(lambda self: self["proxy-wildcard"], doc="The proxy's purchased wildcard.")

    def node(self, node: str) -> Identity:
        """The server certificate of CIC node ``node`` (e.g. ``"primary"``)."""
        return self[f"node-{node}"]

    def broker(self, broker: str) -> Identity:
        """The HTTPS certificate of broker ``broker`` (e.g. ``"kaleyra"``)."""
        return self[f"broker-{broker}"]

    def trust(self, bundle: str | Sequence[str]) -> tuple[x509.Certificate, ...]:
        """The certificates of a trust bundle name, or of an explicit list of party names."""
        if isinstance(bundle, str):
            if bundle not in TRUST_BUNDLES:
                raise KeyError(f"no trust bundle {bundle!r} (known: {', '.join(TRUST_BUNDLES)})")
            bundle = TRUST_BUNDLES[bundle]
        return tuple(self[party].cert for party in bundle)

    def trust_pem(self, bundle: str | Sequence[str]) -> bytes:
        """:meth:`trust` as concatenated PEM."""
        return b"".join(_pem(c) for c in self.trust(bundle))

    def server_ssl_context(
        self, party: str, *, security_level: int | None = None, send_chain: bool = True
    ) -> ssl.SSLContext:
        """A stdlib server context presenting ``party``'s certificate.

        Args:
            party: a party name, e.g. ``"proxy-named"`` or ``"node-primary"``.
            security_level: OpenSSL security level; None keeps the default (2 here), which refuses to
                even load the weak variants (``EE_KEY_TOO_SMALL``, ``CA_MD_TOO_WEAK``).
            send_chain: send the intermediates too (False: the leaf only).
        """
        identity = self[party]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if security_level is not None:
            ctx.set_ciphers(f"DEFAULT:@SECLEVEL={security_level}")
        chain = identity.chain_pem if send_chain else identity.cert_pem
        # The stdlib loads certificates and keys from files only; the private directory is 0700.
        with tempfile.TemporaryDirectory(prefix="smslab-tls-") as tmp:
            path = os.path.join(tmp, "identity.pem")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(identity.key_pem + chain)
            ctx.load_cert_chain(path)
        return ctx

    def client_ssl_context(
        self, trust: str | Sequence[str], *, security_level: int | None = None
    ) -> ssl.SSLContext:
        """A stdlib client context trusting exactly ``trust`` (host names checked, no system CAs).

        Args:
            trust: a trust bundle name (``"proxy"``, ``"broker"``, ``"broker-imported"``, ``"node"``) or
                a list of party names.
            security_level: OpenSSL security level; None keeps the default.
        """
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.trust_pem(trust).decode())
        if security_level is not None:
            ctx.set_ciphers(f"DEFAULT:@SECLEVEL={security_level}")
        return ctx


def _problems(identity: Identity, now: datetime.datetime) -> list[str]:
    cert, spec, found = identity.cert, identity.spec, []
    if cert.public_key() != identity.key.public_key():
        found.append(f"{spec.name}: the key does not match the certificate")
    if identity.issuers and spec.weak != "signature":
        # cryptography verifies SHA-256 signatures only; the SHA-1 variant is checked by its tests.
        try:
            cert.verify_directly_issued_by(identity.issuers[0])
        except (ValueError, TypeError, InvalidSignature):
            found.append(f"{spec.name}: not signed by its issuer")
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    state = "expired" if end < now else "not-yet-valid" if start > now else "valid"
    if state != spec.validity:
        found.append(f"{spec.name}: {state} at {now.isoformat()} (should be {spec.validity})")
    return found
