"""Reading the lab configuration file: one YAML file, validated in full before anything starts.

The CIC sections (``sms``, ``brokers``, ``server_parameters``, ``web_services``, ``core``) are read by
``sim.core``; ``fakes`` (one mapping per fake broker, keyed by name, with its ``kind``) is checked here
for shape and read in full by each fake's factory when the fake is built. ``cic`` (the simulated pair:
``nodes``, ``switchover``) and ``proxy`` (the ARR-style reverse proxy) are checked here for shape and read
in full by ``scenarios.lab.spec`` before a lab starts.

A broker's ``mt.gateway`` may be the placeholder ``fake:<name>``: the gateway is then the fake named
``<name>`` in ``fakes``, whose real URL (it binds port 0) is known only once it listens. The placeholder is
kept in ``LabConfig.fake_gateways`` and the gateway read as ``http://fake-<name>.invalid`` (RFC 2606: a
name that never resolves, so a lab that forgot to put the fake's URL in its place fails loudly) until the
lab replaces it (``scenarios.lab.spec.resolve_gateways``); ``https://`` for a broker with Encryption HTTPS,
whose fake must then serve HTTPS (``tls``), since MO and MT use the same scheme
(SMS Technical Reference, "Using SSL").

Files a lab file names (``FILE_KEYS``: certificates, keys and trust bundles) are read against the lab
file's own folder when relative, so a lab file and the ``certs/`` folder ``smslab certs --out`` writes
beside it work from any working directory (``scenarios/examples/https-lab.yaml``). They are resolved once,
here, in the mapping itself, so the derived files a ``--processes`` lab writes for its children carry
absolute paths. A lab file that ``extends`` another is resolved against the folder of the file loaded.
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

__all__ = ["FAKE_GATEWAY", "FILE_KEYS", "LabConfig", "load_lab_config", "parse_lab_config",
           "placeholder_gateway", "read_yaml", "resolve_files"]

LAB_SECTIONS = ("fakes", "cic", "proxy")
#: ``mt.gateway: fake:<name>`` names a fake of the lab as the broker's gateway.
FAKE_GATEWAY = re.compile(r"fake:([A-Za-z0-9_.\-]+)")
#: The keys that name files the lab reads, as paths through the lab file (``*``: every key of a mapping).
FILE_KEYS: tuple[tuple[str, ...], ...] = (
    ("fakes", "*", "tls", "cert"), ("fakes", "*", "tls", "key"), ("fakes", "*", "push", "ca"),
    ("proxy", "tls", "cert"), ("proxy", "tls", "key"), ("proxy", "upstream_ca"),
    ("cic", "nodes", "*", "tls_cert"), ("cic", "nodes", "*", "tls_key"), ("cic", "nodes", "*", "mt_ca"),
)


@dataclass(frozen=True)
class LabConfig:
    """A validated lab configuration.

    Attributes:
        cic: the CIC sections, read (``fake:<name>`` gateways as their placeholder URL).
        fakes: fake name -> its settings mapping (read in full by the fake's factory).
        source: the file it came from.
        cic_section: the ``cic`` mapping (nodes, switchover), read by ``scenarios.lab.spec``.
        proxy_section: the ``proxy`` mapping, read by ``scenarios.lab.spec``.
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


def placeholder_gateway(fake: str, https: bool = False) -> str:
    """The gateway a ``fake:<name>`` placeholder reads as until the lab knows the fake's URL."""
    return f"{'https' if https else 'http'}://fake-{fake}.invalid"


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


def resolve_files(data: Any, base: str | Path) -> Any:
    """A copy of ``data`` whose ``FILE_KEYS`` holding relative paths are joined to ``base``.

    Anything that is not where a mapping is expected is left as it is, for validation to report.
    """
    for keys in FILE_KEYS:
        data = _resolve(data, keys, Path(base))
    return data


def _resolve(node: Any, keys: tuple[str, ...], base: Path) -> Any:
    if not isinstance(node, Mapping):
        return node
    if len(keys) == 1:
        value = node.get(keys[0])
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            return node
        return {**node, keys[0]: str(base / value)}
    names = list(node) if keys[0] == "*" else [keys[0]] if keys[0] in node else []
    return {**node, **{name: _resolve(node[name], keys[1:], base) for name in names}}


def _base_of(source: str) -> Path | None:
    """The folder of the lab file ``source`` names (``None``: not a file, e.g. the embedded default)."""
    path = Path(source) if source else None
    return path.resolve().parent if path is not None and path.is_file() else None


def parse_lab_config(data: Any, source: str = "", base: str | Path | None = None) -> LabConfig:
    """Validate a parsed lab configuration.

    Args:
        data: the parsed lab file.
        source: the file it came from (named in problems).
        base: the folder relative file paths are read against; when ``None``, the folder of ``source``
            if it names a file, else they are left as written (relative to the working directory).

    Raises:
        ConfigError: with every problem found.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("(top)", data, "must be a mapping of sections")], source)
    base = base if base is not None else _base_of(source)
    if base is not None:
        data = resolve_files(data, base)
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
        assert isinstance(mt, Mapping)  # a gateway was found in it
        fake = found.group(1)
        if fake not in fakes:
            known = ", ".join(sorted(map(str, fakes))) or "none"
            problems.append(Problem(f"brokers[{i}].mt.gateway", gateway,
                                    f"must name a fake of the lab (known: {known})"))
        https = str(broker.get("encryption", "")).upper() == "HTTPS"
        settings = fakes.get(fake)
        if https and isinstance(settings, Mapping) and not _serves_tls(settings):
            reason = (f"is required: broker {broker.get('name')!r} uses HTTPS, so its gateway must serve "
                      "HTTPS (SMS Technical Reference, \"Using SSL\")")
            problems.append(Problem(f"fakes.{fake}.tls.cert", "", reason))
        gateways[str(broker.get("name", ""))] = fake
        out.append({**broker, "mt": {**mt, "gateway": placeholder_gateway(fake, https)}})
    return {**data, "brokers": out}, gateways


def _serves_tls(settings: Mapping[str, Any]) -> bool:
    tls = settings.get("tls")
    return isinstance(tls, Mapping) and bool(tls.get("cert"))


def load_lab_config(path: str | Path) -> LabConfig:
    """Read and validate the lab configuration file at ``path``.

    Raises:
        ConfigError: the file is unreadable, not YAML, or invalid; every problem is listed.
    """
    return parse_lab_config(read_yaml(path), str(path))
