"""Tests for sim.proxy.config: the lab file's proxy: section, the farm plans and the server's settings."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from certs.pki import Pki
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.core.validation import load_cic_config
from sim.proxy.config import (
    Engine,
    ProxyConfig,
    check_proxy_config,
    default_rules,
    health_url_for,
    incoming_ports,
    plan_farms,
    proxy_settings,
    read_proxy_settings,
    server_ssl_context,
    upstream_ssl_context,
)
from sim.proxy.farm import HealthTest, MinServers

BROKERS: list[dict[str, Any]] = [
    {"name": "kaleyra", "type": "kaleyra", "accounts": [{"id": "a"}],
     "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo", "delivery_receipt_url": "/kaleyra/dr"}},
    {"name": "portico", "type": "portico", "encryption": "HTTPS", "accounts": [{"id": "b"}],
     "mt": {"gateway": "https://127.0.0.1:9002"},
     "mo": {"incoming_port": 8443, "incoming_path": "/portico/mo", "delivery_receipt_url": "/portico/dr"}},
    {"name": "eztexting", "type": "eztexting", "accounts": [{"id": "c"}],
     "mo": {"incoming_port": 8080, "incoming_path": "/receivesms.php"}},
]


def cic() -> CicConfig:
    return load_cic_config({"brokers": BROKERS})


def read(section: object) -> tuple[ProxyConfig, list[Problem]]:
    r = Reader(section, "proxy")
    config = read_proxy_settings(r)
    return config, list(r.problems)


def test_an_absent_section_gives_the_arr_defaults() -> None:
    """Without a proxy: section every value is ARR's default or the lab's documented one."""
    config, problems = read(None)
    assert [] == problems
    assert ProxyConfig() == config
    assert HealthTest("", 30.0, 30.0, ((200, 399),), "", 0, MinServers.HONOR_HEALTH, 1) == config.health
    assert (Engine.AIOHTTP, "127.0.0.1", 0, True, 30.0) == (config.engine, config.host, config.port,
                                                            config.offload, config.timeout)


def test_every_key_is_read() -> None:
    """A full section is read into the typed values it names."""
    config, problems = read({
        "engine": "haproxy", "host": "0.0.0.0", "port": 9000, "ports": {8443: 9443}, "offload": False,
        "timeout": 3, "tls": {"cert": "proxy.pem", "key": "proxy.key"}, "upstream_ca": "ca.pem",
        "health": {"url": "/probe?healthcheckignore=1", "interval": 0.2, "timeout": 1, "acceptable": "200-299,304",
                   "response_match": "OK", "min_servers": 2, "min_servers_mode": "disregard", "burst": 15},
        "rewrite": [{"base": "/receivesms.php", "pattern": "(.*)", "action_path": "/in{R:1}",
                     "append_query_string": False, "port": 8080}],
    })
    assert [] == problems
    assert (Engine.HAPROXY, "0.0.0.0", 9000, {8443: 9443}, False, 3.0) == (
        config.engine, config.host, config.port, dict(config.ports), config.offload, config.timeout)
    assert ("proxy.pem", "proxy.key", "ca.pem") == (config.tls_cert, config.tls_key, config.upstream_ca)
    assert HealthTest("/probe?healthcheckignore=1", 0.2, 1.0, ((200, 299), (304, 304)), "OK", 2,
                      MinServers.DISREGARD_HEALTH, 15) == config.health
    [setting] = config.rewrite
    assert (8080, "/receivesms.php", "(.*)", "/in{R:1}", False) == (
        setting.port, setting.rule.base, setting.rule.pattern.pattern, setting.rule.action_path,
        setting.rule.append_query_string)
    assert (9443, 9000) == (config.bind_port(8443), config.bind_port(8080))


def test_every_problem_is_reported_with_path_value_and_reason() -> None:
    """Bad values are all reported at once, each naming its path, the value and why."""
    _, problems = read({
        "engine": "nginx", "port": 70000, "ports": {"x": 1, 8080: "y"}, "offload": "maybe", "timeout": 0,
        "tls": {"cert": "a.pem"}, "colour": "blue",
        "health": {"url": "probe", "interval": -1, "acceptable": "2000", "min_servers_mode": "sometimes",
                   "burst": 0, "response": "OK"},
        "rewrite": [{"pattern": "(", "action_path": "/x"}, {"action_path": "/{R:2}"}, {"base": "x"}],
    })
    assert [
        Problem("proxy.tls.key", "", "is required with tls.cert (the HTTPS listener needs both)"),
        Problem("proxy.engine", "nginx", "must be one of aiohttp, haproxy"),
        Problem("proxy.port", 70000, "must be at most 65535"),
        Problem("proxy.ports.x", "x", "must be keyed by an incoming HTTP port (1-65535)"),
        Problem("proxy.ports.8080", "y", "must be a port number (0-65535; 0 = any free port)"),
        Problem("proxy.offload", "maybe", "must be true, false, 0 or 1"),
        Problem("proxy.timeout", 0, "must be at least 0.01"),
        Problem("proxy.health.url", "probe",
                "must be a path such as /receivesms.php?healthcheckignore=1 or an absolute URL"),
        Problem("proxy.health.interval", -1, "must be at least 0.01"),
        Problem("proxy.health.acceptable", "2000", "'2000' must be within 100-999, low to high"),
        Problem("proxy.health.min_servers_mode", "sometimes", "must be honor or disregard"),
        Problem("proxy.health.burst", 0, "must be at least 1"),
        Problem("proxy.health.response", "OK", "is not a known field"),
        Problem("proxy.rewrite[0].pattern", "(",
                "is not a valid regular expression: missing ), unterminated subpattern at position 0"),
        Problem("proxy.rewrite[1].action_path", "/{R:2}", "refers to {R:2} but the pattern has 0 group(s)"),
        Problem("proxy.rewrite[2].base", "x", "must match /\\S*"),
        Problem("proxy.rewrite[2].action_path", None, "is required"),
        Problem("proxy.colour", "blue", "is not a known field"),
    ] == problems


def test_acceptable_codes_may_be_a_list() -> None:
    """A YAML list of codes and ranges reads like the comma-separated text."""
    config, problems = read({"health": {"acceptable": [200, "300-302"]}})
    assert ([], ((200, 200), (300, 302))) == (problems, config.health.acceptable)


def test_farms_are_planned_per_incoming_port() -> None:
    """One farm per distinct incoming port; HTTPS where its brokers use HTTPS; derived URL test and rules."""
    config, _ = read({"ports": {8443: 9443}, "health": {"interval": 0.5, "response_match": "OK"}})
    plans = plan_farms(cic(), config)
    assert [(8080, 0, False, ("kaleyra", "eztexting")), (8443, 9443, True, ("portico",))] == [
        (p.incoming_port, p.bind_port, p.https, p.brokers) for p in plans]
    assert HealthTest("/kaleyra/mo?healthcheckignore=1", 0.5, 30.0, ((200, 399),), "OK") == plans[0].health
    assert "/portico/mo?healthcheckignore=1" == plans[1].health.url
    assert [("/receivesms.php", "/receivesms.php{R:0}"), ("/kaleyra/mo", "/kaleyra/mo{R:0}"),
            ("/kaleyra/dr", "/kaleyra/dr{R:0}")] == [(r.base, r.action_path) for r in plans[0].rules]
    assert "/receivesms.php?From=1" == plans[0].rules[0].apply("/receivesms.php", "From=1")


def test_a_configured_health_url_and_rules_replace_the_derived_ones() -> None:
    """health.url applies to every farm; a rule scoped to a port lands only in that port's farm."""
    config, _ = read({"health": {"url": "/alive"}, "rewrite": [
        {"base": "/", "action_path": "/all{R:0}"}, {"base": "/p", "action_path": "/p{R:0}", "port": 8443}]})
    plans = plan_farms(cic(), config)
    assert ["/alive", "/alive"] == [p.health.url for p in plans]
    assert [["/all{R:0}"], ["/all{R:0}", "/p{R:0}"]] == [[r.action_path for r in p.rules] for p in plans]


