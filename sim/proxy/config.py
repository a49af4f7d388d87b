"""The lab file's ``proxy:`` section: the ARR reverse proxy in front of the CIC pair.

Every key, with its default (the ARR default where TechNet's "Health Test Page" documents one, a GAP default
otherwise; the quoted section titles are those of the SMS Technical Reference)::

    proxy:
      engine: aiohttp            # aiohttp (the simulated ARR) | haproxy (the real load balancer)
      host: 127.0.0.1            # address the proxy listens on
      port: 0                    # bind port when the brokers use one incoming port (0 = any free port)
      ports: {}                  # incoming HTTP port -> proxy bind port, when the brokers use several
      offload: true              # SSL offloading: HTTP to the members; false = HTTPS, verified (re-encrypt)
      timeout: 30                # ARR proxy time-out for a forwarded request, seconds (ARR default 30)
      tls: {cert: "", key: ""}   # PEM files of the proxy's HTTPS listener ("SMS Reverse Proxy Setup")
      upstream_ca: ""            # PEM bundle the proxy trusts when re-encrypting ("" = system default)
      health:                    # the farm's URL test (ARR's Health Test)
        url: ""                  # path+query or absolute URL; "" = the farm's first broker incoming path
                                 #   with ?healthcheckignore=1 ("Health Test for Server Farm")
        interval: 30             # seconds between probes (ARR default 30)
        timeout: 30              # seconds before a probe without answer fails (ARR default 30)
        acceptable: "200-399"    # acceptable status codes (GAP in ARR's documentation)
        response_match: ""       # text the body must contain ("" = any body)
        min_servers: 0           # ARR's Minimum servers
        min_servers_mode: honor  # honor | disregard (which reading of Minimum servers; GAP)
        burst: 1                 # probes per interval (about 15 reproduces the reported bursts)
      rewrite:                   # URL rewrite rules, first match wins; [] = one rule per broker path
        - {base: /receivesms.php, pattern: ".*", action_path: "/receivesms.php{R:0}",
           append_query_string: true, port: 0}   # port: the incoming port it applies to (0 = every farm)

The proxy runs one farm per distinct incoming HTTP port of the brokers (brokers may share a port when their
paths differ; SMS Technical Reference, "Configure Broker Message Originated settings"). ``plan_farms``
derives each farm's bind port, scheme, health URL and rules; ``proxy_settings`` turns one plan into the
server's settings.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sim.core.config import CicConfig, Encryption
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.proxy.farm import HealthTest, MinServers, parse_status_ranges
from sim.proxy.rewrite import RewriteRule
from sim.proxy.server import ProxySettings

__all__ = ["Engine", "FarmPlan", "ProxyConfig", "RuleSetting", "check_farm_tls", "check_proxy_config",
           "default_rules", "health_url_for", "incoming_ports", "plan_farms", "proxy_settings",
           "read_proxy_settings", "server_ssl_context", "upstream_ssl_context"]

HEALTH_FLAG = "healthcheckignore=1"  # SMS Technical Reference, "Health Test for Server Farm"
_MODES = {"honor": MinServers.HONOR_HEALTH, "honor-health": MinServers.HONOR_HEALTH,
          "disregard": MinServers.DISREGARD_HEALTH, "disregard-health": MinServers.DISREGARD_HEALTH}


class Engine(Enum):
    """What serves the farm: smslab's simulated ARR, or HAProxy."""

    AIOHTTP = "aiohttp"
    HAPROXY = "haproxy"


@dataclass(frozen=True)
class RuleSetting:
    """A rewrite rule and the incoming port whose farm it belongs to (0: every farm)."""

    rule: RewriteRule
    port: int = 0


@dataclass(frozen=True)
class ProxyConfig:
    """The ``proxy:`` section, validated (see the module docstring for each key)."""

    engine: Engine = Engine.AIOHTTP
    host: str = "127.0.0.1"
    port: int = 0
    ports: Mapping[int, int] = field(default_factory=dict)
    offload: bool = True
    timeout: float = 30.0
    tls_cert: str = ""
    tls_key: str = ""
    upstream_ca: str = ""
    health: HealthTest = field(default_factory=HealthTest)  # url empty: a broker's SMS URL per farm
    rewrite: tuple[RuleSetting, ...] = ()

    def bind_port(self, incoming_port: int) -> int:
        """The port the proxy binds for the farm of ``incoming_port``."""
        return self.ports.get(incoming_port, self.port)


