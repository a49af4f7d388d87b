"""``smslab serve nexus``: run the Digital Channels server standalone until signalled.

Reads the ``nexus:`` section of ``--config`` (defaults without one: the guide's example ccid, no keys
but ``--admin-key`` if given, nothing provisioned), listens, prints one JSON line
``{"name": "nexus", "kind": "nexus", "url"}`` once ready (so a parent reads the real port), and serves
until SIGINT or SIGTERM; exit 0. A bad file prints every problem to stderr and exits 2. Served alone,
a service ``url`` of ``fake:<name>`` has no fake to name and is a problem: give the real URL.

``smslab serve nexus`` hands ``main`` the lab's own check as ``read`` (``scenarios.lab.check.serve_nexus``),
so the file gets the verdict ``smslab check-config`` gives it; ``python -m sim.nexus.serve`` reads the
``nexus:`` section alone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from sim.cliargs import port
from sim.core.errors import ConfigError, Problem
from sim.labfile import read_lab_data
from sim.nexus.keys import CLUSTER, ApiKey
from sim.nexus.server import NexusServer
from sim.nexus.settings import NexusSettings, parse_nexus
from sim.serving import serve_until_stopped

__all__ = ["Load", "build", "load", "main", "run"]

#: What reads the lab file for Nexus: the file -> the ``nexus`` mapping.
Load = Callable[[Path], Mapping[str, Any]]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab serve nexus",
                                description="Run the Digital Channels (Nexus) server standalone.")
    p.add_argument("--config", type=Path, help="the lab YAML file (its nexus: section)")
    p.add_argument("--admin-key", help="also provision this API key (tenant *, permission nexus:cluster:*)")
    p.add_argument("--seed", type=int, default=0, help="the seed of every id drawn (default 0)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=0, help="port to listen on (default 0: any free port)")
    return p


def load(config: Path) -> Mapping[str, Any]:
    """The ``nexus`` mapping of the lab file (``{}`` when absent).

    Raises:
        ConfigError: the file cannot be read, or ``nexus`` is not a mapping.
    """
    data = read_lab_data(config)
    section = data.get("nexus") or {}
    if not isinstance(section, Mapping):
        raise ConfigError([Problem("nexus", section, "must be a mapping")], str(config))
    return section


def build(config: Path | None = None, admin_key: str | None = None, *,
          read: Load | None = None) -> NexusSettings:
    """The settings to serve: the file's ``nexus`` section (``fake:`` URLs refused), plus ``admin_key``.

    Raises:
        ConfigError: every problem of the section.
    """
    data = (read or load)(config) if config is not None else {}
    source = str(config or "")
    settings = parse_nexus(data, "nexus", source)
    if settings.fake_urls:
        raise ConfigError([Problem(f"nexus.services.{name}.url", f"fake:{fake}",
                                   "names a fake of the lab: fake:<name> URLs resolve only inside smslab "
                                   "up/run; give the real URL to serve Nexus alone")
                           for name, fake in settings.fake_urls.items()], source)
    if admin_key:
        key = ApiKey("key-admin", admin_key, "*", "smslab serve --admin-key", (CLUSTER,))
        settings = replace(settings, api_keys=(*settings.api_keys, key))
    return settings


async def run(server: NexusServer, host: str = "127.0.0.1", port: int = 0, *,
              stop: asyncio.Event | None = None, out: TextIO | None = None) -> int:
    """Start ``server``, print its JSON line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    return await serve_until_stopped(lambda: server.start(host, port), server.stop,
                                     lambda url: {"name": "nexus", "kind": "nexus", "url": url},
                                     stop=stop, out=out)


def main(argv: list[str] | None = None, *, read: Load | None = None) -> int:
    """Run ``smslab serve nexus``; 0 after a signal, 2 for a bad configuration.

    Args:
        argv: the arguments after ``serve nexus``; ``sys.argv[1:]`` when ``None``.
        read: what reads ``--config`` (``load`` when ``None``; ``smslab`` gives the lab's check).
    """
    args = _parser().parse_args(argv)
    try:
        settings = build(args.config, args.admin_key, read=read)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(NexusServer(settings, args.seed), args.host, args.port))
    except OSError as exc:
        print(f"smslab serve nexus: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