def test_helpers_for_one_port() -> None:
    """The derived URL test, the default rules and the distinct ports, as the lab uses them."""
    assert [8080, 8443] == incoming_ports(cic())
    assert "/portico/mo?healthcheckignore=1" == health_url_for(cic(), 8443)
    assert "/?healthcheckignore=1" == health_url_for(cic(), 1)
    assert ["/portico/mo", "/portico/dr"] == [r.base for r in default_rules(cic(), 8443)]


def test_cross_checks_against_the_brokers() -> None:
    """A port for several farms, a port no broker uses and a shared bind port are problems."""
    config, _ = read({"port": 9000, "ports": {9999: 1}, "rewrite": [{"action_path": "/x", "port": 1234}]})
    assert [
        Problem("proxy.ports.9999", 1, "must be keyed by an incoming port of an enabled broker (they use 8080, 8443)"),
        Problem("proxy.port", 9000, "cannot serve 2 farms (incoming ports 8080, 8443); give each one its bind "
                                    "port under proxy.ports"),
        Problem("proxy.ports", 9000, "is the bind port of more than one farm"),
        Problem("proxy.rewrite[0].port", 1234, "must be an incoming port of an enabled broker, or 0 for every farm"),
    ] == check_proxy_config(config, cic())
    fine, _ = read({"port": 9000, "ports": {8443: 9443}})
    assert [] == check_proxy_config(fine, cic())


