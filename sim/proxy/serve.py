"""``smslab serve proxy``: run the ARR proxy standalone, in front of two CIC nodes, until signalled.

``--member HOST:PORT`` twice (primary first) names the farm. With ``--config`` the URL test, rewrite
rules, offload/re-encrypt, time-out and TLS come from the lab file's ``proxy:`` section and the farm of
``--farm PORT`` (an incoming HTTP port of the brokers; the first one by default); without it, every path
is forwarded as it is and probed at ``--health-url``. Once it listens it prints one JSON line
``{"name": "proxy", "url": ...}`` (so a parent process reads the real port, as ``smslab serve`` does for
the fakes), serves until SIGINT or SIGTERM, and exits 0. A bad configuration exits 2.

The lab file is read with ``sim.labfile``, the one reader of lab files. ``smslab serve proxy`` hands
``main`` the lab's own check as ``read`` (``scenarios.lab.check.serve_proxy``), so the file gets the
verdict ``smslab check-config`` gives it, every problem at once (``--cert``/``--key`` count as the
section's ``tls``); ``python -m sim.proxy.serve`` (a ``--processes`` lab's child) reads the ``proxy:``
section alone.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from sim.cliargs import port
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.labfile import load_lab_config
from sim.proxy.config import (
    FarmPlan,
    ProxyConfig,
    check_farm_tls,
    plan_farms,
    proxy_settings,
    read_proxy_settings,
    server_ssl_context,
)
from sim.proxy.rewrite import RewriteRule
from sim.proxy.server import ProxyServer, ProxySettings
from sim.serving import serve_until_stopped

__all__ = ["Load", "build", "load", "main", "run"]

#: What reads the lab file for the proxy: (file, ``--cert``/``--key`` or None) -> the CIC configuration
#: (its brokers make the farms) and the ``proxy:`` section.
Load = Callable[[Path, tuple[str, str] | None], tuple[CicConfig, ProxyConfig]]


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


def load(config: Path, tls: tuple[str, str] | None = None) -> tuple[CicConfig, ProxyConfig]:
    """The CIC configuration and the ``proxy:`` section of the lab file (``tls`` is applied by the caller).

    Raises:
        ConfigError: the file cannot be read, or has problems (every one listed).
    """
    lab = load_lab_config(config)
    r = Reader(lab.proxy_section, "proxy")
    proxy = read_proxy_settings(r)
    r.raise_if_problems(str(config))
    return lab.cic, proxy


def _plan(config: Path | None, farm: int | None, health_url: str, read: Load | None = None,
          tls: tuple[str, str] | None = None) -> tuple[ProxyConfig, FarmPlan]:
    if config is None:
        proxy = ProxyConfig()
        return proxy, FarmPlan(0, 0, False, (), proxy.health.probing(health_url),
                               (RewriteRule.build("/", ".*", "/{R:0}"),))

    cic, proxy = (read or load)(config, tls)
    plans = plan_farms(cic, proxy)
    chosen = next((p for p in plans if farm is None or p.incoming_port == farm), None)
    if chosen is None:
        ports = ", ".join(str(p.incoming_port) for p in plans) or "none"
        raise ConfigError([Problem("--farm", farm, f"must be an incoming port of the brokers ({ports})")],
                          str(config))
    return proxy, chosen


def build(members: list[str], config: Path | None = None, farm: int | None = None,
          health_url: str = "/?healthcheckignore=1", *, read: Load | None = None,
          tls: tuple[str, str] | None = None) -> tuple[ProxySettings, ProxyConfig, FarmPlan]:
    """The proxy's settings for ``members`` from the lab file (or the defaults without one).

    Args:
        members: the farm's members, primary first.
        config: the lab file.
        farm: the incoming port whose farm to serve (the first when ``None``).
        health_url: the URL test without a lab file.
        read: what reads ``config`` (``load`` when ``None``).
        tls: ``--cert`` and ``--key``, handed to ``read`` (the caller applies them to the settings).

    Raises:
        ConfigError: the file, a member or the farm is wrong.
    """
    bad = [m for m in members if not (m.rpartition(":")[2].isdigit() and m.rpartition(":")[0])]
    if bad:
        raise ConfigError([Problem("--member", m, "must be HOST:PORT") for m in bad])
    proxy, plan = _plan(config, farm, health_url, read, tls)
    return proxy_settings(proxy, members, plan.rules, health_url=plan.health.url), proxy, plan


async def run(server: ProxyServer, host: str = "127.0.0.1", port: int = 0, *,
              tls: ssl.SSLContext | None = None, stop: asyncio.Event | None = None,
              out: TextIO | None = None) -> int:
    """Start ``server``, print its JSON line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    return await serve_until_stopped(lambda: server.start(host, port, tls), server.stop,
                                     lambda url: {"name": "proxy", "url": url}, stop=stop, out=out)


def main(argv: list[str] | None = None, *, read: Load | None = None) -> int:
    """Run ``smslab serve proxy``; 0 after a signal, 2 for a bad configuration or bad TLS files.

    Args:
        argv: the arguments after ``serve proxy``; ``sys.argv[1:]`` when ``None``.
        read: what reads ``--config`` (``load`` when ``None``; ``smslab`` gives the lab's check).
    """
    args = _parser().parse_args(argv)
    if (args.cert is None) != (args.key is None):
        print("smslab serve proxy: --cert and --key go together", file=sys.stderr)
        return 2
    given = (str(args.cert), str(args.key)) if args.cert is not None else None
    try:
        settings, proxy, plan = build(args.member, args.config, args.farm, args.health_url, read=read,
                                      tls=given)
        if given is not None:
            proxy = replace(proxy, tls_cert=given[0], tls_key=given[1])
        tls = server_ssl_context(proxy)
        problems = check_farm_tls([plan], proxy, "or give --cert and --key")
        if problems:
            raise ConfigError(problems, str(args.config or ""))
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
