"""Tests for sim.labfile: reading the lab configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.core.errors import ConfigError
from sim.labfile import load_lab_config, parse_lab_config, resolve_files

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
    lab.parent.mkdir()
    lab.write_text(
        "fakes:\n  k: {kind: kaleyra, tls: {cert: certs/k.pem, key: certs/k.key}, push: {ca: /etc/ca.pem}}\n"
        "proxy: {tls: {cert: p.pem, key: p.key}, upstream_ca: ''}\n"
        "cic: {nodes: {primary: {tls_cert: ../n.pem, tls_key: n.key, mt_ca: ca.pem, store: node.sqlite}}}\n")
    config = load_lab_config(lab)
    base = lab.parent.resolve()
    assert config.fakes["k"]["tls"] == {"cert": str(base / "certs/k.pem"), "key": str(base / "certs/k.key")}
    assert config.fakes["k"]["push"] == {"ca": "/etc/ca.pem"}
    assert (config.proxy_section["tls"], config.proxy_section["upstream_ca"]) == (
        {"cert": str(base / "p.pem"), "key": str(base / "p.key")}, "")
    assert config.cic_section["nodes"]["primary"] == {"tls_cert": str(base / "../n.pem"),
                                                      "tls_key": str(base / "n.key"),
                                                      "mt_ca": str(base / "ca.pem"), "store": "node.sqlite"}
    assert config.data["proxy"]["tls"]["cert"] == str(base / "p.pem")  # what --processes children read


def test_without_a_lab_file_paths_stay_as_written() -> None:
    """Data that names no file on disk (the embedded lab, a test's mapping) keeps its paths relative."""
    data = {"proxy": {"tls": {"cert": "p.pem", "key": "p.key"}}, "cic": {"nodes": "not a mapping"}}
    assert parse_lab_config(data, "absent/lab.yaml").proxy_section["tls"] == {"cert": "p.pem", "key": "p.key"}
    assert resolve_files(data, "/base") == {"proxy": {"tls": {"cert": "/base/p.pem", "key": "/base/p.key"}},
                                           "cic": {"nodes": "not a mapping"}}
