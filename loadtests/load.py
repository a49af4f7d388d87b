"""``smslab load``: a Locust load test against the lab (or a lab at ``--url``), with the lab's own figures.

``smslab load [NAME|LOCUSTFILE] [--config FILE | --url URL] --users N --spawn-rate R --run-time T
[--processes N] [--csv PREFIX] [--html FILE] [--json FILE] [--max-fail-ratio X] [--p95-ms N]
[--min-rps N] [--fail-at S --fail-mode kill|hang]``

Theory of operation. The lab starts (the embedded default, or ``--config``) unless ``--url`` names a
running one. The run's plan (``loadtests.locustfiles.plan``: the proxy's push targets, the fakes, the
routes, a tag for this run's message ids) is written to a file, and Locust runs headless in its own
process (``python -m locust``; ``--processes N`` makes it Locust's own master and N workers), never in this
one: importing Locust monkey-patches the interpreter with gevent. Locust writes its CSV (and, when asked,
HTML) report; the locustfiles write which MOs were acknowledged and how many MTs each send made. Once
Locust has stopped and the lab's counters have settled, the run is judged (``loadtests.load_report``):
every acknowledged MO stored exactly once, each fake's MTs equal to the sends' accepted MTs, with
``--fail-at`` the switchover's gap and the requests failed in it, and the user's thresholds. The table
goes to stdout, the figures to ``--json``. Exit 0 when every check and threshold holds, 1 when one fails
(named in the table), 2 for bad input: an unknown locustfile, a bad threshold, an unreachable ``--url``,
Locust missing or failing to start.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from loadtests import load_report as rpt
from loadtests.load_lab import (
    LabTarget,
    brokers_of,
    dlr_routes,
    interactions_since,
    lab,
    metric_counts,
    settled_counts,
)
from loadtests.locustfiles import NAMES, locustfile
from loadtests.locustfiles.plan import ENV, BrokerPlan, Plan
from scenarios.lab.processes import free_port
from sim.cliargs import http_url, port, positive_float, positive_int, seconds, summary
from sim.core.errors import InputError

__all__ = ["duration", "figures", "main", "ratio", "run"]

_ROOT = Path(__file__).resolve().parents[1]  # the Locust processes import this tree, wherever run from
STOP_GRACE = 60.0  # seconds past --run-time before a Locust that has not stopped is ended
WORKERS_WAIT = 120.0  # seconds Locust's master waits for --expect-workers before it gives up


def duration(text: str) -> int:
    """A run time: whole seconds (``30``), or Locust's form (``90s``, ``2m``, ``1h30m``); at least 1 s."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"must be seconds or a time such as 30s, 2m, 1h30m (got {text!r})")
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    total = 3600 * hours + 60 * minutes + secs
    if total < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second (got {text!r})")
    return total


def ratio(text: str) -> float:
    """A failure ratio: a number from 0 to 1."""
    value = seconds(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1 (got {text})")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab load", description=summary(__doc__))
    p.add_argument("target", nargs="?", default="mo_push",
                   help=f"a locustfile: one of {', '.join(NAMES)} (default mo_push), or a path")
    p.add_argument("--url", type=http_url, help="a running lab's control API (default: start the lab)")
    p.add_argument("--config", help="the lab file (the lab to start, or the one at --url; default: the "
                                    "embedded default lab)")
    p.add_argument("--users", "-u", type=positive_int, default=10, help="concurrent Locust users (10)")
    p.add_argument("--spawn-rate", "-r", type=positive_float, help="users started per second (all at once)")
    p.add_argument("--run-time", "-t", type=duration, default=10, help="how long to load: 30, 90s, 2m (10 s)")
    workers = p.add_mutually_exclusive_group()
    workers.add_argument("--processes", type=positive_int, help="Locust's own master and this many workers")
    workers.add_argument("--expect-workers", type=positive_int,
                         help="run Locust's master here and wait for this many `locust --worker` processes "
                              "on other hosts (the command for them is printed)")
    p.add_argument("--master-bind-host", default="127.0.0.1",
                   help="with --expect-workers: the address the master listens on (127.0.0.1)")
    p.add_argument("--master-bind-port", type=port, default=5557,
                   help="with --expect-workers: the master's port (5557, Locust's)")
    p.add_argument("--brokers", help="only these brokers, comma-separated (default: every broker of the lab)")
    p.add_argument("--lab-processes", action="store_true",
                   help="start the lab with each fake, node and proxy in its own process")
    p.add_argument("--wait", type=seconds, default=0.0, help="seconds a user waits between tasks (0)")
    p.add_argument("--csv", help="keep Locust's CSV report with this prefix")
    p.add_argument("--html", help="keep Locust's HTML report in this file")
    p.add_argument("--json", help="write the run's figures as JSON to this file ('-': stdout, the table "
                                  "then on stderr)")
    p.add_argument("--max-fail-ratio", type=ratio, help="fail when failures/requests is above this (0-1)")
    p.add_argument("--p95-ms", type=positive_float, help="fail when the 95th percentile is above this (ms)")
    p.add_argument("--min-rps", type=positive_float, help="fail when the rate is below this (requests/s)")
    p.add_argument("--fail-at", type=seconds, help="fail the active node this many seconds into the run")
    p.add_argument("--fail-mode", choices=("kill", "hang"), default="kill", help="the fault (kill)")
    p.add_argument("--settle", type=seconds, default=10.0,
                   help="seconds at most to wait for the lab's counters to settle after the run (10)")
    return p


