"""Reading the lab configuration file: one YAML file, validated in full before anything starts.

The CIC sections (``sms``, ``brokers``, ``server_parameters``, ``web_services``, ``core``) are read by
``sim.core``; ``fakes`` (one mapping per fake broker, keyed by name, with its ``kind``) is checked here
for shape and read in full by each fake's factory when the fake is built. ``cic`` (the simulated pair:
``nodes``, ``switchover``) and ``proxy`` (the ARR-style reverse proxy) are checked here for shape and read
in full by ``scenarios.labspec`` before a lab starts.

A broker's ``mt.gateway`` may be the placeholder ``fake:<name>``: the gateway is then the fake named
``<name>`` in ``fakes``, whose real URL (it binds port 0) is known only once it listens. The placeholder is
kept in ``LabConfig.fake_gateways`` and the gateway read as ``http://fake-<name>.invalid`` (RFC 2606: a
name that never resolves, so a lab that forgot to put the fake's URL in its place fails loudly) until the
lab replaces it (``scenarios.labspec.resolve_gateways``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.validation import load_cic_config

__all__ = ["FAKE_GATEWAY", "LabConfig", "load_lab_config", "parse_lab_config", "placeholder_gateway",
           "read_yaml"]

LAB_SECTIONS = ("fakes", "cic", "proxy")
#: ``mt.gateway: fake:<name>`` names a fake of the lab as the broker's gateway.
FAKE_GATEWAY = re.compile(r"fake:([A-Za-z0-9_.\-]+)")


@dataclass(frozen=True)
class LabConfig:
    """A validated lab configuration.

    Attributes:
        cic: the CIC sections, read (``fake:<name>`` gateways as their placeholder URL).
        fakes: fake name -> its settings mapping (read in full by the fake's factory).
        source: the file it came from.
        cic_section: the ``cic`` mapping (nodes, switchover), read by ``scenarios.labspec``.
        proxy_section: the ``proxy`` mapping, read by ``scenarios.labspec``.
        fake_gateways: broker name -> the fake its ``mt.gateway: fake:<name>`` names.
        data: the whole mapping as parsed (for writing a derived file for child processes).
    """

    cic: CicConfig
    fakes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""
    cic_section: Mapping[str, Any] = field(default_factory=dict)
    proxy_section: Mapping[str, Any] = field(default_factory=dict)
    fake_gateways: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)


def placeholder_gateway(fake: str) -> str:
    """The gateway a ``fake:<name>`` placeholder reads as until the lab knows the fake's URL."""
    return f"http://fake-{fake}.invalid"


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
    sections = {key: _section(data, key, problems) for key in ("cic", "proxy")}
    given = data
    data, gateways = _fake_gateways(data, fakes, problems)
    try:
        cic = load_cic_config(data, source, sections=LAB_SECTIONS)
    except ConfigError as exc:
        raise ConfigError([*exc.problems, *problems], source) from exc
    if problems:
        raise ConfigError(problems, source)
    return LabConfig(cic, dict(fakes), source, sections["cic"], sections["proxy"], gateways, dict(given))


def _section(data: Mapping[str, Any], key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        problems.append(Problem(key, value, "must be a mapping"))
        return {}
    return dict(value)


def _fake_gateways(data: Mapping[str, Any], fakes: Mapping[str, Any],
                   problems: list[Problem]) -> tuple[Mapping[str, Any], dict[str, str]]:
    """Replace ``mt.gateway: fake:<name>`` by its placeholder URL; broker name -> fake name."""
    brokers = data.get("brokers")
    if not isinstance(brokers, list):
        return data, {}
    gateways: dict[str, str] = {}
    out = []
    for i, broker in enumerate(brokers):
        mt = broker.get("mt") if isinstance(broker, Mapping) else None
        gateway = mt.get("gateway") if isinstance(mt, Mapping) else None
        found = FAKE_GATEWAY.fullmatch(gateway) if isinstance(gateway, str) else None
        if found is None:
            out.append(broker)
            continue
        fake = found.group(1)
        if fake not in fakes:
            known = ", ".join(sorted(map(str, fakes))) or "none"
            problems.append(Problem(f"brokers[{i}].mt.gateway", gateway,
                                    f"must name a fake of the lab (known: {known})"))
        gateways[str(broker.get("name", ""))] = fake
        out.append({**broker, "mt": {**mt, "gateway": placeholder_gateway(fake)}})
    return {**data, "brokers": out}, gateways


def load_lab_config(path: str | Path) -> LabConfig:
    """Read and validate the lab configuration file at ``path``.

    Raises:
        ConfigError: the file is unreadable, not YAML, or invalid; every problem is listed.
    """
    return parse_lab_config(read_yaml(path), str(path))
