"""``smslab bench load``: Locust (two worker processes) beside the in-house lean client, same fake, same run.

Two questions, answered in one run on one machine so the figures are ratios rather than absolutes:

1. **Is the load tool the limit?** The fake Kaleyra's MT API is loaded in turns, ``--rounds`` times, for
   ``--seconds`` each: by the lean callback client (``loadtests.bench_proxy.lean_load``, one process, the
   generator the other benches use) and by ``smslab load fake_mt`` with Locust's own master and
   ``--workers`` workers (FastHttpUser), each with ``--users`` concurrent requests. The lab runs with each
   fake, node and proxy in its own process, so the fake has a process (and, on two cores, a core) of its
   own. The ratio is the median of the per-round ratios of MTs answered per second. Target: Locust >= 0.8x
   the lean client, so that a test measures the lab, not Locust.
   One more slice with a single Locust worker is shown beside the two (information): where one worker
   beats two, the machine's cores, not Locust, are what the two workers lack.
2. **What does the whole path take?** ``smslab load mo_push`` (Kaleyra MOs) through the proxy to the active
   node, which stores and mirrors each to the backup, under the same Locust workers, beside Locust's rate
   straight at the fake (information, not a target).

On a two-core machine the Locust side runs four processes (the master, two workers, the fake) on two cores,
the lean side two (one generator, the fake): read the CPU row beside the ratio. Exit 1 when the target is
missed, 2 for bad options.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import sys
from typing import Any

from loadtests.bench_fakes import cpu_seconds
from loadtests.bench_proxy import lean_load
from loadtests.load import figures
from loadtests.load_lab import brokers_of, lab, settled_counts
from loadtests.locustfiles.traffic import Traffic, definition
from loadtests.progress import Steps
from sim.brokerdef.cic import render_mt
from sim.brokerdef.wire import Account
from sim.cliargs import positive_float, positive_int, summary
from sim.core.types import MtRequest

__all__ = ["TARGET", "main"]

TARGET = 0.8  # Locust's rate over the lean client's, against the same fake (issue 13, "Speed")
BROKER = "kaleyra"


def _lean_mt(url: str, broker: Any, seconds: float, concurrency: int) -> int:
    """MTs the lean client gets answered 2xx by the fake in ``seconds``, rendered as a node renders them."""
    wire, traffic, serial = definition(broker.wire), Traffic(1), itertools.count(1)
    first = render_mt(wire, Account("load", broker.login, broker.password),
                      MtRequest(BROKER, "load", broker.local_address, "+13175550123", "hi"), url,
                      broker.mt_path or None)
    headers = dict(first.headers)

    def body() -> bytes:
        mt = MtRequest(BROKER, "load", broker.local_address, traffic.handset(), traffic.text("gsm7"),
                       correlation=f"lean-{next(serial)}")
        return render_mt(wire, Account("load", broker.login, broker.password), mt, url,
                         broker.mt_path or None).body

    ok, _ = asyncio.run(lean_load(first.url, seconds, concurrency, body, headers))
    return ok


def _locust(url: str, locustfile: str, args: argparse.Namespace,
            workers: int | None = None) -> dict[str, Any]:
    report = figures([locustfile, "--url", url, "--brokers", BROKER, "-u", str(args.users),
                      "-t", f"{round(args.seconds)}", "--processes", str(workers or args.workers)])
    total = report["locust"]["total"]
    return {"rate": total["successes"] / max(total["requests"], 1) * total["rps"], "passed": report["passed"],
            "ok": total["successes"]}


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (a Locust run: its master and the workers it forked)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Cpu:
    """CPU time per request of the generator and of the fake, summed over slices."""

    def __init__(self, fake_pid: int | None) -> None:
        self.fake_pid = fake_pid
        self.totals = {"lean": [0.0, 0.0, 0], "locust": [0.0, 0.0, 0]}  # generator s, fake s, requests

    def slice(self, name: str, run: Any) -> Any:
        """Run one slice, counting the CPU of its generator (this process, or Locust's) and of the fake."""
        own, children, fake = cpu_seconds(), _children_cpu(), self._fake()
        result = run()
        spent = cpu_seconds() - own if name == "lean" else _children_cpu() - children
        ok = result if name == "lean" else result["ok"]
        for i, value in enumerate((spent, self._fake() - fake, ok)):
            self.totals[name][i] += value
        return result

    def _fake(self) -> float:
        return cpu_seconds(self.fake_pid) if self.fake_pid else 0.0

    def per_request(self) -> dict[str, float]:
        """Microseconds of CPU per answered request: generator and fake, for each generator."""
        out = {}
        for name, (gen, fake, ok) in self.totals.items():
            out[f"{name}_generator_us"] = 1e6 * gen / max(ok, 1)
            out[f"{name}_fake_us"] = 1e6 * fake / max(ok, 1)
        return out


def _fake_pid(embedded: Any, url: str) -> int | None:
    """The PID of the fake serving ``url`` (the lab's own child process)."""
    for child in getattr(embedded.backend, "children", ()):
        if child.info.get("url") == url and child.proc is not None:
            return int(child.proc.pid)
    return None


def measure(args: argparse.Namespace, steps: Steps) -> dict[str, Any]:
    """The rounds and the end-to-end run on one lab (each component in its own process)."""
    steps.step("starting the lab, each fake, node and proxy in its own process")
    with lab(None, None, processes=True) as target:
        broker = next(b for b in brokers_of(target.config, target.client.health()) if b.name == BROKER)
        lean, locust = [], []
        cpu = _Cpu(_fake_pid(target.lab, broker.fake_url))
        for n in range(1, args.rounds + 1):
            steps.step(f"round {n} of {args.rounds}: lean client -> fake {BROKER}")
            ok = cpu.slice("lean", lambda: _lean_mt(broker.fake_url, broker, args.seconds, args.users))
            lean.append(ok / args.seconds)
            settled_counts(target.client, 30.0)  # the lean MTs' DLRs land before Locust's slice counts
            steps.step(f"round {n} of {args.rounds}: Locust, {args.workers} workers -> fake {BROKER}")
            locust.append(cpu.slice("locust", lambda: _locust(target.client.base_url, "fake_mt", args)))
        steps.step(f"Locust, one worker -> fake {BROKER} (beside the two: is the machine the limit?)")
        single = _locust(target.client.base_url, "fake_mt", args, workers=1)
        steps.step(f"end to end: Locust, {args.workers} workers -> proxy -> pair ({BROKER} MOs)")
        e2e = _locust(target.client.base_url, "mo_push", args)
    ratios = [m["rate"] / max(r, 1e-9) for m, r in zip(locust, lean, strict=True)]
    return {"lean": lean, "locust": [m["rate"] for m in locust], "ratio": statistics.median(ratios),
            "e2e": e2e["rate"], "e2e_passed": e2e["passed"] and single["passed"], "single": single["rate"],
            "cpus": os.cpu_count() or 1,
            "checks_passed": all(m["passed"] for m in locust), **cpu.per_request()}


def _table(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lean, locust = statistics.median(result["lean"]), statistics.median(result["locust"])
    ok = result["ratio"] >= TARGET
    return [f"{'metric':<52}{'rate/s':>10}{'beside':>10}{'ratio':>8}  result",
            f"{'fake Kaleyra MT API: Locust vs lean client':<52}{locust:>10.0f}{lean:>10.0f}"
            f"{result['ratio']:>8.2f}  {'PASS' if ok else 'MISS'} (>= {TARGET})",
            f"{'MOs through proxy and pair vs fake MT API (Locust)':<52}{result['e2e']:>10.0f}"
            f"{locust:>10.0f}"
            f"{result['e2e'] / max(locust, 1e-9):>8.2f}  info",
            f"{'fake MT API: Locust, one worker vs the two':<52}{result['single']:>10.0f}"
            f"{locust:>10.0f}{result['single'] / max(locust, 1e-9):>8.2f}  info",
            f"{'CPU per MT, generator: Locust vs lean client (us)':<52}{result['locust_generator_us']:>10.0f}"
            f"{result['lean_generator_us']:>10.0f}"
            f"{result['lean_generator_us'] / max(result['locust_generator_us'], 1e-9):>8.2f}  info",
            f"{'CPU per MT, the fake: under Locust vs lean (us)':<52}{result['locust_fake_us']:>10.0f}"
            f"{result['lean_fake_us']:>10.0f}"
            f"{result['lean_fake_us'] / max(result['locust_fake_us'], 1e-9):>8.2f}  info",
            f"(Locust: {args.workers} workers, {args.users} users; "
            f"lean: one process, {args.users} connections; "
            f"{args.rounds} rounds of {args.seconds:g} s, the ratio the median of the rounds'; "
            f"{result['cpus']} CPUs; lab counts "
            f"{'matched' if result['checks_passed'] and result['e2e_passed'] else 'DID NOT match'} Locust's)"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench load", description=summary(__doc__))
    p.add_argument("--seconds", type=positive_float, default=10.0, help="seconds per slice (10)")
    p.add_argument("--rounds", type=positive_int, default=2, help="turns of each generator (2)")
    p.add_argument("--users", type=positive_int, default=32, help="concurrent requests of each (32)")
    p.add_argument("--workers", type=positive_int, default=2, help="Locust worker processes (2)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when the target is met, 1 otherwise (2 for bad options)."""
    args = _parser().parse_args(argv)
    steps = Steps("smslab bench load", 3 + 2 * args.rounds)
    result = measure(args, steps)
    print("\n".join(_table(result, args)))
    return 0 if result["ratio"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
