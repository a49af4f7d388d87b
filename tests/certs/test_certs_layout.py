"""Tests of certs.layout: options, their validation, the plan and the trust bundles."""

from __future__ import annotations

import pytest

from certs.layout import TRUST_BUNDLES, PkiError, PkiOptions, plan


def test_default_options_are_valid() -> None:
    """The defaults build a PKI and name the proxy webportal.smslab.test (SMS Technical Reference, "URI")."""
    options = PkiOptions()
    assert options.problems() == []
    assert options.proxy_fqdn == "webportal.smslab.test"


def test_plan_names_in_order() -> None:
    """The plan lists every party once, each issuer before what it signs."""
    specs = plan(PkiOptions())
    names = [s.name for s in specs]
    assert names == [
        "servergroup-root", "cic-ca", "public-ca", "unknown-ca", "node-primary", "node-backup",
        "proxy-self-signed", "proxy-named", "proxy-wildcard",
        "broker-kaleyra", "broker-portico", "broker-eztexting",
        "proxy-expired", "proxy-not-yet-valid", "proxy-wrong-host", "proxy-unknown-issuer",
        "proxy-weak-key", "proxy-weak-signature",
    ]  # fmt: skip
    for index, spec in enumerate(specs):
        assert spec.issuer is None or spec.issuer in names[:index]


def test_plan_hosts() -> None:
    """Nodes, proxy certificates and brokers carry their DNS names plus the loopback names."""
    hosts = {s.name: s.hosts for s in plan(PkiOptions(domain="lab.test", fqdn="sms.corp.test"))}
    loopback = ("localhost", "127.0.0.1", "::1")
    assert hosts["node-backup"] == ("cic-backup.lab.test", "cic-backup", *loopback)
    assert hosts["proxy-named"] == ("sms.corp.test", *loopback)
    assert hosts["proxy-self-signed"] == ("sms.corp.test", *loopback)
    assert hosts["proxy-wildcard"] == ("*.corp.test", *loopback)
    assert hosts["broker-portico"] == ("portico.lab.test", *loopback)
    assert hosts["proxy-wrong-host"] == ("portal.example",)


def test_plan_follows_node_and_broker_options() -> None:
    """Other node and broker names give other parties."""
    names = {s.name for s in plan(PkiOptions(nodes=("a",), brokers=("b1", "b2")))}
    assert {"node-a", "broker-b1", "broker-b2"} <= names
    assert not {"node-primary", "broker-kaleyra"} & names


def test_pkcs12_only_where_iis_imports() -> None:
    """PKCS#12 bundles are planned for the proxy's certificates and the nodes' only."""
    with_p12 = [s.name for s in plan(PkiOptions()) if s.pkcs12]
    assert with_p12 == ["node-primary", "node-backup", "proxy-self-signed", "proxy-named", "proxy-wildcard"]


def test_trust_bundles_name_planned_parties() -> None:
    """Every trust bundle refers to parties of the plan, and the proxy's holds the CIC chain."""
    names = {s.name for s in plan(PkiOptions())}
    assert all(set(parties) <= names for parties in TRUST_BUNDLES.values())
    assert TRUST_BUNDLES["proxy"] == ("servergroup-root", "cic-ca")
    assert TRUST_BUNDLES["broker-imported"] == ("public-ca", "proxy-self-signed")


def test_every_problem_reported() -> None:
    """Invalid options are reported all at once, each naming the field, the rule and the value."""
    options = PkiOptions(
        fqdn="x.test",
        nodes=("a", "a"),
        brokers=("Bad_Name",),
        key_size=1024,
        days=0,
        ca_days=-1,
        key_type="dsa",  # type: ignore[arg-type]
    )
    assert options.problems() == [
        "'broker' must be a DNS label (got 'Bad_Name')",
        "'fqdn' must be a host name of at least three labels (got 'x.test')",
        "'key_type' must be 'rsa' or 'ec' (got 'dsa')",
        "'key_size' must be between 2048 and 8192 (got 1024)",
        "'days' must be at least 1 (got 0)",
        "'ca_days' must be at least 'days' (0) (got -1)",
        "names must be unique (got nodes ('a', 'a'), brokers ('Bad_Name',))",
    ]


def test_check_raises_with_problems() -> None:
    """check() raises PkiError carrying the list of problems."""
    with pytest.raises(PkiError) as caught:
        PkiOptions(domain="bad domain.test", fqdn="sms.corp.test").check()
    assert caught.value.problems == ["'domain' must be a DNS label (got 'bad domain')"]


def test_password_not_in_repr() -> None:
    """The PKCS#12 password does not appear in the options' repr."""
    assert "s3cret" not in repr(PkiOptions(p12_password="s3cret"))