def _check(args: argparse.Namespace) -> None:
    if args.fail_at is not None and args.fail_at >= args.run_time:
        raise InputError(f"--fail-at {args.fail_at:g} must be before the end of --run-time "
                         f"({args.run_time} s)")
    if importlib.util.find_spec("locust") is None:  # found without importing it (and its monkey-patching)
        raise InputError("Locust is not installed in this Python: pip install 'locust>=2.30'")


def _locust_command(args: argparse.Namespace, file: Path, out: Path, host: str) -> list[str]:
    # --json-file STEM writes STEM.json: Locust's final figures, which the report reads.
    command = [sys.executable, "-m", "locust", "-f", str(file), "--headless", "--host", host or "http://-",
               "-u", str(args.users), "-r", f"{args.spawn_rate or args.users:g}", "-t", f"{args.run_time}s",
               "--json-file", str(out / "locust"), "--only-summary", "--stop-timeout", "5",
               "--loglevel", "WARNING"]
    if args.csv:
        command += ["--csv", args.csv]
    if args.html:
        command += ["--html", args.html]
    if args.processes:
        # The master on loopback and on a port of its own (Locust's default, 5557 on every address, would
        # collide with a second run, a pytest-xdist neighbour's or a user's own Locust).
        port = str(free_port("127.0.0.1"))
        command += ["--processes", str(args.processes), "--master-bind-host", "127.0.0.1",
                    "--master-bind-port", port, "--master-port", port]
    if args.expect_workers:
        command += ["--master", "--expect-workers", str(args.expect_workers), "--expect-workers-max-wait",
                    f"{WORKERS_WAIT:g}", "--master-bind-host", args.master_bind_host,
                    "--master-bind-port", str(args.master_bind_port)]
    return command


def worker_command(args: argparse.Namespace, file: Path, plan: Plan) -> str:
    """What to run on each worker host: Locust's worker, this locustfile, the plan inline, this master."""
    host = args.master_bind_host if args.master_bind_host not in ("0.0.0.0", "::", "*") else socket.getfqdn()
    return (f"{ENV}={shlex.quote(plan.inline())} python -m locust -f {shlex.quote(str(file))} --worker "
            f"--master-host {host} --master-port {args.master_bind_port}")


def _run_locust(command: list[str], plan_file: Path, limit: float) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, ENV: str(plan_file), "PYTHONPATH": path}
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=limit, check=False,
                              cwd=_ROOT)
    except subprocess.TimeoutExpired:  # subprocess.run has ended the child it started
        raise InputError(f"Locust did not stop within {limit:g} s of its start") from None


def _chosen(brokers: tuple[BrokerPlan, ...], names: str | None) -> tuple[BrokerPlan, ...]:
    """The brokers ``--brokers`` names (all when not given).

    Raises:
        InputError: a name is not a broker of the lab.
    """
    if not names:
        return brokers
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in {b.name for b in brokers}]
    if unknown or not wanted:
        raise InputError(f"--brokers {names!r}: {', '.join(unknown) or 'none named'} not a broker of the lab "
                         f"(its brokers: {', '.join(b.name for b in brokers)})")
    return tuple(b for b in brokers if b.name in wanted)


