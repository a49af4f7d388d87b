"""Tests for scenarios.lab.spec (and the lab sections of sim.labfile): the lab file read in full."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.lab.spec import (
    DEFAULT_LAB_SOURCE,
    PushTarget,
    default_lab_config,
    fake_broker,
    push_targets,
    read_lab_spec,
    resolve_gateways,
)
from sim.cic.settings import BackupAnswer, SmsScheme
from sim.core.errors import ConfigError
from sim.labfile import load_lab_config, parse_lab_config, placeholder_gateway

EXAMPLE = Path(__file__).parents[3] / "scenarios" / "examples" / "lab.yaml"


def _lab(**sections: Any) -> dict[str, Any]:
    """A small lab: one broker with a fake gateway, plus the given sections."""
    data: dict[str, Any] = {
        "brokers": [{"name": "k", "type": "kaleyra", "accounts": [{"id": "a", "local_address": "8005550100"}],
                     "mo": {"incoming_port": 8080, "incoming_path": "/k/mo", "delivery_receipt_url": "/k/dr"},
                     "mt": {"gateway": "fake:k1", "outgoing_path": "/send"}}],
        "fakes": {"k1": {"kind": "kaleyra"}},
    }
    data.update(sections)
    return data


def _problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        read_lab_spec(parse_lab_config(data, "lab.yaml"))
    return {(p.path, p.reason) for p in info.value.problems}


def test_default_lab_reads_in_full() -> None:
    """The embedded default lab: three fakes as gateways, one farm on 8080, scaled timers, recovery on."""
    config = default_lab_config()
    spec = read_lab_spec(config)
    assert config.source == DEFAULT_LAB_SOURCE
    assert dict(config.fake_gateways) == {"kaleyra": "kaleyra", "portico": "portico", "eztexting": "eztexting"}
    assert [(f.incoming_port, f.brokers, f.health.url) for f in spec.farms] == [
        (8080, ("kaleyra", "portico", "eztexting"), "/kaleyra/mo?healthcheckignore=1")]
    assert spec.pair.recovery is True
    assert spec.pair.time_scale == 0.02
    assert spec.proxy.health.interval == 0.2
    assert spec.nodes["primary"].name == "primary"
    assert spec.nodes["backup"].backup_answer is BackupAnswer.UNAVAILABLE


def test_default_lab_keeps_the_example_routes() -> None:
    """The default lab's routing is the example lab's (the same routes, brokers and accounts)."""
    default, example = default_lab_config().cic, load_lab_config(EXAMPLE).cic
    assert default.sms == example.sms
    assert [(b.name, b.accounts) for b in default.brokers] == [(b.name, b.accounts) for b in example.brokers]


def test_fake_gateway_reads_as_its_placeholder() -> None:
    """mt.gateway fake:<name> is kept aside and read as a .invalid placeholder URL."""
    config = parse_lab_config(_lab())
    assert config.cic.brokers[0].mt.gateway == placeholder_gateway("k1") == "http://fake-k1.invalid"
    assert dict(config.fake_gateways) == {"k": "k1"}


def test_fake_gateway_must_name_a_fake() -> None:
    """A fake:<name> gateway naming no fake of the file is a problem listing the known fakes."""
    data = _lab()
    data["brokers"][0]["mt"]["gateway"] = "fake:nope"
    with pytest.raises(ConfigError) as info:
        parse_lab_config(data, "lab.yaml")
    assert [(p.path, p.value, p.reason) for p in info.value.problems] == [
        ("brokers[0].mt.gateway", "fake:nope", "must name a fake of the lab (known: k1)")]


def test_lab_sections_must_be_mappings() -> None:
    """cic and proxy must be mappings; other top-level keys stay unknown."""
    with pytest.raises(ConfigError) as info:
        parse_lab_config(_lab(cic=[1], proxy="x", extra=1))
    assert {(p.path, p.reason) for p in info.value.problems} == {
        ("cic", "must be a mapping"), ("proxy", "must be a mapping"), ("extra", "is not a known field")}


def test_every_problem_of_cic_and_proxy_is_reported_at_once() -> None:
    """Bad node, switchover and proxy values are all reported, each with its path."""
    data = _lab(cic={"nodes": {"primary": {"backup_answer": "maybe"}, "third": {}},
                     "switchover": {"ts_timeout": 1, "bogus": 2}, "other": 1},
                proxy={"health": {"interval": "often"}, "engine": "haproxy"})
    assert _problems(data) == {
        ("cic.nodes.primary.backup_answer", "must be one of refuse, 503, 404, hang"),
        ("cic.nodes.third", "is not a known field"),
        ("cic.switchover.ts_timeout", "must be at least 5"),
        ("cic.switchover.bogus", "is not a known field"),
        ("cic.other", "is not a known field"),
        ("proxy.health.interval", "must be a number"),
        ("proxy.engine", "must be aiohttp in a lab (HAProxy runs on its own: smslab proxy haproxy-config)"),
    }


def test_proxy_ports_must_be_incoming_ports() -> None:
    """proxy.ports keyed by a port no broker uses is a problem (the cross-section check runs)."""
    assert _problems(_lab(proxy={"ports": {9999: 0}})) == {
        ("proxy.ports.9999", "must be keyed by an incoming port of an enabled broker (they use 8080)")}


def test_resolve_gateways_puts_the_fake_url_in_place() -> None:
    """Each fake:<name> gateway becomes that fake's URL; other brokers keep theirs."""
    data = _lab()
    data["brokers"].append({"name": "other", "type": "eztexting", "mo": {"incoming_port": 8081},
                            "mt": {"gateway": "http://gw.example:9000"}})
    config = parse_lab_config(data)
    cic = resolve_gateways(config, {"k1": "http://127.0.0.1:4321"})
    assert [b.mt.gateway for b in cic.brokers] == ["http://127.0.0.1:4321", "http://gw.example:9000"]
    assert cic.brokers[0].mt.outgoing_path == "/send"


