"""Tests of certs.pki: the in-memory PKI, its chains, windows, trust bundles and ssl contexts."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from certs.pki import BACKDATE, Identity, Pki, PkiError, PkiOptions

FQDN = "webportal.smslab.test"


def _verify(pki: Pki, anchors: list[str], party: str, subject: DNSName | IPAddress) -> list[str]:
    """Verify ``party``'s chain with cryptography's verifier; return the subjects of the built chain."""
    identity = pki[party]
    store = Store([pki[a].cert for a in anchors])
    verifier = PolicyBuilder().store(store).build_server_verifier(subject)
    chain = verifier.verify(identity.cert, list(identity.issuers[:-1]))
    return [c.subject.rfc4514_string() for c in chain]


def _memory_handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> str:
    """A stdlib TLS handshake through MemoryBIOs (no sockets); returns the negotiated version."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_obj = client.wrap_bio(c_in, c_out, server_hostname=host)
    server_obj = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for side, obj, out, peer_in in (
            ("client", client_obj, c_out, s_in),
            ("server", server_obj, s_out, c_in),
        ):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return str(client_obj.version())
    raise AssertionError("handshake did not finish")


def test_cic_chain_verifies(pki: Pki) -> None:
    """Each node's certificate chains to the ServerGroup root through the CIC CA, by name and by IP."""
    expected = [
        "CN=cic-primary.smslab.test,OU=node-primary,O=smslab",
        "CN=smslab cic-ca,OU=cic-ca,O=smslab",
        "CN=smslab servergroup-root,OU=servergroup-root,O=smslab",
    ]
    assert expected == _verify(pki, ["servergroup-root"], "node-primary", DNSName("cic-primary.smslab.test"))
    loopback = IPAddress(ipaddress.ip_address("127.0.0.1"))
    assert len(_verify(pki, ["servergroup-root"], "node-backup", loopback)) == 3


@pytest.mark.parametrize(
    ("party", "host"),
    [
        ("proxy-named", FQDN),
        ("proxy-wildcard", FQDN),
        ("broker-kaleyra", "kaleyra.smslab.test"),
        ("broker-portico", "portico.smslab.test"),
        ("broker-eztexting", "eztexting.smslab.test"),
        # cryptography 44's verifier does not refuse an RSA 1024 leaf (OpenSSL at level 2 does).
        ("proxy-weak-key", FQDN),
    ],
)
def test_public_chains_verify(pki: Pki, party: str, host: str) -> None:
    """The proxy's purchased certificates and the brokers' chain to the public CA."""
    chain = _verify(pki, ["public-ca"], party, DNSName(host))
    assert chain[-1] == "CN=smslab public-ca,OU=public-ca,O=smslab"


@pytest.mark.parametrize(
    ("party", "host", "message"),
    [
        ("proxy-expired", FQDN, "cert is not valid at validation time"),
        ("proxy-not-yet-valid", FQDN, "cert is not valid at validation time"),
        ("proxy-wrong-host", FQDN, "leaf certificate has no matching subjectAltName"),
        ("proxy-unknown-issuer", FQDN, "candidates exhausted"),
        ("proxy-weak-signature", FQDN, "Forbidden signature algorithm"),
        ("node-primary", "cic-primary.smslab.test", "candidates exhausted"),
    ],
)
def test_variants_fail_verification(pki: Pki, party: str, host: str, message: str) -> None:
    """Each defective variant, and a node against the public CA, fails cryptography's verifier."""
    with pytest.raises(VerificationError, match=message):
        _verify(pki, ["public-ca"], party, DNSName(host))


def test_sans(pki: Pki) -> None:
    """Server certificates carry their DNS names and the loopback addresses."""
    san = pki.node("primary").cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cic-primary.smslab.test", "cic-primary", "localhost"]
    assert [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")] == san.get_values_for_type(
        x509.IPAddress
    )
    wildcard = pki.proxy_wildcard.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert wildcard.get_values_for_type(x509.DNSName) == ["*.smslab.test", "localhost"]


def test_validity_windows(fixed_pki: Pki, fixed_now: datetime.datetime) -> None:
    """Leaves run from now-1h for 'days', CAs for 'ca_days'; the variants sit before and after."""
    days, ca_days = datetime.timedelta(days=397), datetime.timedelta(days=3650)

    def window(party: str) -> tuple[datetime.datetime, datetime.datetime]:
        cert = fixed_pki[party].cert
        return cert.not_valid_before_utc, cert.not_valid_after_utc

    assert (fixed_now - BACKDATE, fixed_now + days) == window("proxy-named")
    assert (fixed_now - BACKDATE, fixed_now + ca_days) == window("servergroup-root")
    one_day = datetime.timedelta(days=1)
    assert (fixed_now - days - one_day, fixed_now - one_day) == window("proxy-expired")
    assert (fixed_now + days, fixed_now + 2 * days) == window("proxy-not-yet-valid")


def test_check_at_generation_and_later(fixed_pki: Pki, fixed_now: datetime.datetime) -> None:
    """A fresh PKI checks clean; once the leaves expire, check() names each of them."""
    assert fixed_pki.check(fixed_now) == []
    later = fixed_now + datetime.timedelta(days=400)
    problems = fixed_pki.check(later)
    assert f"node-primary: expired at {later.isoformat()} (should be valid)" in problems
    assert f"proxy-not-yet-valid: valid at {later.isoformat()} (should be not-yet-valid)" in problems
    assert not any(p.startswith("servergroup-root") for p in problems)


