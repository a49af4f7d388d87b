"""The ``smslab`` command.

Subcommands over the core (``segment``, ``route``, ``check-config``, ``conformance``, ``bench core``) live in
``scenarios.cli.core``; the others are handed whole to the ``main(argv)`` of the part that owns them,
so each part's CLI is tested on its own and ``smslab`` only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from scenarios.cli import core as core_commands

__all__ = ["main"]

# subcommand -> (module with main(argv), one-line help). Imported only when used, so that `smslab segment`
# does not pay for aiohttp, mitmproxy or cryptography.
DELEGATED: dict[str, tuple[str, str]] = {
    "up": ("scenarios.cli.up", "start the lab (fakes, proxy, CIC pair, control API); serve until Ctrl-C"),
    "run": ("scenarios.cli.run", "run scenarios (every built-in one by default) against a lab"),
    "failover": ("scenarios.cli.failover", "MOs across a kill of the active node: loss, doubles, gap"),
    "serve": ("scenarios.cli.serve", "run one component alone (kaleyra, portico, http-broker, cic, proxy)"),
    "proxy": ("scenarios.cli.proxy", "proxy tools: haproxy-config writes the HAProxy equivalent of the farm"),
    "certs": ("certs.cli", "generate the lab's PKI (CIC chain, proxy, brokers, experiment variants)"),
    "ssl-matrix": ("scenarios.cli.ssl_matrix", "run the SSL negotiation experiments between the parties"),
}
BENCHES: dict[str, tuple[str, str]] = {
    "core": ("loadtests.bench_core", "segmentation and routing throughput beside baselines"),
    "fakes": ("loadtests.bench_fakes", "MT ingest of the fake Kaleyra beside a bare aiohttp handler"),
    "proxy": ("loadtests.bench_proxy", "MOs through the proxy to the active node, beside straight to it"),
    "soak": ("loadtests.soak", "the default lab at half its capacity for 30 minutes: flat RSS and latency"),
    "scale": ("loadtests.bench_scale", "each operation's cost at 10,000 and 50,000 conversations beside 100"),
}


def _delegate(module: str, argv: list[str]) -> int:
    entry: Callable[[list[str]], int] = importlib.import_module(module).main
    return int(entry(argv) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``smslab`` (delegated subcommands parse their own arguments)."""
    parser = argparse.ArgumentParser(
        prog="smslab",
        description="A lab for the SMS path of Genesys contact centres.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    core_commands.add_commands(sub)
    bench = sub.add_parser("bench", help="side-by-side benchmarks (core, fakes, proxy)")
    bench.add_argument("target", choices=list(BENCHES), help="what to measure")
    bench.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    for name, (_, text) in DELEGATED.items():
        p = sub.add_parser(name, help=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab``; returns the exit status.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when ``None``.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in DELEGATED:
        return _delegate(DELEGATED[args_list[0]][0], args_list[1:])
    if len(args_list) > 1 and args_list[0] == "bench" and args_list[1] in BENCHES:
        return _delegate(BENCHES[args_list[1]][0], args_list[2:])
    args = build_parser().parse_args(args_list)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
