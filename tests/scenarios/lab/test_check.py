"""Tests for scenarios.lab.check: the one check of a lab file, every section's problems at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.lab.check import check_lab, check_lab_file, serve_node, serve_proxy
from scenarios.lab.spec import default_lab_config
from sim.cic.settings import SmsScheme
from sim.core.errors import ConfigError
from sim.labfile import read_lab

BROKER = {"name": "k", "type": "kaleyra", "accounts": [{"id": "a", "local_address": "8005550100"}],
          "mo": {"incoming_port": 8080, "incoming_path": "/k/mo"}, "mt": {"gateway": "http://127.0.0.1:9"}}


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        check_lab(read_lab(data, "lab.yaml"))
    return [(p.path, p.reason) for p in info.value.problems]


def test_the_default_lab_checks_into_its_spec_and_its_fakes() -> None:
    """The embedded lab: its farm planned and each of its three fakes built, of its kind."""
    checked = check_lab(default_lab_config())
    assert [f.incoming_port for f in checked.spec.farms] == [8080]
    assert {name: fake.kind for name, fake in checked.fakes.items()} == {
        "kaleyra": "kaleyra", "portico": "portico", "eztexting": "http-broker"}


def test_cross_checks_wait_for_valid_cic_sections() -> None:
    """With the CIC sections broken, proxy and cic are read in full, but not checked against the brokers."""
    lab = {"brokers": [BROKER], "proxy": {"ports": {9999: 0}, "timeout": 0}, "cic": {"nodes": {"primary": 3}}}
    ports = ("proxy.ports.9999", "must be keyed by an incoming port of an enabled broker (they use 8080)")
    assert _problems(lab) == [("proxy.timeout", "must be at least 0.01"), ports,
                              ("cic.nodes.primary", "must be a mapping")]
    assert _problems({**lab, "sms": {"purge_days": 1}}) == [
        ("proxy.timeout", "must be at least 0.01"), ("cic.nodes.primary", "must be a mapping"),
        ("sms.purge_days", "must be greater than 1")]


def test_what_serves_one_component_reads_the_lab_as_the_lab_does(tmp_path: Path) -> None:
    """A node served alone speaks what the lab's proxy sends it; --cert/--key count as the proxy's tls."""
    https = {**BROKER, "name": "p", "type": "portico", "encryption": "HTTPS",
             "accounts": [{"id": "b", "local_address": "+18885550199"}],
             "mo": {"incoming_port": 8443, "incoming_path": "/p/mo"}, "mt": {"gateway": "https://127.0.0.1:9"}}
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"brokers": [BROKER, https]}), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        check_lab_file(lab)
    assert [p.path for p in info.value.problems] == ["proxy.tls.cert"]
    (tmp_path / "p.pem").write_text("", encoding="utf-8")
    cic, proxy = serve_proxy(lab, (str(tmp_path / "p.pem"), str(tmp_path / "p.pem")))
    assert ([b.name for b in cic.brokers], proxy.tls_cert) == (["k", "p"], str(tmp_path / "p.pem"))
    lab.write_text(yaml.safe_dump({"brokers": [BROKER, https], "proxy": {"tls": {"cert": "p.pem", "key": "p.pem"}}}),
                   encoding="utf-8")
    assert serve_node(lab, "primary")[1].sms_scheme is SmsScheme.HTTP  # the proxy offloads SSL