def test_check_finds_a_foreign_key(fixed_pki: Pki) -> None:
    """A key that does not belong to its certificate is reported."""
    parts = {i.name: (i.cert, i.key) for i in fixed_pki}
    parts["proxy-named"] = (parts["proxy-named"][0], parts["broker-kaleyra"][1])
    swapped = Pki.assemble(fixed_pki.options, parts)
    assert swapped.check(fixed_pki["proxy-named"].cert.not_valid_before_utc + BACKDATE) == [
        "proxy-named: the key does not match the certificate"
    ]


def test_check_finds_a_foreign_issuer(fixed_pki: Pki, fixed_now: datetime.datetime) -> None:
    """A certificate whose issuer was replaced by another CA is reported as not signed by it."""
    other = Pki.generate(fixed_pki.options, now=fixed_now)
    parts = {i.name: (i.cert, i.key) for i in fixed_pki}
    parts["cic-ca"] = (other.cic_ca.cert, other.cic_ca.key)
    problems = Pki.assemble(fixed_pki.options, parts).check(fixed_now)
    assert problems[:2] == ["cic-ca: not signed by its issuer", "node-primary: not signed by its issuer"]


def test_chain_pem(pki: Pki) -> None:
    """A node's chain is its certificate then the CIC CA; a broker's is its certificate alone."""
    node = pki.node("primary")
    assert node.chain_pem == node.cert_pem + pki.cic_ca.cert_pem
    assert pki.broker("kaleyra").chain_pem == pki.broker("kaleyra").cert_pem
    assert [pki.cic_ca.cert, pki.servergroup_root.cert] == list(node.issuers)


@pytest.mark.parametrize(
    ("bundle", "parties"),
    [
        ("proxy", ["servergroup-root", "cic-ca"]),
        ("broker", ["public-ca"]),
        ("broker-imported", ["public-ca", "proxy-self-signed"]),
        ("node", ["public-ca"]),
    ],
)
def test_trust_bundles(pki: Pki, bundle: str, parties: list[str]) -> None:
    """Each trust bundle holds exactly its roots, in PEM too."""
    expected = [pki[p].cert for p in parties]
    assert expected == list(pki.trust(bundle))
    assert expected == x509.load_pem_x509_certificates(pki.trust_pem(bundle))


def test_weak_variants(pki: Pki) -> None:
    """The weak-key variant has an RSA 1024 key; the weak-signature variant a SHA-1 signature."""
    key = pki["proxy-weak-key"].cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 1024
    assert isinstance(pki["proxy-weak-signature"].cert.signature_hash_algorithm, hashes.SHA1)


@pytest.mark.parametrize(
    ("server", "trust", "host"),
    [
        ("node-primary", "proxy", "127.0.0.1"),
        ("proxy-named", "broker", FQDN),
        ("proxy-self-signed", "broker-imported", FQDN),
        ("broker-eztexting", "node", "eztexting.smslab.test"),
    ],
)
def test_contexts_handshake(pki: Pki, server: str, trust: str, host: str) -> None:
    """The server and client contexts complete a verified TLS 1.3 handshake in memory."""
    assert _memory_handshake(pki.server_ssl_context(server), pki.client_ssl_context(trust), host) == "TLSv1.3"


def test_client_context_refuses_untrusted(pki: Pki) -> None:
    """A broker's context refuses the proxy's self-signed certificate until imported (code 18)."""
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        _memory_handshake(pki.server_ssl_context("proxy-self-signed"), pki.client_ssl_context("broker"), FQDN)
    assert (caught.value.verify_code, caught.value.verify_message) == (18, "self-signed certificate")


def test_client_context_defaults(pki: Pki) -> None:
    """A client context checks host names, requires a certificate, and trusts only its bundle."""
    ctx = pki.client_ssl_context("node")
    assert (ctx.check_hostname, ctx.verify_mode) == (True, ssl.CERT_REQUIRED)
    assert len(ctx.get_ca_certs()) == 1


def test_weak_server_needs_lower_level(pki: Pki) -> None:
    """OpenSSL's default level refuses to load the weak variants; level 0 loads them."""
    with pytest.raises(ssl.SSLError, match="EE_KEY_TOO_SMALL"):
        pki.server_ssl_context("proxy-weak-key")
    with pytest.raises(ssl.SSLError, match="CA_MD_TOO_WEAK"):
        pki.server_ssl_context("proxy-weak-signature")
    assert isinstance(pki.server_ssl_context("proxy-weak-key", security_level=0), ssl.SSLContext)


def test_lookup_errors(pki: Pki) -> None:
    """Unknown parties and bundles raise KeyError naming the known ones."""
    with pytest.raises(KeyError, match="no party 'node-tertiary' in this PKI"):
        pki.node("tertiary")
    with pytest.raises(KeyError, match=r"no trust bundle 'carrier' \(known: proxy, broker"):
        pki.trust("carrier")


def test_attributes(pki: Pki) -> None:
    """The named attributes return the parties of the same names."""
    pairs = [
        (pki.servergroup_root, "servergroup-root"),
        (pki.cic_ca, "cic-ca"),
        (pki.public_ca, "public-ca"),
        (pki.proxy_self_signed, "proxy-self-signed"),
        (pki.proxy_named, "proxy-named"),
        (pki.proxy_wildcard, "proxy-wildcard"),
    ]
    assert all(isinstance(i, Identity) and i.name == n for i, n in pairs)


def test_generate_rejects_bad_options() -> None:
    """generate() raises PkiError before generating anything."""
    with pytest.raises(PkiError, match="'days' must be at least 1"):
        Pki.generate(PkiOptions(days=0))