def test_proxy_settings_for_one_farm() -> None:
    """The server's settings carry the members, rules, URL test, offload and time-out of the section."""
    config, _ = read({"timeout": 3, "health": {"interval": 0.2}})
    plan = plan_farms(cic(), config)[0]
    settings = proxy_settings(config, ["127.0.0.1:1", "127.0.0.1:2"], plan.rules, health_url=plan.health.url)
    assert (["127.0.0.1:1", "127.0.0.1:2"], plan.rules, plan.health, True, None, 3.0) == (
        settings.members, settings.rules, settings.health, settings.offload, settings.upstream_ssl,
        settings.timeout)


def test_tls_files_are_loaded_or_reported(tmp_path: Path, pki: Pki) -> None:
    """The listener and re-encrypt contexts load from the files; a missing file is a ConfigError."""
    ident = pki.proxy_self_signed
    (tmp_path / "proxy.pem").write_bytes(ident.chain_pem)
    (tmp_path / "proxy.key").write_bytes(ident.key_pem)
    (tmp_path / "ca.pem").write_bytes(pki.trust_pem("proxy"))
    config, _ = read({"offload": False, "upstream_ca": str(tmp_path / "ca.pem"),
                      "tls": {"cert": str(tmp_path / "proxy.pem"), "key": str(tmp_path / "proxy.key")}})
    assert isinstance(server_ssl_context(config), ssl.SSLContext)
    upstream = upstream_ssl_context(config)
    assert upstream is not None
    assert 2 == len(upstream.get_ca_certs())
    assert proxy_settings(config, ["h:1"], ()).upstream_ssl is not None
    assert server_ssl_context(ProxyConfig()) is None
    assert upstream_ssl_context(ProxyConfig(upstream_ca="ca.pem")) is None  # offloading: nothing to verify
    with pytest.raises(ConfigError) as caught:
        upstream_ssl_context(ProxyConfig(offload=False, upstream_ca=str(tmp_path / "absent.pem")))
    assert ["proxy.upstream_ca"] == [p.path for p in caught.value.problems]
    with pytest.raises(ConfigError) as caught:
        server_ssl_context(ProxyConfig(tls_cert=str(tmp_path / "ca.pem"), tls_key=str(tmp_path / "ca.pem")))
    assert ["proxy.tls"] == [p.path for p in caught.value.problems]
