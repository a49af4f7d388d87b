"""Tests for scenarios.labconfig: reading the lab configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.labconfig import load_lab_config
from sim.core.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "scenarios" / "examples" / "lab.yaml"


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
