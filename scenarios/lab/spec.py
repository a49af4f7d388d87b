"""What a lab is made of, read from its lab file before anything starts.

One configuration model: a bad value is reported with its path, the value and the reason, before anything
starts.

``read_lab_spec`` reads the two sections ``sim.labfile`` only checks for shape (``read_lab_sections``
records their problems for ``scenarios.lab.check``, which reports them with every other problem of the
file)::

    cic:
      nodes: {primary: {...}, backup: {...}}   # sim.cic.settings.read_node_settings, one per node
      switchover: {...}                        # sim.cic.pair_settings.read_pair_settings (timers, ...)
    proxy: {...}                               # sim.proxy.config.read_proxy_settings

and the functions below derive what the lab wires together once the pieces listen:

* what the nodes' SMS listeners speak: the proxy's upstream scheme, HTTP when it offloads SSL and HTTPS
  when it re-encrypts, for a node whose ``sms_scheme`` is ``auto``; a node set to the
  other scheme is a problem, as is a re-encrypted node without ``tls_cert``. The scheme chosen is written
  into ``LabSpec.config.data`` too, so a node in its own process (``--processes``) reads the same;
* one proxy per distinct Incoming HTTP Port of the enabled brokers (``LabSpec.farms``, planned by
  ``sim.proxy.config.plan_farms``), its farm being both nodes' bound port for it, its health test URL the
  first broker's SMS path on that port with ``?healthcheckignore=1`` (SMS Technical Reference, "Health
  Test for Server Farm"), unless the ``proxy`` section names its own. A farm of HTTPS brokers listens over
  HTTPS, so the proxy then needs ``tls.cert`` (``sim.proxy.config.check_farm_tls``, the rule ``smslab serve
  proxy`` and ``smslab proxy haproxy-config`` apply too);
* the brokers' gateways: ``mt.gateway: fake:<name>`` is replaced by the URL the fake ``<name>`` listens on
  (``resolve_gateways``); any other gateway is kept as written;
* where each fake pushes MOs and DRs (``push_targets``): the proxy in front of the broker the fake is the
  gateway of (``fake:<name>``, else the broker of the same name), at the broker's incoming path and
  delivery receipt path. A fake whose settings give ``mo_url``/``dr_url`` keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from scenarios.lab.external_spec import ExternalMember, check_pair, read_external
from scenarios.paths import DEFAULT_LAB
from sim.cic.pair_settings import PairSettings, read_pair_settings
from sim.cic.settings import NodeSettings, SmsScheme, read_node_settings
from sim.core.config import BrokerConfig, CicConfig
from sim.core.errors import ConfigError
from sim.core.schema import Problems, Reader
from sim.labfile import LabConfig, in_file_order, parse_lab_config
from sim.proxy.config import (
    Engine,
    FarmPlan,
    ProxyConfig,
    check_farm_tls,
    check_proxy_config,
    plan_farms,
    read_proxy_settings,
)

__all__ = ["DEFAULT_LAB_SOURCE", "NODE_NAMES", "LabSpec", "PushTarget", "default_lab_config", "fake_broker",
           "lab_spec", "public_bases", "push_targets", "read_externals", "read_lab_sections", "read_lab_spec",
           "resolve_gateways"]

#: How the embedded default lab is named in messages (it is a package resource, not a file on disk).
DEFAULT_LAB_SOURCE = "smslab:labs/default.yaml"

#: The two nodes of the simulated pair, in the order the lab starts them.
NODE_NAMES = ("primary", "backup")


@dataclass(frozen=True)
class LabSpec:
    """A lab file read in full.

    Attributes:
        config: the validated lab configuration (gateways still as placeholders).
        nodes: the settings of ``primary`` and ``backup``.
        pair: the switchover pair's settings (timers, time scale, NetTest, recovery).
        proxy: the proxy section (health test, rewrite rules, timeout, TLS).
        farms: one plan per distinct Incoming HTTP Port: bind port, scheme, URL test, rewrite rules.
        external: the external members (``scenarios.lab.external_spec``) by name; empty for a simulated pair.
    """

    config: LabConfig
    nodes: Mapping[str, NodeSettings]
    pair: PairSettings
    proxy: ProxyConfig
    farms: tuple[FarmPlan, ...]
    external: Mapping[str, ExternalMember] = field(default_factory=dict)


@dataclass(frozen=True)
class PushTarget:
    """Where a fake pushes: the broker it serves and the URLs of its MOs and DRs ("" = leave as set)."""

    broker: str
    mo_url: str
    dr_url: str


def read_lab_spec(config: LabConfig) -> LabSpec:
    """Read the ``cic`` and ``proxy`` sections of ``config``.

    Raises:
        ConfigError: every problem in both sections, each with its path, value and reason.
    """
    problems = Problems()
    nodes, pair, proxy, external = read_lab_sections(config, problems)
    if problems:
        raise ConfigError(in_file_order(problems, config.data), config.source)
    return lab_spec(config, nodes, pair, proxy, external)


def read_lab_sections(config: LabConfig, problems: Problems, *, cross_checks: bool = True,
                      ) -> tuple[dict[str, NodeSettings], PairSettings, ProxyConfig,
                                 dict[str, ExternalMember]]:
    """The nodes' settings (their SMS scheme chosen), the pair's, the proxy's and the external members';
    problems on ``problems``.

    Args:
        config: the lab configuration.
        problems: where every problem of the two sections is recorded (the caller raises them).
        cross_checks: apply the rules that look across these sections and the CIC ones (the proxy's ports
            and rules against the brokers' incoming ports, a certificate for farms of HTTPS brokers);
            they need ``config.cic`` as the file gives it, so a caller whose CIC sections have problems
            skips them.
    """
    r = Reader(config.cic_section, "cic", problems)
    nodes_r = r.child("nodes", None)
    external = read_externals(config, problems)
    read = {name: read_node_settings(nodes_r, name) for name in NODE_NAMES if name not in external}
    for name in external:  # an external member has no simulated node's settings: the defaults stand in
        nodes_r.raw(name, None)
        read[name] = read_node_settings(Reader({}, nodes_r.path), name)
    nodes_r.done()
    switch_r = r.child("switchover", None)
    pair = read_pair_settings(switch_r, config.cic.server_parameters)
    switch_r.done()
    r.done()
    proxy_r = Reader(config.proxy_section, "proxy", problems)
    proxy = read_proxy_settings(proxy_r)
    nodes = {name: settings if name in external else _behind(settings, proxy, problems)
             for name, settings in read.items()}
    if external and not proxy.offload:
        proxy_r.problem("offload", False, "must be true with external members: the proxy reaches them over "
                                          "HTTP (their sms_url)")
    if cross_checks:
        for problem in (*check_proxy_config(proxy, config.cic), *check_farm_tls(plan_farms(config.cic, proxy),
                                                                                 proxy)):
            problems.add(problem.path, problem.value, problem.reason)
    if proxy.engine is not Engine.AIOHTTP:
        # HAProxy cannot report a port-0 bind, so the lab runs the simulated ARR.
        proxy_r.problem("engine", proxy.engine.value, "must be aiohttp in a lab (HAProxy runs on its own: "
                                                      "smslab proxy haproxy-config)")
    return nodes, pair, proxy, external


def read_externals(config: LabConfig, problems: Problems) -> dict[str, ExternalMember]:
    """The external members of ``cic.nodes`` (``scenarios.lab.external_spec``); problems on ``problems``."""
    nodes = config.cic_section.get("nodes") if isinstance(config.cic_section, Mapping) else None
    out: dict[str, ExternalMember] = {}
    for name in NODE_NAMES:
        section = nodes.get(name) if isinstance(nodes, Mapping) else None
        if not isinstance(section, Mapping) or "external" not in section:
            continue
        at = f"cic.nodes.{name}"
        for key in section:
            if key != "external":
                problems.add(f"{at}.{key}", section[key], "is a simulated node's setting; an external member "
                                                          "has only 'external'")
        out[name] = read_external(Reader(section["external"], f"{at}.external", problems), name,
                                  tuple(str(f) for f in config.fakes))
    check_pair(out, NODE_NAMES, problems)
    return out


def lab_spec(config: LabConfig, nodes: Mapping[str, NodeSettings], pair: PairSettings,
             proxy: ProxyConfig, external: Mapping[str, ExternalMember] | None = None) -> LabSpec:
    """The ``LabSpec`` of sections read without problems (``read_lab_sections``)."""
    external = dict(external or {})
    if not external:
        config = replace(config, data=_with_schemes(config.data, nodes))
    return LabSpec(config, nodes, pair, proxy, tuple(plan_farms(config.cic, proxy)), external)


def _behind(settings: NodeSettings, proxy: ProxyConfig, problems: Problems) -> NodeSettings:
    """The node's settings with its SMS listeners speaking what the proxy sends."""
    wanted = SmsScheme.HTTP if proxy.offload else SmsScheme.HTTPS
    at = f"cic.nodes.{settings.name}"
    if settings.sms_scheme not in (SmsScheme.AUTO, wanted):
        mode = "offloads SSL (HTTP to the nodes)" if proxy.offload else "re-encrypts (HTTPS to the nodes)"
        problems.add(f"{at}.sms_scheme", settings.sms_scheme.value,
                     f"must be {wanted.value} or auto: the proxy {mode}")
    if wanted is SmsScheme.HTTPS and not settings.tls_cert:
        problems.add(f"{at}.tls_cert", "", "is required: proxy.offload is false, so the proxy reaches the "
                                           "node over HTTPS and verifies its Server certificate (SMS "
                                           "Technical Reference, \"Reverse Proxy - CIC Server's "
                                           "certificate\")")
    return replace(settings, sms_scheme=wanted)


def _with_schemes(data: Mapping[str, Any], nodes: Mapping[str, NodeSettings]) -> dict[str, Any]:
    """``data`` with each node's ``sms_scheme`` as chosen (for the files of a ``--processes`` lab)."""
    cic = dict(data.get("cic") or {})
    given = cic.get("nodes") or {}
    cic["nodes"] = {**given, **{name: {**(given.get(name) or {}), "sms_scheme": settings.sms_scheme.value}
                                for name, settings in nodes.items()}}
    return {**data, "cic": cic}


def resolve_gateways(config: LabConfig, fake_urls: Mapping[str, str]) -> CicConfig:
    """The CIC config with each ``fake:<name>`` gateway replaced by that fake's URL.

    Raises:
        KeyError: a placeholder names a fake that is not running (``fake_urls`` lacks it).
    """
    brokers = []
    for broker in config.cic.brokers:
        fake = config.fake_gateways.get(broker.name)
        gateway = broker.mt.gateway if fake is None else fake_urls[fake]
        brokers.append(replace(broker, mt=replace(broker.mt, gateway=gateway)))
    return replace(config.cic, brokers=tuple(brokers))


def fake_broker(config: LabConfig, fake: str) -> BrokerConfig | None:
    """The broker whose gateway the fake is (``fake:<name>``), else the broker of the same name."""
    for broker_name, name in config.fake_gateways.items():
        if name == fake:
            return config.cic.broker(broker_name)
    return config.cic.broker(fake)


def _own(settings: Mapping[str, Any], key: str) -> bool:
    return bool(settings.get(key))


def push_targets(config: LabConfig, proxy_urls: Mapping[int, str]) -> dict[str, PushTarget]:
    """Per fake: where its MOs and DRs go (the proxy in front of its broker), keeping its own URLs.

    Args:
        config: the lab configuration.
        proxy_urls: configured Incoming HTTP Port -> the base URL of the proxy serving it.
    """
    out: dict[str, PushTarget] = {}
    for name, settings in config.fakes.items():
        broker = fake_broker(config, name)
        if broker is None or not broker.mo.enabled or broker.mo.incoming_port not in proxy_urls:
            continue
        base = proxy_urls[broker.mo.incoming_port]
        dr_path = broker.mo.delivery_receipt_url
        mo_url = "" if _own(settings, "mo_url") else base + broker.mo.incoming_path
        dr_url = "" if _own(settings, "dr_url") or not dr_path else base + dr_path
        out[name] = PushTarget(broker.name, mo_url, dr_url)
    return out


def public_bases(config: LabConfig, proxy_urls: Mapping[int, str]) -> dict[str, str]:
    """Per broker: the proxy base its nodes hand out in ``ExternalDeliveryStatusURI`` (its MO port's proxy).

    Args:
        config: the lab configuration.
        proxy_urls: configured Incoming HTTP Port -> the base URL of the proxy serving it.
    """
    return {b.name: proxy_urls[b.mo.incoming_port] for b in config.cic.brokers
            if b.mo.incoming_port in proxy_urls}


def default_lab_config() -> LabConfig:
    """The embedded default lab (``scenarios/labs/default.yaml``, beside this module).

    Raises:
        ConfigError: the shipped file has problems (a bug in smslab).
    """
    return parse_lab_config(yaml.safe_load(DEFAULT_LAB.read_text(encoding="utf-8")), DEFAULT_LAB_SOURCE)
