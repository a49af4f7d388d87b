"""``smslab run [SCENARIO ...] [--config FILE] [--json FILE] [--junit FILE] [--url URL]``.

Runs scenario files (every built-in scenario when none is given) and ends with a summary table. Without
``--url`` it starts the lab in process, from ``--config`` or the embedded default (plus any lab a scenario
names with ``config``), and stops it at the end; with ``--url`` it drives a lab that is already up.
Exit status: 0 when every scenario passed (skipped ones do not count against it), 1 when any failed or
broke, 2 when a scenario file or a lab file is invalid (every problem is listed, nothing is run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from scenarios.paths import BUILTIN_DIR
from scenarios.scenario.report import Progress, counts, print_summary, write_json, write_junit
from scenarios.scenario.runner import run_all
from scenarios.scenario.scenario_file import Scenario, load_scenarios
from sim.cliargs import http_url, positive_float
from sim.core.errors import ConfigError

__all__ = ["BUILTIN", "builtin_files", "main"]

BUILTIN = BUILTIN_DIR


def builtin_files() -> list[Path]:
    """The built-in scenario files, in name order."""
    return sorted(BUILTIN.glob("*.yaml"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``smslab run``."""
    parser = argparse.ArgumentParser(prog="smslab run", description="Run scenarios against a lab.")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help="scenario files or folders of them (default: every built-in scenario)")
    parser.add_argument("--config", metavar="FILE", help="the lab file (default: the embedded lab)")
    parser.add_argument("--url", type=http_url, metavar="URL",
                        help="run against a lab already up at this control URL")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--junit", metavar="FILE", help="write the results as JUnit XML")
    parser.add_argument("--timeout", type=positive_float, default=10.0, metavar="SECONDS",
                        help="seconds to wait for each control API answer (default 10)")
    return parser


def _files(args: list[str]) -> list[Path]:
    if not args:
        return builtin_files()
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        out += sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return out


def _load(files: list[Path], console: Console) -> list[Scenario] | None:
    scenarios: list[Scenario] = []
    bad = False
    for file in files:
        try:
            scenarios += load_scenarios(file)
        except ConfigError as exc:
            console.print(f"[red]{file}: invalid scenario file[/red]", highlight=False)
            console.print(str(exc), markup=False, highlight=False)
            bad = True
    return None if bad else scenarios


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    """Run ``smslab run``; returns the exit status (0 all passed, 1 a failure, 2 a bad file).

    Args:
        argv: the arguments after ``run``; ``sys.argv[1:]`` when ``None``.
        console: where to print (a fresh stdout console when ``None``).
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = console or Console(highlight=False)
    files = _files(args.scenarios)
    if not files:
        out.print("[red]no scenario files found[/red]")
        return 2
    scenarios = _load(files, out)
    if scenarios is None:
        return 2
    began = time.monotonic()
    try:
        results = run_all(scenarios, url=args.url or "", config=args.config,
                          progress=Progress(out, len(scenarios)), timeout=args.timeout)
    except ConfigError as exc:
        out.print("[red]invalid lab file[/red]")
        out.print(str(exc), markup=False, highlight=False)
        return 2
    seconds = time.monotonic() - began
    print_summary(out, results, seconds)
    if args.json:
        write_json(args.json, results, seconds)
    if args.junit:
        write_junit(args.junit, results, seconds)
    n = counts(results)
    return 0 if n["failed"] == 0 and n["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
