"""The ``smslab`` command.

Subcommands over the core (``segment``, ``route``, ``check-config``, ``conformance``, ``bench core``) live in
``scenarios.cli.core``; the others are handed whole to the ``main(argv)`` of the part that owns them,
so each part's CLI is tested on its own and ``smslab`` only dispatches.

Every subcommand runs inside ``guarded``, the one place that turns an expected error into a message and
exit status 2: a configuration or input error (``InputError``, ``ConfigError``), or an operating-system
error (a file that is not there, a port already taken). Bad argument values are refused before that, by
the parsers' types (``sim.cliargs``). What is left to raise is a bug, and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from importlib import metadata

from scenarios.cli import core as core_commands
from sim.core.errors import InputError

__all__ = ["guarded", "main", "version"]

# subcommand -> (module with main(argv), one-line help). Imported only when used, so that `smslab segment`
# does not pay for aiohttp, mitmproxy or cryptography.
DELEGATED: dict[str, tuple[str, str]] = {
    "up": ("scenarios.cli.up", "start the lab (fakes, proxy, CIC pair, control API); serve until Ctrl-C"),
    "run": ("scenarios.cli.run", "run scenarios (every built-in one by default) against a lab"),
    "failover": ("scenarios.cli.failover", "MOs across a kill of the active node: loss, doubles, gap"),
    "load": ("loadtests.load", "a Locust load test against the lab, judged by the lab's own counts"),
    "serve": ("scenarios.cli.serve", "run one component alone (a fake broker, cic, proxy, nexus)"),
    "proxy": ("scenarios.cli.proxy", "proxy tools: haproxy-config writes the HAProxy equivalent of the farm"),
    "certs": ("certs.cli", "generate the lab's PKI (CIC chain, proxy, brokers, experiment variants)"),
    "ssl-matrix": ("scenarios.cli.ssl_matrix", "run the SSL negotiation experiments between the parties"),
    "simulate": ("scenarios.cli.simulate", "run a what-if file with the whole lab in virtual time"),
}
BENCHES: dict[str, tuple[str, str]] = {
    "core": ("loadtests.bench_core",
             "segmentation and routing throughput beside baselines (--http: the served core's HTTP hop)"),
    "fakes": ("loadtests.bench_fakes", "MT ingest of the fake Kaleyra beside a bare aiohttp handler"),
    "proxy": ("loadtests.bench_proxy", "MOs through the proxy to the active node, beside straight to it"),
    "soak": ("loadtests.soak", "the default lab at half its capacity for 30 minutes: flat RSS and latency"),
    "carrier": ("loadtests.bench_carrier", "the carrier model offline beside a bare SimPy model of it"),
    "nexus": ("loadtests.bench_nexus", "Nexus MO ingest and Async webhook delivery beside bare baselines"),
    "scale": ("loadtests.bench_scale", "each operation's cost at 10,000 and 50,000 conversations beside 100"),
    "load": ("loadtests.bench_load", "Locust (2 workers) beside the lean client on the fake; end to end"),
}


def version() -> str:
    """The installed smslab's version (``smslab --version``)."""
    try:
        return metadata.version("smslab")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def guarded(prog: str, run: Callable[[], int]) -> int:
    """Run a subcommand; an expected error becomes one message on stderr and exit 2 (Ctrl-C: 130).

    Args:
        prog: the command's name for the message, e.g. ``smslab up``.
        run: the subcommand, returning its exit status.
    """
    try:
        return run()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except InputError as exc:  # ConfigError too: every problem, each with its path, value and reason
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: {_os_error(exc)}", file=sys.stderr)
        return 2


def _os_error(exc: OSError) -> str:
    """An OS error in words, naming the file when the error knows it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def _delegate(module: str, argv: list[str]) -> int:
    entry: Callable[[list[str]], int] = importlib.import_module(module).main
    return int(entry(argv) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``smslab`` (delegated subcommands parse their own arguments)."""
    parser = argparse.ArgumentParser(
        prog="smslab",
        description="A lab for the SMS path of Genesys contact centres.",
    )
    parser.add_argument("--version", action="version", version=f"smslab {version()}")
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
        module, rest = DELEGATED[args_list[0]][0], args_list[1:]
        return guarded(f"smslab {args_list[0]}", lambda: _delegate(module, rest))
    if len(args_list) > 1 and args_list[0] == "bench" and args_list[1] in BENCHES:
        module, rest = BENCHES[args_list[1]][0], args_list[2:]
        return guarded(f"smslab bench {args_list[1]}", lambda: _delegate(module, rest))
    args = build_parser().parse_args(args_list)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return guarded(f"smslab {args.command}", lambda: handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