@dataclass(frozen=True)
class FarmPlan:
    """One farm the proxy serves: the brokers' incoming port, where it listens, how it probes and rewrites."""

    incoming_port: int
    bind_port: int
    https: bool
    brokers: tuple[str, ...]
    health: HealthTest
    rules: tuple[RewriteRule, ...]


# -- reading ------------------------------------------------------------------------------------------


def _health_url(value: Any) -> str:
    text = str(value)
    if text and not text.startswith(("/", "http://", "https://")):
        raise ValueError("must be a path such as /receivesms.php?healthcheckignore=1 or an absolute URL")
    return text


def _ranges(value: Any) -> tuple[tuple[int, int], ...]:
    text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return parse_status_ranges(text)


def _mode(value: Any) -> MinServers:
    mode = _MODES.get(str(value).lower())
    if mode is None:
        raise ValueError("must be honor or disregard")
    return mode


def _read_health(r: Reader) -> HealthTest:
    health = HealthTest(
        url=r.custom("url", _health_url, "") or "",
        # ARR's range is 0-86400 s; 0 would make the probe loop spin, so the lab asks for at least 10 ms.
        interval=r.number("interval", 30.0, minimum=0.01, maximum=86400),
        timeout=r.number("timeout", 30.0, minimum=0.01, maximum=86400),
        acceptable=r.custom("acceptable", _ranges, "200-399") or ((200, 399),),
        response_match=r.text("response_match", ""),
        min_servers=r.integer("min_servers", 0, minimum=0),
        min_servers_mode=r.custom("min_servers_mode", _mode, "honor") or MinServers.HONOR_HEALTH,
        burst=r.integer("burst", 1, minimum=1, maximum=100),
    )
    r.done()
    return health


def _read_rule(r: Reader) -> RuleSetting | None:
    base = r.text("base", "/", pattern=r"/\S*")
    pattern = r.text("pattern", ".*")
    action = r.text("action_path", allow_empty=False, pattern=r"/\S*")
    append = r.boolean("append_query_string", True)
    port = r.integer("port", 0, minimum=0, maximum=65535)
    r.done()
    try:
        return RuleSetting(RewriteRule.build(base, pattern, action, append, r.path), port)
    except ConfigError as exc:
        for p in exc.problems:
            r.problems.add(p.path, p.value, p.reason)
        return None


def _read_ports(r: Reader) -> dict[int, int]:
    ports: dict[int, int] = {}
    for key, value in r.mapping("ports", {}).items():
        path = r.at(f"ports.{key}")
        if not (key.isdigit() and 1 <= int(key) <= 65535):
            r.problems.add(path, key, "must be keyed by an incoming HTTP port (1-65535)")
        elif not (value.isdigit() and 0 <= int(value) <= 65535):
            r.problems.add(path, value, "must be a port number (0-65535; 0 = any free port)")
        else:
            ports[int(key)] = int(value)
    return ports


def read_proxy_settings(r: Reader) -> ProxyConfig:
    """Read the ``proxy:`` section with ``r`` (its problems land in ``r.problems``; the caller raises).

    Args:
        r: a reader over the section, e.g. ``Reader(data.get("proxy"), "proxy", problems)``.
    """
    tls = r.child("tls", {})
    cert, key = tls.text("cert", ""), tls.text("key", "")
    tls.done()
    if bool(cert) != bool(key):
        missing, given = ("key", "cert") if cert else ("cert", "key")
        tls.problem(missing, "", f"is required with tls.{given} (the HTTPS listener needs both)")
    config = ProxyConfig(
        engine=r.choice("engine", Engine, Engine.AIOHTTP),
        host=r.text("host", "127.0.0.1", allow_empty=False),
        port=r.integer("port", 0, minimum=0, maximum=65535),
        ports=_read_ports(r),
        offload=r.boolean("offload", True),
        timeout=r.number("timeout", 30.0, minimum=0.01, maximum=86400),
        tls_cert=cert, tls_key=key,
        upstream_ca=r.text("upstream_ca", ""),
        health=_read_health(r.child("health", {})),
        rewrite=tuple(rule for c in r.children("rewrite") if (rule := _read_rule(c)) is not None),
    )
    r.done()
    return config


