"""Tests for sim.labfile: reading the lab configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.core.errors import ConfigError
from sim.labfile import load_lab_config, parse_lab_config, read_lab, read_lab_data, resolve_files

EXAMPLE = Path(__file__).parents[1] / "scenarios" / "examples" / "lab.yaml"


def test_example_lab_loads() -> None:
    """The shipped example configuration is valid and has its three brokers."""
    config = load_lab_config(EXAMPLE)
    assert [b.name for b in config.cic.brokers] == ["kaleyra", "portico", "eztexting"]
    assert config.cic.server_parameters.sms_interaction_recovery is True


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    """Invalid YAML is reported with the file, line and column."""
    bad = tmp_path / "lab.yaml"
    bad.write_text("sms:\n  purge_days: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_lab_config(bad)
    problem = info.value.problems[0]
    assert problem.path.startswith("line 3, column")
    assert problem.reason.startswith("is not valid YAML")


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a config error naming it."""
    with pytest.raises(ConfigError, match="cannot be read"):
        load_lab_config(tmp_path / "nope.yaml")


def test_fakes_section_shape(tmp_path: Path) -> None:
    """fakes must map names to mappings; other top-level sections are unknown."""
    bad = tmp_path / "lab.yaml"
    bad.write_text("fakes: {k1: 5}\nproxies: {}\n")
    with pytest.raises(ConfigError) as info:
        load_lab_config(bad)
    assert {(p.path, p.reason) for p in info.value.problems} == {("fakes.k1", "must be a mapping"),
                                                                ("proxies", "is not a known field")}


def test_empty_file_is_an_empty_lab(tmp_path: Path) -> None:
    """An empty file is a lab with no brokers and no routes (email routing)."""
    empty = tmp_path / "lab.yaml"
    empty.write_text("")
    assert load_lab_config(empty).cic.brokers == ()


