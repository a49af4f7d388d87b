"""The one check of a lab file: every problem of every section at once, before anything starts.

A lab file has several readers, each the owner of some sections: ``sim.labfile`` (the CIC sections, the
shape of the lab sections, ``fake:<name>`` gateways, the files the lab names), ``scenarios.lab.spec``
(``cic`` and ``proxy``) and each fake's factory (its own settings under ``fakes``). ``check_lab`` runs all
of them whatever the others found: when the CIC sections have problems, ``cic``, ``proxy`` and every
fake's fields are still read in full, and only the rules that look across them and the CIC sections (the
proxy's ports and rules against the brokers' incoming ports, a certificate for a farm of HTTPS brokers)
wait for a valid CIC configuration. Every problem is then reported together, in file order, none twice, so
a user fixes a file in one pass.

Every command that takes a lab file checks it here, so one file gets one verdict from all of them:
``smslab check-config``, ``up``, ``run``, ``failover``, the pytest plugin (``Lab`` itself checks with
``check_lab``), and ``smslab serve cic|proxy|<fake> --config`` (``serve_node``, ``serve_proxy``,
``serve_fake``: the lab's check, plus what serving one component alone needs). ``extends:`` may name the
embedded lab as ``default`` (``scenarios.paths.NAMED_LABS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes import registry
from fakes.common import FakeBroker
from scenarios.lab.spec import LabSpec, lab_spec, read_lab_sections
from scenarios.paths import NAMED_LABS
from sim.carrier.population import read_populations
from sim.carrier.settings import read_carriers
from sim.cic.settings import NodeSettings
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Problems
from sim.labfile import LabConfig, LabReading, in_file_order, merge_labs, read_lab, read_yaml
from sim.nexus.settings import placeholders, problems_of
from sim.proxy.config import ProxyConfig

__all__ = ["CheckedLab", "build_fakes", "check_lab", "check_lab_file", "load_lab", "nexus_problems_of",
           "read_lab_file", "serve_fake", "serve_nexus", "serve_node", "serve_proxy"]


@dataclass(frozen=True)
class CheckedLab:
    """A lab file checked in full: what ``Lab`` starts from.

    Attributes:
        spec: the file read in full (the nodes' SMS scheme chosen, the farms planned).
        fakes: every fake of the file, built (not started).
    """

    spec: LabSpec
    fakes: Mapping[str, FakeBroker]


def build_fakes(config: LabConfig) -> tuple[dict[str, FakeBroker], list[Problem]]:
    """Every fake of the lab file, built (so their settings are checked), and the problems of the others.

    The lab-level ``carriers`` and ``populations`` are read once here, with their own paths; what they
    would make each fake that shares them report again (under ``fakes.<name>.carriers``) is left out.
    """
    built: dict[str, FakeBroker] = {}
    problems = shared_problems(config.data)
    for name, settings in config.fakes.items():
        path = f"fakes.{name}"
        folded = tuple(f"{path}.{key}" for key in config.shared.get(name, ()))
        try:
            factory = registry.factory(str(settings.get("kind", "")), f"{path}.kind")
            built[name] = factory(name, settings, path)
        except ConfigError as exc:
            problems += [p for p in exc.problems if not (folded and p.path.startswith(folded))
                         or p.path in folded]
    return built, problems


def shared_problems(data: Mapping[str, Any]) -> list[Problem]:
    """The problems of a lab file's top-level ``carriers`` and ``populations``, with their own paths."""
    problems: list[Problem] = []
    for key, read in (("carriers", read_carriers), ("populations", read_populations)):
        try:
            read(data.get(key), key)
        except ConfigError as exc:
            problems += exc.problems
    return problems


def check_lab(lab: LabConfig | LabReading) -> CheckedLab:
    """Check a lab in full: what ``sim.labfile`` found, the ``cic`` and ``proxy`` sections, every fake.

    Args:
        lab: a lab file as ``sim.labfile.read_lab`` read it (its problems included), or a configuration
            that passed ``sim.labfile`` already.

    Raises:
        ConfigError: every problem of the file, in file order.
    """
    reading = lab if isinstance(lab, LabReading) else LabReading(lab)
    config = reading.config
    sections = Problems()
    nodes, pair, proxy, external = read_lab_sections(config, sections, cross_checks=reading.cic_valid)
    fakes, fake_problems = build_fakes(config)
    nexus_problems = nexus_problems_of(config.nexus_section, config.fakes)
    problems = in_file_order([*reading.problems, *sections, *fake_problems, *nexus_problems], config.data)
    if problems:
        raise ConfigError(problems, config.source)
    return CheckedLab(lab_spec(config, nodes, pair, proxy, external), fakes)


def read_lab_file(path: str | Path, *, alone: bool = False,
                  over: Mapping[str, Any] | None = None) -> LabReading:
    """Read the lab file at ``path`` as far as it goes (``sim.labfile.read_lab``, ``default`` known).

    Args:
        path: the lab file.
        alone: one component is served from it alone (``fake:<name>`` gateways are problems).
        over: sections merged over the file's own, as ``extends`` merges (a command line's overrides);
            file paths in them must be absolute.

    Raises:
        ConfigError: the file cannot be read, is not YAML or not a mapping, or ``extends`` is wrong.
    """
    data = read_yaml(path)
    if over and isinstance(data, Mapping):
        data = merge_labs(data, over)
    return read_lab(data, str(path), named=NAMED_LABS, alone=alone)


def check_lab_file(path: str | Path, *, alone: bool = False,
                   over: Mapping[str, Any] | None = None) -> CheckedLab:
    """Read and check the lab file at ``path`` in full (``read_lab_file``, then ``check_lab``).

    Raises:
        ConfigError: every problem of the file, in file order.
    """
    return check_lab(read_lab_file(path, alone=alone, over=over))


def load_lab(path: str | Path) -> LabConfig:
    """The configuration of the lab file at ``path``, checked in full (for ``Lab``, which checks it again).

    Raises:
        ConfigError: every problem of the file, in file order.
    """
    return check_lab_file(path).spec.config


def serve_node(path: Path, role: str) -> tuple[CicConfig, NodeSettings]:
    """What ``smslab serve cic --config`` serves: the lab's check, and real gateways (``fake:`` refused).

    The node's SMS listeners speak what they speak in the lab (HTTP behind a proxy that offloads SSL,
    HTTPS behind one that re-encrypts), so the node alone and the node in a lab are the same node.

    Raises:
        ConfigError: every problem of the file.
    """
    spec = check_lab_file(path, alone=True).spec
    if role in spec.external:  # its settings are the defaults standing in: serving them would mislead
        raise ConfigError([Problem(f"cic.nodes.{role}.external", "(a section)",
                                   "names an external member: smslab serve cic serves a simulated node, and "
                                   "this lab's members are servers of their own (smslab up starts them)")],
                          str(path))
    return spec.config.cic, spec.nodes[role]


def serve_proxy(path: Path, tls: tuple[str, str] | None = None) -> tuple[CicConfig, ProxyConfig]:
    """What ``smslab serve proxy --config`` serves: the lab's check, ``--cert``/``--key`` as ``proxy.tls``.

    Raises:
        ConfigError: every problem of the file.
    """
    over = {"proxy": {"tls": {"cert": str(Path(tls[0]).resolve()), "key": str(Path(tls[1]).resolve())}}} \
        if tls is not None else None
    spec = check_lab_file(path, over=over).spec
    return spec.config.cic, spec.proxy


def serve_fake(path: Path, name: str) -> Mapping[str, Any]:
    """What ``smslab serve <kind> NAME --config`` serves: the lab's check, then ``fakes.NAME`` ({} if absent).

    Raises:
        ConfigError: every problem of the file.
    """
    return check_lab_file(path).spec.config.fakes.get(name) or {}


def nexus_problems_of(section: Mapping[str, Any], fakes: Mapping[str, Any]) -> list[Problem]:
    """The ``nexus`` section's problems, and each ``fake:<name>`` service URL naming no fake of the lab."""
    problems = list(problems_of(section))
    services = section.get("services") if isinstance(section, Mapping) else None
    for name, body in (services.items() if isinstance(services, Mapping) else ()):
        named: list[str] = []
        placeholders(body, named)
        for fake in named:
            if fake not in fakes:
                known = ", ".join(sorted(map(str, fakes))) or "none"
                problems.append(Problem(f"nexus.services.{name}", f"fake:{fake}",
                                        f"names no fake of the lab (known: {known})"))
    return problems


def serve_nexus(path: Path) -> Mapping[str, Any]:
    """What ``smslab serve nexus --config`` serves: the lab's check, then the ``nexus`` section.

    Raises:
        ConfigError: every problem of the file.
    """
    return check_lab_file(path).spec.config.nexus_section