# -- planning the farms -------------------------------------------------------------------------------


def _paths(cic: CicConfig, incoming_port: int) -> list[tuple[str, str]]:
    """(broker, path) for each incoming path and delivery-receipt path served on ``incoming_port``."""
    out = []
    for b in cic.brokers:
        if b.enabled and b.mo.enabled and b.mo.incoming_port == incoming_port:
            out += [(b.name, p) for p in (b.mo.incoming_path, b.mo.delivery_receipt_url) if p]
    return out


def default_rules(cic: CicConfig, incoming_port: int) -> tuple[RewriteRule, ...]:
    """One rule per broker path on the port: defined at that path, pattern ``.*``, action ``<path>{R:0}``.

    SMS Technical Reference, "Reverse Proxy - URL Rewrite": the action is ``/receivesms.php{R:0}``; IIS
    matches a rule's pattern below where the rule is defined, so a rule defined at the path itself leaves
    ``{R:0}`` as what follows the path, and nothing is doubled.
    """
    seen: dict[str, RewriteRule] = {}
    for _, path in _paths(cic, incoming_port):
        seen.setdefault(path, RewriteRule.build(path, ".*", path + "{R:0}"))
    # Longest base first, so /sms/dr is not taken by a rule defined at /sms.
    return tuple(sorted(seen.values(), key=lambda rule: -len(rule.base)))


def health_url_for(cic: CicConfig, incoming_port: int) -> str:
    """The derived URL test: the port's first broker incoming path with ``?healthcheckignore=1``."""
    for b in cic.brokers:
        if b.enabled and b.mo.enabled and b.mo.incoming_port == incoming_port:
            return f"{b.mo.incoming_path}?{HEALTH_FLAG}"
    return f"/?{HEALTH_FLAG}"


def incoming_ports(cic: CicConfig) -> list[int]:
    """The distinct incoming HTTP ports of the enabled brokers, in configuration order."""
    return list(dict.fromkeys(b.mo.incoming_port for b in cic.brokers
                              if b.enabled and b.mo.enabled and b.mo.incoming_port))


def plan_farms(cic: CicConfig, proxy: ProxyConfig) -> list[FarmPlan]:
    """One farm per distinct incoming port: bind port, scheme, URL test and rewrite rules.

    A farm listens over HTTPS when its brokers use HTTPS (SMS Technical Reference, "Using SSL": the
    broker's Encryption applies to the path it pushes on, which is the proxy's listener).
    """
    plans = []
    for port in incoming_ports(cic):
        brokers = tuple(dict.fromkeys(name for name, _ in _paths(cic, port)))
        https = any(b.encryption is Encryption.HTTPS for b in cic.brokers if b.name in brokers)
        configured = tuple(s.rule for s in proxy.rewrite if s.port in (0, port))
        plans.append(FarmPlan(port, proxy.bind_port(port), https, brokers,
                              proxy.health.probing(health_url_for(cic, port)),
                              configured if proxy.rewrite else default_rules(cic, port)))
    return plans