def _lab_figures(before: Counter[tuple[str, ...]], after: Counter[tuple[str, ...]]) -> dict[str, Any]:
    diff = after - before
    mts: Counter[str] = Counter()
    dlrs: Counter[str] = Counter()
    for key, n in diff.items():
        if key[0] == "messages" and key[2] == "mt":
            mts[key[1]] += n
        elif key[0] == "messages" and key[2] == "dlr":
            dlrs[f"{key[1]} {key[3]}"] += n
    proxy = {key[1]: n for key, n in sorted(diff.items()) if key[0] == "proxy"}
    return {"mts": dict(sorted(mts.items())), "dlrs": dict(sorted(dlrs.items())), "proxy": proxy}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One load run as the module docstring describes it; returns its report."""
    file = locustfile(args.target)
    _check(args)
    with (tempfile.TemporaryDirectory(prefix="smslab-load-") as tmp,
          lab(args.url, args.config, processes=args.lab_processes) as target):
        out = Path(tmp)
        health = target.client.health()
        plan = Plan(target.client.base_url, _chosen(brokers_of(target.config, health), args.brokers),
                    secrets.token_hex(4), tmp, args.fail_at, args.fail_mode, dlr_routes(target.config),
                    args.wait)
        plan_file = plan.write(out / "plan.json")
        before, started = metric_counts(target.client), time.time()
        host = next((b.mo_url for b in plan.brokers if b.mo_url), plan.control_url)
        if args.expect_workers:
            print(f"smslab load: waiting up to {WORKERS_WAIT:g} s for {args.expect_workers} worker(s); on "
                  f"each worker host (smslab installed, the lab reachable), run:\n  "
                  f"{worker_command(args, file, plan)}", file=sys.stderr, flush=True)
        done = _run_locust(_locust_command(args, file, out, host), plan_file,
                           args.run_time + STOP_GRACE + (WORKERS_WAIT if args.expect_workers else 0))
        try:
            stats = rpt.locust_stats(out / "locust.json")
        except FileNotFoundError:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise InputError(f"Locust failed to start (exit {done.returncode}):\n{tail}") from None
        after = settled_counts(target.client, args.settle)
        report = _report(args, target, plan, health=health, stats=stats, before=before, after=after,
                         started=started)
    # Locust exits 2 when a greenlet raised (a locustfile's bug): its figures cannot be trusted then.
    report["locust_exit"] = done.returncode
    report["checks"]["Locust ran without an uncaught exception"] = done.returncode != 2
    if done.returncode == 2:
        report["locust_errors"] = (done.stderr or "").strip().splitlines()[-20:]
    report["passed"] = all(report["checks"].values())
    return report


def _report(args: argparse.Namespace, target: LabTarget, plan: Plan, *, health: dict[str, Any],
            stats: dict[str, Any], before: Counter[tuple[str, ...]], after: Counter[tuple[str, ...]],
            started: float) -> dict[str, Any]:
    out = Path(plan.out_dir)
    faults = rpt.read_json_files(out, "fault.json")
    fault = faults[0] if faults else None
    recovery = bool(health.get("switchover", {}).get("recovery", {}).get("effective", False))
    mos, mts = rpt.read_logs(out, "mo"), rpt.read_logs(out, "mt")
    report: dict[str, Any] = {
        "locustfile": args.target, "users": args.users, "run_time": args.run_time,
        "processes": args.processes, "lab_url": plan.control_url, "tag": plan.tag, "locust": stats,
        "lab": _lab_figures(before, after), "failover": None,
        # Locust processes that ran users (the workers with --processes), from the logs they wrote.
        "user_processes": len({p.name.split("-", 1)[1] for p in (*out.glob("mo-*.tsv"), *out.glob("mt-*.tsv"))
                               if p.stat().st_size})}
    interactions = interactions_since(target.client, started - 1) if mos or args.expect_workers else []
    stored = rpt.stored_mos(interactions, plan.tag)
    if args.expect_workers and any(r["name"].startswith("MO ") for r in stats["rows"]):
        # The workers' MO logs are on their own hosts: judge by Locust's counts and the lab's alone.
        report["mo"] = rpt.mo_counts(stats["rows"], stored)
    elif mos:
        report["mo"] = rpt.mo_figures(mos, stored, fault, recovery)
    if mos and any(r["name"] == "reply" for r in stats["rows"]) and fault is None:
        replies = {row.key for row in mts if row.ok}
        report["conversations"] = rpt.conversation_figures(interactions, plan.tag, replies)
    if mts and not args.expect_workers:
        accepted: Counter[str] = Counter()
        for row in mts:
            accepted[row.broker] += row.parts if row.ok else 0
        names = [r["name"] for r in stats["rows"]
                 if r["name"] in ("send", "reply") or r["name"].startswith("MT ")]
        report["mt"] = {"sent": len(mts), "names": names, "accepted": dict(sorted((+accepted).items())),
                        "captured": {b: report["lab"]["mts"].get(b, 0) for b in sorted(+accepted)},
                        # answered 2xx by the node, but no broker took its MT (the node's answer says why)
                        "refused": sum(1 for row in mts if row.ok and not row.parts)}
    tallies = rpt.read_json_files(out, "dlr-*.json")
    if tallies and any(r["name"] in ("send", "reply") for r in stats["rows"]):  # agent sends: DLRs timed
        report["dlr"] = {k: sum(int(t[k]) for t in tallies)
                         for k in ("registered", "matched", "pending", "unclaimed", "lagged")}
    if fault is not None:
        report["failover"] = rpt.failover_figures(mos or mts, fault, target.client.timeline(),
                                                 {**target.terms, "retry_interval": plan.wait})
    report["checks"] = {**rpt.checks(report), **rpt.thresholds(
        stats["total"], max_fail_ratio=args.max_fail_ratio, p95_ms=args.p95_ms, min_rps=args.min_rps)}
    report["passed"] = all(report["checks"].values())
    return report


def figures(argv: list[str]) -> dict[str, Any]:
    """The report of a run with these arguments, printed nowhere (``smslab bench load`` uses it).

    Raises:
        InputError: bad input, as for ``main``.
    """
    return run(_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab load``; 0 when every check and threshold holds, 1 when one fails, 2 for bad input."""
    args = _parser().parse_args(argv)
    report = run(args)
    # With --json -, stdout is the JSON document alone (for a script to read); the table goes to stderr.
    print(rpt.summary_table(report), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json == "-":
        print(json.dumps(report, indent=1))
    elif args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    from scenarios.cli.main import guarded

    sys.exit(guarded("smslab load", main))