def test_certificate_paths_are_read_against_the_lab_files_folder(tmp_path: Path) -> None:
    """Relative TLS files become paths under the lab file's folder; absolute and empty ones stay."""
    lab = tmp_path / "labs" / "lab.yaml"
    ca = tmp_path.resolve() / "elsewhere" / "ca.pem"
    for name in ("labs/certs/k.pem", "labs/certs/k.key", "labs/p.pem", "labs/p.key", "n.pem", "labs/n.key",
                 "labs/ca.pem", "elsewhere/ca.pem"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    lab.write_text(
        f"fakes:\n  k: {{kind: kaleyra, tls: {{cert: certs/k.pem, key: certs/k.key}}, push: {{ca: {ca}}}}}\n"
        "proxy: {tls: {cert: p.pem, key: p.key}, upstream_ca: ''}\n"
        "cic: {nodes: {primary: {tls_cert: ../n.pem, tls_key: n.key, mt_ca: ca.pem, store: node.sqlite}}}\n")
    config = load_lab_config(lab)
    base = lab.parent.resolve()
    assert config.fakes["k"]["tls"] == {"cert": str(base / "certs/k.pem"), "key": str(base / "certs/k.key")}
    assert config.fakes["k"]["push"] == {"ca": str(ca)}
    assert (config.proxy_section["tls"], config.proxy_section["upstream_ca"]) == (
        {"cert": str(base / "p.pem"), "key": str(base / "p.key")}, "")
    assert config.cic_section["nodes"]["primary"] == {"tls_cert": str(base / "../n.pem"),
                                                      "tls_key": str(base / "n.key"),
                                                      "mt_ca": str(base / "ca.pem"), "store": "node.sqlite"}
    assert config.data["proxy"]["tls"]["cert"] == str(base / "p.pem")  # what --processes children read


def test_without_a_lab_file_paths_stay_as_written() -> None:
    """Data that names no file on disk (the embedded lab, a test's mapping) keeps its paths relative."""
    data = {"proxy": {"tls": {"cert": "p.pem", "key": "p.key"}}, "cic": {"nodes": "not a mapping"}}
    with pytest.raises(ConfigError) as info:  # looked for in the working directory, where they are not
        parse_lab_config(data, "absent/lab.yaml")
    assert [(p.path, p.value) for p in info.value.problems] == [("proxy.tls.cert", "p.pem"), ("proxy.tls.key", "p.key")]
    assert parse_lab_config(data, "absent/lab.yaml", check_files=False).proxy_section["tls"] == {
        "cert": "p.pem", "key": "p.key"}
    assert resolve_files(data, "/base") == {"proxy": {"tls": {"cert": "/base/p.pem", "key": "/base/p.key"}},
                                           "cic": {"nodes": "not a mapping"}}


def test_extends_reads_each_files_paths_against_its_own_folder(tmp_path: Path) -> None:
    """A base lab's certificate paths are read beside the base, the extending file's beside it."""
    for name in ("labs/certs/base.pem", "labs/certs/base.key", "mine/ca.pem"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "labs" / "base.yaml").write_text("proxy: {tls: {cert: certs/base.pem, key: certs/base.key}}\n")
    (tmp_path / "mine" / "lab.yaml").write_text("extends: ../labs/base.yaml\nproxy: {upstream_ca: ca.pem}\n")
    config = load_lab_config(tmp_path / "mine" / "lab.yaml")
    root = tmp_path.resolve()
    assert dict(config.proxy_section) == {"tls": {"cert": str(root / "labs/certs/base.pem"),
                                                  "key": str(root / "labs/certs/base.key")},
                                          "upstream_ca": str(root / "mine/ca.pem")}
    assert "extends" not in config.data  # what a --processes lab writes for its children stands alone


def test_extends_a_named_lab_and_the_default_without_it(tmp_path: Path) -> None:
    """extends: <name> reads the lab the caller names; 'default' unnamed is a problem saying what it is."""
    (tmp_path / "base.yaml").write_text("server_parameters: {SMS Interaction Recovery Enabled: 1}\n")
    data = {"extends": "default", "sms": {"purge_days": 7}}
    config = parse_lab_config(data, named={"default": tmp_path / "base.yaml"})
    assert (config.cic.sms.purge_days, config.cic.server_parameters.sms_interaction_recovery) == (7, True)
    with pytest.raises(ConfigError) as info:
        parse_lab_config(data, "lab.yaml")
    [problem] = info.value.problems
    assert (problem.path, problem.value) == ("extends", "default")
    assert problem.reason.startswith("names the embedded lab, which only the smslab command knows")
    assert read_lab_data(tmp_path / "base.yaml") == {"server_parameters": {"SMS Interaction Recovery Enabled": 1}}


def test_a_reading_goes_on_past_broken_cic_sections() -> None:
    """read_lab reports the CIC problems with the lab sections' own, and says the CIC sections are not valid."""
    reading = read_lab({"sms": {"purge_days": 1}, "proxy": [], "fakes": {"k": 1, "j": {"kind": "kaleyra"}}})
    assert [(p.path, p.reason) for p in reading.problems] == [
        ("sms.purge_days", "must be greater than 1"), ("proxy", "must be a mapping"),
        ("fakes.k", "must be a mapping")]
    assert (reading.cic_valid, list(reading.config.fakes)) == (False, ["j"])


def test_no_setting_in_a_lab_file_may_be_non_finite() -> None:
    """YAML's .nan and .inf are refused as settings, naming the path: NaN passed every bound and was taken."""
    reading = read_lab({"brokers": [{"name": "k", "type": "kaleyra", "mt": {"timeout": float("nan")}},
                                    {"name": "j", "type": "kaleyra", "mt": {"timeout": float("inf")},
                                     "mo": {"incoming_path": "/j"}}]})
    assert [(p.path, p.reason) for p in reading.problems] == [
        ("brokers[0].mt.timeout", "must be a finite number"), ("brokers[1].mt.timeout", "must be a finite number")]
