"""Reading the lab configuration file: one YAML file, validated in full before anything starts.

The CIC sections (``sms``, ``brokers``, ``server_parameters``, ``web_services``, ``core``) are read by
``sim.core``; ``fakes`` (one mapping per fake broker, keyed by name, with its ``kind``) is checked here
for shape and read in full by each fake's factory when the fake is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.validation import load_cic_config

__all__ = ["LabConfig", "load_lab_config", "parse_lab_config", "read_yaml"]

LAB_SECTIONS = ("fakes",)


@dataclass(frozen=True)
class LabConfig:
    """A validated lab configuration."""

    cic: CicConfig
    fakes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error becomes a ``ConfigError`` naming the file, line and column.

    Raises:
        ConfigError: the file cannot be read or is not valid YAML.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("(file)", name, f"cannot be read: {exc}")], name) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(where, None, f"is not valid YAML: {reason}")], name) from exc


def parse_lab_config(data: Any, source: str = "") -> LabConfig:
    """Validate a parsed lab configuration.

    Raises:
        ConfigError: with every problem found.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("(top)", data, "must be a mapping of sections")], source)
    problems: list[Problem] = []
    fakes = data.get("fakes") or {}
    if not isinstance(fakes, Mapping):
        problems.append(Problem("fakes", fakes, "must be a mapping of fake names to their settings"))
        fakes = {}
    for name, settings in fakes.items():
        if not isinstance(settings, Mapping):
            problems.append(Problem(f"fakes.{name}", settings, "must be a mapping"))
    try:
        cic = load_cic_config(data, source, sections=LAB_SECTIONS)
    except ConfigError as exc:
        raise ConfigError([*exc.problems, *problems], source) from exc
    if problems:
        raise ConfigError(problems, source)
    return LabConfig(cic, dict(fakes), source)


def load_lab_config(path: str | Path) -> LabConfig:
    """Read and validate the lab configuration file at ``path``.

    Raises:
        ConfigError: the file is unreadable, not YAML, or invalid; every problem is listed.
    """
    return parse_lab_config(read_yaml(path), str(path))