def test_push_targets_aim_at_the_proxy_of_the_brokers_port() -> None:
    """A fake pushes MOs and DRs to its broker's paths on the proxy of that broker's port."""
    config = parse_lab_config(_lab())
    assert fake_broker(config, "k1") is config.cic.brokers[0]
    assert push_targets(config, {8080: "http://127.0.0.1:5000"}) == {
        "k1": PushTarget("k", "http://127.0.0.1:5000/k/mo", "http://127.0.0.1:5000/k/dr")}


def test_push_targets_keep_a_fakes_own_urls() -> None:
    """A fake whose settings name mo_url and dr_url keeps them; a fake serving no broker gets nothing."""
    data = _lab()
    data["fakes"]["k1"].update(mo_url="http://own/mo", dr_url="http://own/dr")
    data["fakes"]["lonely"] = {"kind": "kaleyra"}
    config = parse_lab_config(data)
    assert push_targets(config, {8080: "http://127.0.0.1:5000"}) == {"k1": PushTarget("k", "", "")}


def test_default_lab_file_is_valid_yaml_with_documented_placeholders() -> None:
    """The shipped default lab file parses and every gateway in it is a fake placeholder."""
    path = Path(__file__).parents[3] / "scenarios" / "labs" / "default.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [b["mt"]["gateway"] for b in data["brokers"]] == ["fake:kaleyra", "fake:portico", "fake:eztexting"]
    assert {b["mo"]["incoming_port"] for b in data["brokers"]} == {8080}


def _https_lab(folder: Path, **proxy: Any) -> dict[str, Any]:
    """The small lab with its broker on HTTPS, its fake and proxy serving TLS and certificates on the nodes
    (empty files in ``folder``: only that they exist is checked before a lab starts)."""
    names = ("k.pem", "k.key", "p.pem", "p.key", *(f"{n}.{ext}" for n in ("primary", "backup") for ext in ("pem", "key")))
    files = {name: str(folder / name) for name in names}
    for file in files.values():
        Path(file).write_text("", encoding="utf-8")
    data = _lab(proxy={"tls": {"cert": files["p.pem"], "key": files["p.key"]}, **proxy})
    data["brokers"][0]["encryption"] = "HTTPS"
    data["fakes"]["k1"]["tls"] = {"cert": files["k.pem"], "key": files["k.key"]}
    data["cic"] = {"nodes": {n: {"tls_cert": files[f"{n}.pem"], "tls_key": files[f"{n}.key"]}
                             for n in ("primary", "backup")}}
    return data


def test_the_nodes_listen_as_the_proxy_speaks_to_them(tmp_path: Path) -> None:
    """sms_scheme auto becomes http when the proxy offloads SSL and https when it re-encrypts, in data too."""
    for offload, scheme in ((True, SmsScheme.HTTP), (False, SmsScheme.HTTPS)):
        spec = read_lab_spec(parse_lab_config(_https_lab(tmp_path, offload=offload), "lab.yaml"))
        assert [spec.nodes[n].sms_scheme for n in ("primary", "backup")] == [scheme, scheme]
        assert [spec.config.data["cic"]["nodes"][n]["sms_scheme"] for n in ("primary", "backup")] == [
            scheme.value] * 2
        assert spec.config.data["cic"]["nodes"]["primary"]["tls_cert"] == str(tmp_path / "primary.pem")


def test_an_https_broker_needs_a_tls_fake_and_reads_an_https_placeholder(tmp_path: Path) -> None:
    """Encryption HTTPS: the placeholder gateway is https, and a fake without tls.cert is a problem."""
    config = parse_lab_config(_https_lab(tmp_path))
    assert config.cic.brokers[0].mt.gateway == placeholder_gateway("k1", https=True) == "https://fake-k1.invalid"
    data = _https_lab(tmp_path)
    del data["fakes"]["k1"]["tls"]
    with pytest.raises(ConfigError) as info:
        parse_lab_config(data, "lab.yaml")
    assert [(p.path, p.reason) for p in info.value.problems] == [
        ("fakes.k1.tls.cert", "is required: broker 'k' uses HTTPS, so its gateway must serve HTTPS "
                              "(SMS Technical Reference, \"Using SSL\")")]


def test_a_node_against_the_proxys_scheme_or_without_its_certificate_is_a_problem(tmp_path: Path) -> None:
    """sms_scheme https behind an offloading proxy, and re-encrypting to a node without tls_cert."""
    data = _https_lab(tmp_path, offload=True)
    data["cic"]["nodes"]["primary"]["sms_scheme"] = "https"
    data["cic"]["nodes"]["backup"] = {}
    assert _problems(data) == {
        ("cic.nodes.primary.sms_scheme", "must be http or auto: the proxy offloads SSL (HTTP to the nodes)")}
    data["proxy"]["offload"] = False
    assert _problems(data) == {
        ("cic.nodes.backup.tls_cert", "is required: proxy.offload is false, so the proxy reaches the node over "
                                      "HTTPS and verifies its Server certificate (SMS Technical Reference, "
                                      "\"Reverse Proxy - CIC Server's certificate\")")}