def check_proxy_config(proxy: ProxyConfig, cic: CicConfig, path: str = "proxy") -> list[Problem]:
    """Rules across the ``proxy:`` section and the brokers; returns the problems found."""
    ports = incoming_ports(cic)
    problems = [Problem(f"{path}.ports.{p}", bound, "must be keyed by an incoming port of an enabled broker "
                                                    f"(they use {', '.join(map(str, ports)) or 'none'})")
                for p, bound in proxy.ports.items() if p not in ports]
    shared = [p for p in ports if p not in proxy.ports]
    if proxy.port and len(shared) > 1:
        listed = ", ".join(map(str, shared))
        problems.append(Problem(f"{path}.port", proxy.port, f"cannot serve {len(shared)} farms (incoming "
                                f"ports {listed}); give each one its bind port under {path}.ports"))
    binds = [b for b in (proxy.bind_port(p) for p in ports) if b]
    for bound in sorted({b for b in binds if binds.count(b) > 1}):
        problems.append(Problem(f"{path}.ports", bound, "is the bind port of more than one farm"))
    for i, setting in enumerate(proxy.rewrite):
        if setting.port and setting.port not in ports:
            problems.append(Problem(f"{path}.rewrite[{i}].port", setting.port,
                                    "must be an incoming port of an enabled broker, or 0 for every farm"))
    return problems


def check_farm_tls(plans: Sequence[FarmPlan], proxy: ProxyConfig, alternative: str = "",
                   path: str = "proxy") -> list[Problem]:
    """A problem when farms of HTTPS brokers have no certificate for the proxy to serve them with.

    Such a farm's listener is HTTPS (``plan_farms``: the broker's Encryption applies to the path it pushes
    on, SMS Technical Reference, "Using SSL"), and the same document puts the certificate on the reverse
    proxy ("SSL Certificate": "apply the certificate there"); without ``tls.cert`` the proxy could only
    listen over plain HTTP.

    Args:
        plans: the farms (``plan_farms``).
        proxy: the ``proxy:`` section.
        alternative: another way to give the certificate, added to the reason (e.g. "or give --crt").
        path: where the ``proxy:`` section is.
    """
    https = [plan for plan in plans if plan.https]
    if proxy.tls_cert or not https:
        return []
    farms = [f"{plan.incoming_port} serves HTTPS brokers ({', '.join(plan.brokers)})" for plan in https]
    reason = (f"is required: the farm of port {' and the farm of port '.join(farms)}, so the proxy listens "
              "there over HTTPS, presenting the certificate the brokers verify")
    return [Problem(f"{path}.tls.cert", "", reason + (f"; {alternative}" if alternative else ""))]


# -- building the server's settings -------------------------------------------------------------------


def server_ssl_context(proxy: ProxyConfig) -> ssl.SSLContext | None:
    """The HTTPS listener's context from ``tls.cert``/``tls.key`` (``None`` when not configured).

    Raises:
        ConfigError: the files cannot be loaded.
    """
    if not proxy.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(proxy.tls_cert, proxy.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([Problem("proxy.tls", proxy.tls_cert, f"cannot be loaded: {exc}")]) from exc
    return context


def upstream_ssl_context(proxy: ProxyConfig) -> ssl.SSLContext | None:
    """What the proxy trusts when re-encrypting (``None``: offloading, or the system default).

    Raises:
        ConfigError: ``upstream_ca`` cannot be loaded.
    """
    if proxy.offload or not proxy.upstream_ca:
        return None
    try:
        return ssl.create_default_context(cafile=proxy.upstream_ca)
    except (OSError, ssl.SSLError) as exc:
        problem = Problem("proxy.upstream_ca", proxy.upstream_ca, f"cannot be loaded: {exc}")
        raise ConfigError([problem]) from exc


def proxy_settings(proxy: ProxyConfig, members: Sequence[str], rules: Sequence[RewriteRule], *,
                   health_url: str = "", upstream_ssl: ssl.SSLContext | None = None) -> ProxySettings:
    """The ``ProxySettings`` of one farm.

    Args:
        proxy: the ``proxy:`` section.
        members: the farm's members as ``host:port`` (primary first).
        rules: the farm's rewrite rules (``FarmPlan.rules``).
        health_url: the URL test when ``proxy.health.url`` is empty (``FarmPlan.health.url``).
        upstream_ssl: the re-encrypt trust; read from ``upstream_ca`` when omitted.

    Raises:
        ConfigError: ``upstream_ca`` cannot be loaded.
    """
    trust = upstream_ssl if upstream_ssl is not None else upstream_ssl_context(proxy)
    return ProxySettings(list(members), tuple(rules), proxy.health.probing(health_url), proxy.offload, trust,
                         proxy.timeout)
