"""``smslab proxy haproxy-config``: write the HAProxy equivalent of the lab's ARR farms.

With ``--config`` the farms, URL tests and rewrite rules come from the lab file (``proxy:`` and the
brokers), the members from ``cic.nodes.primary``/``backup`` (host, and the bound port for each incoming
port, or the incoming port itself when the node binds it to 0, as a real CIC server listens on the
configured port). ``--member HOST`` names a node by host (its port per farm as above); ``--member
HOST:PORT`` names a member outright (one farm only). Without a lab file: one farm, every path forwarded
as it is (a rule at ``/`` with action ``/{R:0}``), probed at ``/?healthcheckignore=1``. Each farm listens
on ``--bind`` or ``proxy.host`` and its bind port (the incoming port itself when that is 0).

No file that HAProxy would refuse, or that would loop, is written: a port 0 (the lab binds its nodes to
port 0, but HAProxy needs the real ports), two members at one address (the lab's two nodes on one host), a
member where a farm listens and two farms on one address are reported, one line per problem saying what
to pass instead, and the command exits 2; so is a ``proxy.tls.key`` of its own (HAProxy reads the key from
the certificate's file or from ``<cert>.key``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scenarios.paths import NAMED_LABS
from sim.cic.settings import read_node_settings
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader
from sim.labfile import load_lab_config
from sim.proxy.config import FarmPlan, ProxyConfig, check_farm_tls, plan_farms, read_proxy_settings
from sim.proxy.haproxy import AddressProblem, HaproxyFarm, address_problems, haproxy_config
from sim.proxy.rewrite import RewriteRule

__all__ = ["build_config", "main"]

NODES = ("primary", "backup")
_DEFAULT_PLAN = FarmPlan(0, 0, False, (), ProxyConfig().health.probing("/?healthcheckignore=1"),
                         (RewriteRule.build("/", ".*", "/{R:0}"),))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab proxy", description="The ARR proxy's HAProxy equivalent.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    h = sub.add_parser("haproxy-config", help="print (or write) the HAProxy configuration of the farms")
    h.add_argument("--config", type=Path, help="the lab YAML file (farms, URL test, rules, nodes)")
    h.add_argument("--member", action="append", default=[], metavar="HOST[:PORT]",
                   help="a farm member, primary first (repeat); default: the lab file's nodes")
    h.add_argument("--bind", metavar="HOST:PORT", help="where a single farm listens (default: from the file)")
    h.add_argument("--crt", help="PEM with certificate and key for HTTPS listeners (default: proxy.tls.cert)")
    h.add_argument("--stats-socket", default="", help="UNIX socket path for HAProxy's runtime API")
    h.add_argument("--output", type=Path, help="write here instead of printing")
    return p


def _lab(path: Path) -> tuple[list[FarmPlan], ProxyConfig, dict[str, tuple[str, dict[int, int]]]]:
    # The files the configuration names are the HAProxy host's, so they need not exist here.
    lab = load_lab_config(path, named=NAMED_LABS, check_files=False)
    r = Reader(lab.proxy_section, "proxy")
    proxy = read_proxy_settings(r)
    nodes_r = Reader(lab.cic_section, "cic", r.problems).child("nodes", None)
    nodes = {n: read_node_settings(nodes_r, n) for n in NODES}
    r.raise_if_problems(str(path))
    return plan_farms(lab.cic, proxy), proxy, {n: (s.host, dict(s.ports)) for n, s in nodes.items()}


def _members(plan: FarmPlan, given: Sequence[str], nodes: dict[str, tuple[str, dict[int, int]]],
             farms: int) -> list[str]:
    if not given:
        return [f"{host}:{ports.get(plan.incoming_port) or plan.incoming_port}"
                for host, ports in nodes.values()]
    out = []
    for member in given:
        host, _, port = member.rpartition(":")
        if port.isdigit() and host:
            if farms > 1:
                reason = f"names one port but the lab has {farms} farms; give the host only"
                raise ConfigError([Problem("--member", member, reason)])
            out.append(member)
        elif plan.incoming_port:
            out.append(f"{member}:{plan.incoming_port}")
        else:
            raise ConfigError([Problem("--member", member, "must be HOST:PORT without a lab file")])
    return out


def build_config(args: argparse.Namespace) -> str:
    """The HAProxy configuration for the parsed ``haproxy-config`` arguments.

    Raises:
        ConfigError: the lab file, a member or a listener is wrong.
        ValueError: an address HAProxy would refuse or that would loop (one line per problem).
    """
    if args.config is not None:
        plans, proxy, nodes = _lab(args.config)
    else:
        # Without a lab file, --crt alone makes the single listener HTTPS.
        plans, proxy, nodes = [replace(_DEFAULT_PLAN, https=bool(args.crt))], ProxyConfig(), {}
        if len(args.member) < 1:
            reason = "is required without --config (HOST:PORT, repeat)"
            raise ConfigError([Problem("--member", None, reason)])
    if args.bind and len(plans) > 1:
        reason = f"names one listener but the lab has {len(plans)} farms"
        raise ConfigError([Problem("--bind", args.bind, reason)])
    farms = []
    for plan in plans:
        bind = args.bind or f"{proxy.host}:{plan.bind_port or plan.incoming_port}"
        crt = args.crt or proxy.tls_cert
        problems = check_farm_tls([plan], replace(proxy, tls_cert=crt), "or give --crt")
        if problems:
            raise ConfigError(problems)
        if plan.https and not args.crt and proxy.tls_key not in (proxy.tls_cert, f"{proxy.tls_cert}.key"):
            # HAProxy's bind has no key setting: the key is in the crt file or in <crt>.key beside it.
            reason = (f"is its own file, but HAProxy reads the key from the certificate's file or from "
                      f"{proxy.tls_cert}.key; pass --crt with one PEM holding the chain and the key")
            raise ConfigError([Problem("proxy.tls.key", proxy.tls_key, reason)])
        name = str(plan.incoming_port or "farm")
        farms.append(HaproxyFarm(name, bind, _members(plan, args.member, nodes, len(plans)), plan.health,
                                 plan.rules, crt if plan.https else ""))
    # Every problem at once, one line each; the one farm without a lab file needs no name.
    ports = {farm.name: plan.incoming_port for farm, plan in zip(farms, plans, strict=True)}
    problems = [f"{p if args.config else p.text} ({_remedy(p, args, len(plans), nodes, ports[p.farm])})"
                for p in address_problems(farms)]
    if problems:
        raise ValueError("\n".join(problems))
    return haproxy_config(farms, offload=proxy.offload, upstream_ca=proxy.upstream_ca,
                          timeout=proxy.timeout, stats_socket=args.stats_socket)


def _remedy(problem: AddressProblem, args: argparse.Namespace, farms: int,
            nodes: dict[str, tuple[str, dict[int, int]]], port: int) -> str:
    """What to pass (or set in the lab file) instead, for one of ``address_problems``."""
    if problem.kind == "binds":
        return "give each farm its own bind port under proxy.ports"
    if problem.kind == "port" and problem.names == ("bind",):
        return "pass --bind HOST:PORT"
    if problem.kind == "port":
        return "pass --member HOST:PORT with the node's real port"
    if args.member and problem.kind == "members":
        return "pass a different --member for each"
    # A node that binds port 0 is given the incoming port itself (a real CIC listens there), so two nodes on
    # one host, or a node on the proxy's own host and port, collide.
    unbound = not args.member and any(not nodes[n][1].get(port) for n in problem.names if n in nodes)
    why = "the lab binds its nodes to port 0; " if unbound else ""
    member = "--member HOST:PORT for each" if farms == 1 else "--member HOST for each"
    if problem.kind == "members":
        return f"{why}pass {member}"
    bind = "--bind HOST:PORT" if farms == 1 else "change the bind port under proxy.ports"
    return f"{why}pass {member}, or {bind}"


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab proxy``; 0 on success, 2 for a bad configuration or arguments."""
    args = _parser().parse_args(argv)
    try:
        text = build_config(args)
        if args.output is not None:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"smslab proxy: {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
