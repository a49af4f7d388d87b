"""Reading the lab configuration file: one YAML file, validated in full before anything starts.

This module is the one reader of lab files: every command that takes one (``smslab check-config``, ``up``,
``run``, ``failover``, ``route``, ``serve``, ``proxy haproxy-config``, the pytest plugin) reads it here, so a
file means the same to each of them.

The CIC sections (``sms``, ``brokers``, ``server_parameters``, ``web_services``, ``core``) are read by
``sim.core``; ``fakes`` (one mapping per fake broker, keyed by name, with its ``kind``) is checked here
for shape and read in full by each fake's factory when the fake is built. ``cic`` (the simulated pair:
``nodes``, ``switchover``) and ``proxy`` (the ARR-style reverse proxy) are checked here for shape and read
in full by ``scenarios.lab`` before a lab starts (``scenarios.lab.check``: this module's problems, those
two sections and every fake's settings, reported together).

A lab file may begin with ``extends: <file>`` (relative to it) or ``extends: <name>`` of a lab the caller
knows by name (``named``: the ``smslab`` command passes ``default``, the embedded lab): the file's other
sections are merged over that lab's, so a variant states only its difference. Mappings merge key by key; a
list of named mappings (``brokers``) merges item by item by ``name`` (a named item not in the base is added
at the end); any other value, other lists included (``inbound_routes``, ``outbound_routes``), replaces the
base's whole::

    extends: default
    server_parameters: {SMS Interaction Recovery Enabled: 0}
    brokers: [{name: kaleyra, mt: {message_parsing: none}}]

A broker's ``mt.gateway`` may be the placeholder ``fake:<name>``: the gateway is then the fake named
``<name>`` in ``fakes``, whose real URL (it binds port 0) is known only once it listens. The placeholder is
kept in ``LabConfig.fake_gateways`` and the gateway read as ``http://fake-<name>.invalid`` (RFC 2606: a
name that never resolves, so a lab that forgot to put the fake's URL in its place fails loudly) until the
lab replaces it (``scenarios.lab.spec.resolve_gateways``); ``https://`` for a broker with Encryption HTTPS,
whose fake must then serve HTTPS (``tls``), since MO and MT use the same scheme (SMS Technical Reference,
"Using SSL"). A node served alone (``alone``: ``smslab serve cic``) has no fakes to resolve them, so there
each one is a problem.

Files a lab file names (``FILE_KEYS``: certificates, keys and trust bundles) are read against the folder of
the lab file that names them when relative, so a lab file and the ``certs/`` folder ``smslab certs --out``
writes beside it work from any working directory (``scenarios/examples/https-lab.yaml``). They are resolved
once, here, in the mapping itself, so the derived files a ``--processes`` lab writes for its children carry
absolute paths; each one must exist (a problem naming the field, the path looked for and the command that
makes it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.core.config import CicConfig, read_cic_config
from sim.core.errors import ConfigError, Problem
from sim.core.validation import check_cic_config

__all__ = ["FAKE_GATEWAY", "FILE_KEYS", "LabConfig", "LabReading", "in_file_order", "load_lab_config",
           "merge_labs", "parse_lab_config", "placeholder_gateway", "read_lab", "read_lab_data", "read_yaml",
           "resolve_files"]

LAB_SECTIONS = ("fakes", "cic", "proxy", "nexus", "carriers", "populations")
#: ``mt.gateway: fake:<name>`` names a fake of the lab as the broker's gateway.
FAKE_GATEWAY = re.compile(r"fake:([A-Za-z0-9_.\-]+)")
#: The keys that name files the lab reads, as paths through the lab file (``*``: every key of a mapping).
FILE_KEYS: tuple[tuple[str, ...], ...] = (
    ("fakes", "*", "tls", "cert"), ("fakes", "*", "tls", "key"), ("fakes", "*", "push", "ca"),
    ("proxy", "tls", "cert"), ("proxy", "tls", "key"), ("proxy", "upstream_ca"),
    ("cic", "nodes", "*", "tls_cert"), ("cic", "nodes", "*", "tls_key"), ("cic", "nodes", "*", "mt_ca"),
)
#: The lab every ``smslab`` command knows by this name (``scenarios.paths.NAMED_LABS`` maps it to its file).
EMBEDDED = "default"
_NO_FILE = "names no file"
#: Why a ``fake:<name>`` gateway is refused where one component is served alone.
ALONE_REASON = ("names a fake of the lab: fake:<name> gateways resolve only inside `smslab up`/`smslab run`; "
                "give the broker's real gateway URL to serve a node alone")


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
        data: the whole mapping as parsed, ``extends`` followed and file paths resolved (for writing a
            derived file for child processes).
        nexus_section: the ``nexus`` mapping (Digital Channels), read by ``sim.nexus.settings``.
        shared: fake name -> the lab-level sections folded into its settings (``carriers``,
            ``populations``), so a problem in them is reported once, at the lab level.
    """

    cic: CicConfig
    fakes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""
    cic_section: Mapping[str, Any] = field(default_factory=dict)
    proxy_section: Mapping[str, Any] = field(default_factory=dict)
    fake_gateways: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    nexus_section: Mapping[str, Any] = field(default_factory=dict)
    shared: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LabReading:
    """A lab file read as far as it goes: the configuration and every problem found on the way.

    Attributes:
        config: what was read; when the CIC sections have problems, ``cic`` is built from whatever in them
            was valid, and the sections other than the CIC ones are read all the same.
        problems: every problem, in file order.
        cic_valid: whether the CIC sections had no problem (rules that look across them and the ``proxy``
            section need them valid).
    """

    config: LabConfig
    problems: tuple[Problem, ...] = ()
    cic_valid: bool = True


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


