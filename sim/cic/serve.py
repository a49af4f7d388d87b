"""``smslab serve cic --role primary|backup``: run one CIC node standalone until signalled.

Reads the lab file (``--config``) with ``sim.labfile``, the one reader of lab files: the CIC sections
(``sms``, ``brokers``, ``server_parameters``, ``web_services``, ``core``) and the node's own settings at
``cic.nodes.<role>``; certificate paths are read against the lab file's folder, as in a lab
(``sim.labfile.FILE_KEYS``), and must exist. A broker's ``mt.gateway: fake:<name>`` is refused: only a
whole lab has the fake to resolve it. ``smslab serve cic`` hands ``main`` the lab's own check as ``read``
(``scenarios.lab.check.serve_node``), so the file gets the verdict ``smslab check-config`` gives it, every
problem at once, and the node's SMS listeners speak what they speak in that lab (the proxy's offload);
``python -m sim.cic.serve`` (a ``--processes`` lab's child, whose file the lab wrote) reads the node's
settings as they are. ``--port-map 8080=0`` (repeatable) and ``--control-port`` override the
file's ports, so that a restarted node can take the ports of the process it replaces. The node starts
ACTIVE when it is the primary and BACKUP when it is the backup, unless ``--start-as`` says otherwise;
``--peer`` makes it mirror to another node's control API from the start; ``--public-base BROKER=URL`` sets
the base of the ``ExternalDeliveryStatusURI`` the node hands that broker (the proxy in front of the pair, so
that a DR reaches whichever node is active; the node's own listener without it).

Once every socket listens it prints one JSON line, ``{"name", "role", "control_url", "sms_urls", "dr_urls",
"bound_ports", "pid"}``, and serves until SIGINT or SIGTERM (exit 0). A bad configuration prints every
problem to stderr and exits 2; so does a port that cannot be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from sim.cic.node import CicNode
from sim.cic.roles import Role
from sim.cic.settings import NodeSettings, read_node_settings
from sim.cliargs import http_url, port
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.labfile import in_file_order, read_lab, read_yaml
from sim.serving import announce, stop_event

__all__ = ["CIC_SECTIONS", "Load", "build", "load", "main", "ready_line", "run"]

CIC_SECTIONS = ("sms", "brokers", "server_parameters", "web_services", "core")
"""The top-level sections of the lab file that make the CIC configuration."""

#: What reads the lab file for a node: (file, role) -> the CIC configuration and the node's settings.
Load = Callable[[Path, str], tuple[CicConfig, NodeSettings]]


def _port_pair(text: str) -> tuple[int, int]:
    configured, sep, bound = text.partition("=")
    try:
        pair = int(configured), int(bound)
    except ValueError:
        pair = (-1, -1)
    if not sep or not 0 < pair[0] <= 65535 or not 0 <= pair[1] <= 65535:
        raise argparse.ArgumentTypeError(f"must be CONFIGURED=BOUND, e.g. 8080=0 (got {text!r})")
    return pair


def _public_base(text: str) -> tuple[str, str]:
    broker, sep, url = text.partition("=")
    if not sep or not broker or not url.startswith(("http://", "https://")):
        example = "kaleyra=http://127.0.0.1:8080"
        raise argparse.ArgumentTypeError(f"must be BROKER=URL, e.g. {example} (got {text!r})")
    return broker, url


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab serve cic", description="Run one simulated CIC node standalone.")
    p.add_argument("--role", required=True, choices=["primary", "backup"],
                   help="which node of the pair: its settings are cic.nodes.ROLE in the config file")
    p.add_argument("--config", type=Path, help="the lab YAML file (an empty CIC configuration without one)")
    p.add_argument("--start-as", choices=[r.value for r in Role],
                   help="the role it starts in (default: active for the primary, backup for the backup)")
    p.add_argument("--port-map", type=_port_pair, action="append", default=[], metavar="CONFIGURED=BOUND",
                   help="bind this port for a configured Incoming HTTP Port (0 = any free port); repeatable")
    p.add_argument("--control-port", type=port, help="the control API's port (default: the file's, else any)")
    p.add_argument("--host", help="the address every socket binds (default: the file's, else 127.0.0.1)")
    p.add_argument("--peer", type=http_url, default=None,
                   help="a peer node's control URL to mirror interactions to")
    p.add_argument("--public-base", type=_public_base, action="append", default=[], metavar="BROKER=URL",
                   help="the base URL (the proxy in front of the pair) of the ExternalDeliveryStatusURI this "
                        "node hands BROKER; repeatable; default: the node's own listener")
    return p


def load(config: Path | None, name: str) -> tuple[CicConfig, NodeSettings]:
    """The CIC configuration and the node's settings from the lab file (defaults without one).

    Raises:
        ConfigError: the file cannot be read, or has problems (every one listed).
    """
    source = str(config) if config is not None else ""
    reading = read_lab(read_yaml(config) if config is not None else {}, source, alone=True)
    nodes = Reader(reading.config.cic_section, "cic").child("nodes", None)
    settings = read_node_settings(nodes, name)
    problems = in_file_order([*reading.problems, *nodes.problems], reading.config.data)
    if problems:
        raise ConfigError(problems, source)
    return reading.config.cic, settings


def build(args: argparse.Namespace, read: Load | None = None) -> CicNode:
    """The node the arguments describe (not started).

    Args:
        args: the parsed arguments.
        read: what reads ``--config`` (``load`` when ``None``, or without ``--config``).

    Raises:
        ConfigError: the configuration has problems.
    """
    config, settings = (read or load)(args.config, args.role) if args.config is not None \
        else load(None, args.role)
    changes: dict[str, Any] = {"ports": {**settings.ports, **dict(args.port_map)}}
    if args.control_port is not None:
        changes["control_port"] = args.control_port
    if args.host:
        changes["host"] = args.host
    settings = replace(settings, **changes)
    default = Role.ACTIVE if args.role == "primary" else Role.BACKUP
    start_as = Role(args.start_as) if args.start_as else default
    unknown = sorted({name for name, _ in args.public_base} - {b.name for b in config.brokers})
    if unknown:
        raise ConfigError([Problem("--public-base", name, "names no broker of the configuration")
                           for name in unknown], str(args.config or ""))
    node = CicNode(config, settings, role=start_as)
    node.public_bases = dict(args.public_base)
    return node


def ready_line(node: CicNode) -> dict[str, Any]:
    """What the node prints once it listens."""
    return {"name": node.settings.name, "role": node.role.value, "control_url": node.control_url,
            "sms_urls": node.sms_urls, "dr_urls": node.dr_urls,
            "bound_ports": {str(k): v for k, v in node.bound_ports.items()}, "pid": os.getpid()}


async def run(node: CicNode, *, peer: str = "", stop: asyncio.Event | None = None,
              out: TextIO | None = None) -> int:
    """Start ``node``, print its ready line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    stop = stop_event(stop)
    try:
        await node.start()
    except BaseException:
        await node.stop()  # a port that is taken leaves the half-started node's session and store open
        raise
    try:
        if peer:
            await node.set_peer_url(peer)
        announce(ready_line(node), out)
        await stop.wait()
    finally:
        await node.stop()
    return 0


def main(argv: list[str] | None = None, *, read: Load | None = None) -> int:
    """Run ``smslab serve cic``; 0 after a signal, 2 for a bad configuration or a port that is taken.

    Args:
        argv: the arguments after ``serve cic``; ``sys.argv[1:]`` when ``None``.
        read: what reads ``--config`` (``load`` when ``None``; ``smslab`` gives the lab's check).
    """
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_main(args, read))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"smslab serve cic: cannot listen: {exc}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace, read: Load | None) -> int:
    # CicNode needs a running loop (its sockets and timer task), so it is built inside asyncio.run.
    return await run(build(args, read), peer=args.peer or "")


if __name__ == "__main__":
    sys.exit(main())
