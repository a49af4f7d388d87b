"""``smslab simulate FILE``: a what-if file run with the whole lab in virtual time, as fast as it goes.

The format of a what-if file is in ``scenarios.simulate.whatif``; the figures in
``scenarios.simulate.report``. Exit status: 0 when every ``expect:`` holds, 1 when one does not (each is
named), 2 for a bad file or argument (every problem, with its path, value and reason, before anything
runs).

``--sweep KEY=V1,V2,...`` (repeatable) runs the grid of every combination, one process per point, as many at
once as the machine has cores, and prints one row per point; ``KEY`` is a path into the what-if file
(``traffic.campaigns[0].rate``, ``cic.switchover.ts_timeout``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from scenarios.paths import PACKAGE_DIR
from scenarios.simulate.plots import write_plots
from scenarios.simulate.report import summary_lines, to_csv, to_json, verdicts
from scenarios.simulate.whatif import METRICS, load_whatif, whatif_format
from scenarios.simulate.world import simulate
from sim.cliargs import summary
from sim.core.errors import InputError

__all__ = ["main"]

WHATIF_DIR = PACKAGE_DIR / "whatif"
SWEEP_COLUMNS = ("mt.accepted", "mt.throttled", "dlr.stored", "dlr.late", "lost", "gap_s", "takeover_s",
                 "dlr_s.p99")


def _assignment(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE (got {text!r})")
    return key, yaml.safe_load(value)


def _grid(text: str) -> tuple[str, list[Any]]:
    key, sep, values = text.partition("=")
    if not sep or not key or not values:
        raise argparse.ArgumentTypeError(f"must be KEY=V1,V2,... (got {text!r})")
    return key, [yaml.safe_load(v) for v in values.split(",")]


def _parser() -> argparse.ArgumentParser:
    figures = textwrap.fill(", ".join(METRICS), 100, initial_indent="    ", subsequent_indent="    ")
    epilog = (f"The what-if format:\n\n{whatif_format()}\nThe figures `expect:` may name:\n{figures}\n\n"
              f"Examples: {WHATIF_DIR}/")
    p = argparse.ArgumentParser(prog="smslab simulate", description=summary(__doc__), epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, help="the what-if file")
    p.add_argument("--json", metavar="FILE", help="write the whole result as JSON ('-': stdout, no table)")
    p.add_argument("--csv", metavar="FILE", help="write the time series as CSV, one row per step")
    p.add_argument("--plot", metavar="DIR", help="write PNG plots into DIR")
    p.add_argument("--set", dest="assign", action="append", type=_assignment, default=[], metavar="KEY=VALUE",
                   help="set a value of the file by its path, e.g. traffic.campaigns[0].rate=20")
    p.add_argument("--sweep", action="append", type=_grid, default=[], metavar="KEY=V1,V2",
                   help="run every combination, one process per point, and print a row per point")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab simulate``; 0 when every expectation holds, 1 when one fails, 2 for bad input."""
    args = _parser().parse_args(argv)
    if args.sweep:
        return _sweep(args)
    whatif = load_whatif(args.file, dict(args.assign))
    result = simulate(whatif, None if args.quiet else _Bar("smslab simulate").show)
    if args.json == "-":
        sys.stdout.write(to_json(result))
    else:
        print("\n".join(summary_lines(result)))
        if args.json:
            Path(args.json).write_text(to_json(result), encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(to_csv(result), encoding="utf-8")
    if args.plot:
        for path in write_plots(result, args.plot):
            print(f"smslab simulate: wrote {path}", file=sys.stderr)
    failed = [e.metric for e, _v, ok in verdicts(result) if not ok]
    if failed:
        print(f"smslab simulate: expectation failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


class _Bar:
    """A progress bar on stderr, shown once a run has taken a second (redrawn in place on a terminal)."""

    def __init__(self, prog: str) -> None:
        self.prog = prog
        self.began = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def show(self, share: float) -> None:
        """Draw the bar at ``share`` (0 to 1) of the run."""
        if time.monotonic() - self.began < 1.0:
            return
        percent = int(share * 100)
        if not self.tty and percent // 10 == self.shown // 10:
            return
        self.shown = percent
        bar = "#" * (percent // 5) + "." * (20 - percent // 5)
        end = "\r" if self.tty and percent < 100 else "\n"
        sys.stderr.write(f"{self.prog}: [{bar}] {percent:3d}%{end}")
        sys.stderr.flush()


# -- --sweep ------------------------------------------------------------------------------------------


def _sweep(args: argparse.Namespace) -> int:
    keys = [key for key, _ in args.sweep]
    points = list(itertools.product(*(values for _, values in args.sweep)))
    for point in points:  # every point is checked before any runs
        load_whatif(args.file, {**dict(args.assign), **dict(zip(keys, point, strict=True))})
    workers = max(1, min(len(points), os.cpu_count() or 1))
    print(f"smslab simulate: {len(points)} points, {workers} at a time", file=sys.stderr)
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda point: _point(args, keys, point), points))
    header = [*keys, *SWEEP_COLUMNS, "expect"]
    rows = [[_shown(v) for v in point] + [_shown(doc["figures"][c]) for c in SWEEP_COLUMNS] +
            ["PASS" if code == 0 else "FAIL"] for point, (code, doc) in zip(points, results, strict=True)]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if any(code != 0 for code, _ in results) else 0


def _point(args: argparse.Namespace, keys: list[str], point: tuple[Any, ...]) -> tuple[int, dict[str, Any]]:
    """Run one point of the grid in its own process: its exit status and its JSON document."""
    sets = [*args.assign, *zip(keys, point, strict=True)]
    command = [sys.executable, "-m", "scenarios.cli.main", "simulate", str(args.file), "--json", "-",
               "--quiet", *itertools.chain.from_iterable(("--set", f"{k}={json.dumps(v)}") for k, v in sets)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise InputError(f"the point {dict(zip(keys, point, strict=True))} failed: {done.stderr.strip()}")
    return done.returncode, json.loads(done.stdout)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