# -- extends -------------------------------------------------------------------------------------------


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in value)


def _merge_value(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        return merge_labs(base, over)
    if _named_list(base) and _named_list(over):
        merged = {item["name"]: item for item in base}
        for item in over:
            merged[item["name"]] = _merge_value(merged.get(item["name"], {}), item)
        return list(merged.values())
    return over


def merge_labs(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged over ``base`` as ``extends`` merges (see the module docstring)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge_value(out[key], value) if key in out else value
    return out


def _extended(data: Mapping[str, Any], base: Path | None, source: str, named: Mapping[str, str | Path],
              chain: tuple[Path, ...]) -> dict[str, Any]:
    """``data`` with its ``extends`` followed (its own paths already resolved against ``base``)."""
    own = {key: value for key, value in data.items() if key != "extends"}
    if "extends" not in data:
        return own
    parent = data["extends"]

    def refuse(reason: str) -> ConfigError:
        return ConfigError([Problem("extends", parent, reason)], source)

    if not isinstance(parent, str) or not parent:
        raise refuse(f"must be the name of a lab ({', '.join(sorted(named)) or EMBEDDED}) or a lab file path")
    if parent in named:
        file = Path(named[parent]).resolve()
    elif parent == EMBEDDED:
        raise refuse("names the embedded lab, which only the smslab command knows (this file is read without "
                     "it, e.g. by python -m); run it through smslab, or extend a lab file by its path")
    else:
        file = ((base or Path.cwd()) / parent).resolve()
    if file in chain:
        raise refuse("makes a loop of lab files")
    if not file.is_file():
        raise refuse(f"is not a file (looked for {file})")
    inherited = read_yaml(file)
    if inherited is None:
        inherited = {}
    if not isinstance(inherited, Mapping):
        raise refuse(f"names a lab file that is not a mapping of sections ({file})")
    inherited = _extended(resolve_files(inherited, file.parent), file.parent, source, named, (*chain, file))
    return merge_labs(inherited, own)


def read_lab_data(path: str | Path, named: Mapping[str, str | Path] | None = None) -> dict[str, Any]:
    """The mapping of the lab file at ``path``: ``extends`` followed, file paths resolved, not validated.

    For a command that reads one part of a lab file itself (``smslab serve kaleyra``).

    Raises:
        ConfigError: the file (or one it extends) is unreadable or not YAML, or ``extends`` is wrong.
    """
    source = str(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("(top)", data, "must be a mapping of sections")], source)
    base = Path(path).resolve().parent
    return _extended(resolve_files(data, base), base, source, named or {}, (Path(path).resolve(),))


# -- reading -------------------------------------------------------------------------------------------


def read_lab(data: Any, source: str = "", base: str | Path | None = None, *,
             named: Mapping[str, str | Path] | None = None, alone: bool = False,
             check_files: bool = True) -> LabReading:
    """Read a parsed lab configuration as far as it goes, collecting every problem.

    Args:
        data: the parsed lab file.
        source: the file it came from (named in problems).
        base: the folder relative file paths (and ``extends``) are read against; when ``None``, the folder
            of ``source`` if it names a file, else they are left as written (relative to the working
            directory).
        named: labs ``extends`` may name (name -> file), e.g. ``scenarios.paths.NAMED_LABS``.
        alone: the file serves one component alone (``smslab serve cic``): a ``fake:<name>`` gateway,
            which only a whole lab resolves, is a problem.
        check_files: whether each file the lab names must exist here (``smslab proxy haproxy-config``
            writes a configuration whose files are the HAProxy host's).

    Raises:
        ConfigError: only when nothing can be read: the top is not a mapping, or ``extends`` is wrong.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("(top)", data, "must be a mapping of sections")], source)
    folder = Path(base) if base is not None else _base_of(source)
    if folder is not None:
        data = resolve_files(data, folder)
    chain = (Path(source).resolve(),) if source and folder is not None and Path(source).is_file() else ()
    data = _extended(data, folder, source, named or {}, chain)
    problems: list[Problem] = []
    fakes, shared = _shared_sections(data, _fakes(data, problems), problems)
    sections = {key: _section(data, key, problems) for key in ("cic", "proxy", "nexus")}
    placed, gateways = _fake_gateways(data, fakes, problems, alone)
    cic, cic_problems = read_cic_config(placed, sections=LAB_SECTIONS)
    check_cic_config(cic, cic_problems)
    problems += cic_problems
    if check_files:
        problems += missing_files(data)
    config = LabConfig(cic, fakes, source, sections["cic"], sections["proxy"], gateways, data,
                       sections["nexus"], shared)
    return LabReading(config, tuple(in_file_order(problems, data)), not cic_problems)


def _fakes(data: Mapping[str, Any], problems: list[Problem]) -> dict[str, Mapping[str, Any]]:
    fakes = data.get("fakes")
    if fakes is None:
        return {}
    if not isinstance(fakes, Mapping):
        problems.append(Problem("fakes", fakes, "must be a mapping of fake names to their settings"))
        return {}
    out = {}
    for name, settings in fakes.items():
        if isinstance(settings, Mapping):
            out[str(name)] = settings
        else:
            problems.append(Problem(f"fakes.{name}", settings, "must be a mapping"))
    return out


def _shared_sections(data: Mapping[str, Any], fakes: dict[str, Mapping[str, Any]], problems: list[Problem],
                     ) -> tuple[dict[str, Mapping[str, Any]], dict[str, frozenset[str]]]:
    """Fold the lab-level ``carriers`` and ``populations`` into the fakes' settings.

    ``carriers`` reaches every fake without ``carriers`` of its own; each population goes to the fake its
    ``broker`` names (it may be left out when the lab has one fake). Only their shape is checked here:
    ``scenarios.lab.check`` reads them in full, once, at the lab level.
    """
    carriers, populations = data.get("carriers"), data.get("populations")
    if populations is not None and not isinstance(populations, list):
        problems.append(Problem("populations", populations, "must be a list of populations"))
        populations = None
    owned: dict[str, list[Any]] = {}
    for i, entry in enumerate(populations or ()):
        broker = entry.get("broker", "") if isinstance(entry, Mapping) else ""
        if not broker and len(fakes) == 1:
            broker = next(iter(fakes))
        if broker in fakes:
            owned.setdefault(broker, []).append(entry)
        elif isinstance(entry, Mapping):
            known = ", ".join(sorted(fakes)) or "none"
            reason = (f"must name a fake of the lab (known: {known})" if broker
                      else f"must name the fake whose MOs these are (known: {known})")
            problems.append(Problem(f"populations[{i}].broker", broker, reason))
    out: dict[str, Mapping[str, Any]] = {}
    shared: dict[str, frozenset[str]] = {}
    for name, settings in fakes.items():
        folded = {key: value for key, value in (("carriers", carriers), ("populations", owned.get(name)))
                  if value is not None and key not in settings}
        out[name] = {**settings, **folded} if folded else settings
        shared[name] = frozenset(folded)
    return out, shared


def _section(data: Mapping[str, Any], key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(key, value, "must be a mapping"))
        return {}
    return dict(value)


def _fake_gateways(data: Mapping[str, Any], fakes: Mapping[str, Any], problems: list[Problem],
                   alone: bool) -> tuple[Mapping[str, Any], dict[str, str]]:
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
        if alone:
            problems.append(Problem(f"brokers[{i}].mt.gateway", gateway, ALONE_REASON))
        elif fake not in fakes:
            known = ", ".join(sorted(map(str, fakes))) or "none"
            problems.append(Problem(f"brokers[{i}].mt.gateway", gateway,
                                    f"must name a fake of the lab (known: {known})"))
        https = str(broker.get("encryption", "")).upper() == "HTTPS"
        settings = fakes.get(fake)
        if https and not alone and isinstance(settings, Mapping) and not _serves_tls(settings):
            reason = (f"is required: broker {broker.get('name')!r} uses HTTPS, so its gateway must serve "
                      "HTTPS (SMS Technical Reference, \"Using SSL\")")
            problems.append(Problem(f"fakes.{fake}.tls.cert", "", reason))
        gateways[str(broker.get("name", ""))] = fake
        out.append({**broker, "mt": {**mt, "gateway": placeholder_gateway(fake, https)}})
    return {**data, "brokers": out}, gateways


def _serves_tls(settings: Mapping[str, Any]) -> bool:
    tls = settings.get("tls")
    return isinstance(tls, Mapping) and bool(tls.get("cert"))


# -- the files a lab names -----------------------------------------------------------------------------


def _named_files(node: Any, path: str = "", keys: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(field path, value) of every non-empty ``FILE_KEYS`` string in ``node``, in the order of the file."""
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        below = (*keys, str(key))
        wanted = [k for k in FILE_KEYS if len(k) >= len(below)
                  and all(w in ("*", b) for w, b in zip(k, below, strict=False))]
        at = f"{path}.{key}" if path else str(key)
        if any(len(k) == len(below) for k in wanted):
            if isinstance(value, str) and value:
                yield at, value
        elif wanted:
            yield from _named_files(value, at, below)


def _shown(folder: Path) -> str:
    """``folder`` relative to the working directory when it lies below it, else absolute."""
    try:
        return str(folder.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(folder)


def missing_files(data: Any) -> list[Problem]:
    """A problem for each file ``FILE_KEYS`` names (paths already resolved) that does not exist.

    The reason says how to make it: the lab's certificates come from ``smslab certs --out DIR``, and a
    file under a ``certs`` folder (as the shipped examples name them) from that command for that folder.
    """
    problems = []
    for path, value in _named_files(data):
        file = Path(value)
        if file.is_file():
            continue
        folder = file.parent
        how = (f"`smslab certs --out {_shown(folder)}`" if folder.name == "certs"
               else "`smslab certs --out DIR` (then name the file it writes there)")
        where = "" if file.is_absolute() else f" (looked for {os.path.abspath(file)})"
        problems.append(Problem(path, value, f"{_NO_FILE}{where}; make it with {how}"))
    return problems


def _names_no_file(problem: Problem) -> bool:
    return problem.reason.startswith(_NO_FILE) and "make it with `smslab certs" in problem.reason


def in_file_order(problems: Iterable[Problem], data: Any) -> list[Problem]:
    """``problems`` by the order of their top-level sections in ``data``, each once.

    Problems keep their order within a section (the order they were found in); ones about the file as a
    whole (``(top)``, ``line 3, column 1``) come first, ones about no section (``--public-base``) last. A
    field that names a missing file gets that problem alone (what fails to load it says nothing more).
    """
    keys = [str(k) for k in data] if isinstance(data, Mapping) else []
    problems = list(problems)
    missing = {p.path for p in problems if _names_no_file(p)}
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.path, problem.reason, repr(problem.value))
        if key in seen or (problem.path in missing and not _names_no_file(problem)):
            continue
        seen.add(key)
        unique.append(problem)

    def rank(problem: Problem) -> int:
        top = re.split(r"[.\[]", problem.path, maxsplit=1)[0]
        if top in keys:
            return keys.index(top)
        return -1 if problem.path.startswith(("(", "line ")) else len(keys)

    return sorted(unique, key=rank)


def parse_lab_config(data: Any, source: str = "", base: str | Path | None = None, *,
                     named: Mapping[str, str | Path] | None = None, alone: bool = False,
                     check_files: bool = True) -> LabConfig:
    """Validate a parsed lab configuration (``read_lab``, raising every problem it found).

    Raises:
        ConfigError: with every problem found.
    """
    reading = read_lab(data, source, base, named=named, alone=alone, check_files=check_files)
    if reading.problems:
        raise ConfigError(reading.problems, source)
    return reading.config


def load_lab_config(path: str | Path, *, named: Mapping[str, str | Path] | None = None,
                    alone: bool = False, check_files: bool = True) -> LabConfig:
    """Read and validate the lab configuration file at ``path`` (``extends`` followed; see ``read_lab``).

    Raises:
        ConfigError: the file is unreadable, not YAML, or invalid; every problem is listed.
    """
    return parse_lab_config(read_yaml(path), str(path), named=named, alone=alone, check_files=check_files)
