"""``smslab serve proxy``: run the ARR proxy standalone, in front of two CIC nodes, until signalled.

``--member HOST:PORT`` twice (primary first) names the farm. With ``--config`` the URL test, rewrite
rules, offload/re-encrypt, time-out and TLS come from the lab file's ``proxy:`` section and the farm of
``--farm PORT`` (an incoming HTTP port of the brokers; the first one by default); without it, every path
is forwarded as it is and probed at ``--health-url``. Once it listens it prints one JSON line
``{"name": "proxy", "url": ...}`` (so a parent process reads the real port, as ``smslab serve`` does for
the fakes), serves until SIGINT or SIGTERM, and exits 0. A bad configuration exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from sim.cliargs import port
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.labfile import load_lab_config
from sim.proxy.config import (
    FarmPlan,
    ProxyConfig,
    plan_farms,
    proxy_settings,
    read_proxy_settings,
    server_ssl_context,
)
from sim.proxy.rewrite import RewriteRule
from sim.proxy.server import ProxyServer, ProxySettings
from sim.serving import announce, stop_event

__all__ = ["build", "main", "run"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab serve proxy", description="Run the ARR proxy standalone.")
    p.add_argument("--member", action="append", required=True, metavar="HOST:PORT",
                   help="a farm member, primary first (repeat)")
    p.add_argument("--config", type=Path, help="the lab YAML file (its proxy: section and brokers)")
    p.add_argument("--farm", type=port,
                   help="the incoming HTTP port whose farm to serve (default: the first)")
    p.add_argument("--health-url", default="/?healthcheckignore=1",
                   help="the URL test without a lab file (default /?healthcheckignore=1)")
    p.add_argument("--host", help="address to listen on (default: proxy.host, else 127.0.0.1)")
    p.add_argument("--port", type=port, help="port to listen on (default: the farm's bind port, else 0)")
    p.add_argument("--cert", type=Path, help="PEM certificate chain: serve HTTPS (needs --key)")
    p.add_argument("--key", type=Path, help="PEM private key for --cert")
    return p


def _plan(config: Path | None, farm: int | None, health_url: str) -> tuple[ProxyConfig, FarmPlan]:
    if config is None:
        proxy = ProxyConfig()
        return proxy, FarmPlan(0, 0, False, (), proxy.health.probing(health_url),
                               (RewriteRule.build("/", ".*", "/{R:0}"),))

    lab = load_lab_config(config)
    r = Reader(lab.proxy_section, "proxy")
    proxy = read_proxy_settings(r)
    r.raise_if_problems(str(config))
    plans = plan_farms(lab.cic, proxy)
    chosen = next((p for p in plans if farm is None or p.incoming_port == farm), None)
    if chosen is None:
        ports = ", ".join(str(p.incoming_port) for p in plans) or "none"
        raise ConfigError([Problem("--farm", farm, f"must be an incoming port of the brokers ({ports})")],
                          str(config))
    return proxy, chosen


def build(members: list[str], config: Path | None = None, farm: int | None = None,
          health_url: str = "/?healthcheckignore=1") -> tuple[ProxySettings, ProxyConfig, FarmPlan]:
    """The proxy's settings for ``members`` from the lab file (or the defaults without one).

    Raises:
        ConfigError: the file, a member or the farm is wrong.
    """
    bad = [m for m in members if not (m.rpartition(":")[2].isdigit() and m.rpartition(":")[0])]
    if bad:
        raise ConfigError([Problem("--member", m, "must be HOST:PORT") for m in bad])
    proxy, plan = _plan(config, farm, health_url)
    return proxy_settings(proxy, members, plan.rules, health_url=plan.health.url), proxy, plan


async def run(server: ProxyServer, host: str = "127.0.0.1", port: int = 0, *,
              tls: ssl.SSLContext | None = None, stop: asyncio.Event | None = None,
              out: TextIO | None = None) -> int:
    """Start ``server``, print its JSON line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    stop = stop_event(stop)
    url = await server.start(host, port, tls)
    try:
        announce({"name": "proxy", "url": url}, out)
        await stop.wait()
    finally:
        await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab serve proxy``; 0 after a signal, 2 for a bad configuration or bad TLS files."""
    args = _parser().parse_args(argv)
    if (args.cert is None) != (args.key is None):
        print("smslab serve proxy: --cert and --key go together", file=sys.stderr)
        return 2
    try:
        settings, proxy, plan = build(args.member, args.config, args.farm, args.health_url)
        if args.cert is not None:
            proxy = replace(proxy, tls_cert=str(args.cert), tls_key=str(args.key))
        tls = server_ssl_context(proxy)
        if plan.https and tls is None:
            reason = (f"is required: the farm of port {plan.incoming_port} serves HTTPS brokers "
                      f"({', '.join(plan.brokers)}); or give --cert and --key")
            raise ConfigError([Problem("proxy.tls.cert", "", reason)])
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host = args.host or proxy.host
    port = args.port if args.port is not None else plan.bind_port
    try:
        return asyncio.run(run(ProxyServer(settings), host, port, tls=tls))
    except OSError as exc:
        print(f"smslab serve proxy: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
