"""``smslab bench soak``: the embedded default lab under a steady half of its capacity for a long time.

Theory of operation. The default lab starts in this process (as ``smslab up`` starts it). One *step* of
traffic is what a conversation does: a customer's MO pushed through the proxy, then an agent's reply
(``POST /_smslab/send``), whose MT the fake Kaleyra answers with a delivery receipt through the proxy about
40 ms later. ``--conversations`` conversations are open at a time, each of ``--length`` steps spread over
about a minute; a customer whose conversation is over falls silent and a new customer takes the place, so
the idle timeout disconnects one conversation after another seven minutes after its last message (120 s
idle and 300 s grace in the default lab) and interactions keep ending and leaving memory as new ones start.
(A conversation that never ends grows without end too: each change stores and mirrors the whole record.)

First the lab's capacity is measured: ``--concurrency`` steps kept in flight, back to back, for
``--capacity-seconds``. Then steps are started at half that rate (``--share``), on a fixed schedule, for
``--minutes``. Every ``--report-every`` seconds a row is printed: the steps started and finished, MO and
send latencies (median and 99th percentile), error answers, the lab's RSS and the open interactions.

At the end, after the last DRs have had time to come in: every MO answered 200 must be in the active
node's store, every send answered 202 must be in its interaction's transcript, and every MT the broker
accepted must have its DR recorded as delivered. The run passes when nothing was lost, no answer was an
error, the RSS of the last report is within 10 % of the report halfway through, and the median MO and send
latencies of the last report are within 1.5 times those of that same report. The first half is the warm-up:
the lab's bounded tables (100,000 broker message ids, send owners and DR states; each fake's capture ring)
fill, and the first new customers' conversations reach their idle disconnect.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from loadtests import kaleyra_push as push
from scenarios.lab.assembly import Lab
from sim.cic.handles import LocalNode
from sim.cic.node import CicNode
from sim.cliargs import positive_float, positive_int, share, summary

__all__ = ["main", "run", "verdict"]

INCOMING_PORT = 8080
RSS_GROWTH = 1.10
LATENCY_GROWTH = 1.5


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1e6


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Window:
    """What happened since the last report."""

    started: int = 0
    finished: int = 0
    mo_ms: list[float] = field(default_factory=list)
    send_ms: list[float] = field(default_factory=list)
    errors: int = 0


class Soak:
    """The traffic, what was answered, and the reports."""

    def __init__(self, lab: Lab, session: aiohttp.ClientSession, conversations: int, length: int) -> None:
        self.lab, self.session = lab, session
        self.proxy = lab.proxy_urls[INCOMING_PORT] + "/kaleyra/mo"
        self.length = length
        # each slot: the customer, and the steps their conversation has left
        self.open: list[list[Any]] = [[push.handset(n), length] for n in range(conversations)]
        self.fresh = itertools.count(conversations)  # the customers who come next
        self.serial = itertools.count(1)
        self.window = Window()
        self.errors: list[str] = []
        self.mos_ok = 0
        self.sends_ok = 0
        self.accepted_mts = 0  # a count, not the ids: the soak shares the lab's process, whose RSS it reads
        self.halfway: tracemalloc.Snapshot | None = None  # with --trace-memory: the heap halfway

    def node(self) -> CicNode:
        """The active node, in process."""
        assert self.lab.pair is not None
        name = self.lab.pair.active_name()
        assert name is not None, "no node is active"
        handle = self.lab.handles[name]
        assert isinstance(handle, LocalNode)
        return handle.node

    def _customers(self) -> Iterator[str]:
        for n in itertools.count():
            slot = self.open[(n * 7919) % len(self.open)]  # spread over the slots, the same way every run
            yield slot[0]
            slot[1] -= 1
            if slot[1] == 0:  # over: this customer falls silent, a new one starts a conversation
                slot[0], slot[1] = push.handset(next(self.fresh)), self.length

    def _error(self, what: str) -> None:
        self.window.errors += 1
        if len(self.errors) < 50:
            self.errors.append(what)

    async def step(self, customer: str) -> None:
        """One MO through the proxy, then the agent's reply."""
        self.window.started += 1
        serial = next(self.serial)
        began = time.perf_counter()
        try:
            async with self.session.post(self.proxy, data=push.mo(customer, f"soak-{serial}", "where is it?"),
                                         headers=push.FORM) as resp:
                await resp.read()
                if resp.status != 200:
                    self._error(f"MO: {resp.status}")
                    return
            self.mos_ok += 1
            self.window.mo_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            # the reply goes to the number as the broker gave it (Kaleyra drops the +), as an agent's would
            body = {"to": customer.lstrip("+"), "text": f"on its way ({serial})", "classification": "Local"}
            async with self.session.post(f"{self.lab.url}/_smslab/send", json=body) as resp:
                answer = await resp.json()
                if resp.status != 202:
                    self._error(f"send: {resp.status} {answer}")
                    return
            self.sends_ok += 1
            self.window.send_ms.append((time.perf_counter() - began) * 1000)
            for request in answer["requests"]:
                self.accepted_mts += len(request["message_ids"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._error(f"{type(exc).__name__}: {exc}")
        finally:
            self.window.finished += 1

    async def capacity(self, seconds: float, concurrency: int) -> float:
        """Steps per second with ``concurrency`` kept in flight, back to back."""
        customers = self._customers()
        deadline = time.perf_counter() + seconds
        done = 0

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await self.step(next(customers))
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - began)

    async def paced(self, rate: float, seconds: float, every: float, rows: list[dict[str, Any]]) -> None:
        """Start steps at ``rate`` a second on a fixed schedule for ``seconds``, reporting every ``every``."""
        customers = self._customers()
        loop = asyncio.get_running_loop()
        began = loop.time()
        tasks: set[asyncio.Task[None]] = set()
        self.window = Window()
        next_report = began + every
        for n in itertools.count():
            at = began + n / rate
            if at - began >= seconds:
                break
            if at >= next_report:
                rows.append(self.report(next_report - began))
                print(_row(rows[-1]), file=sys.stderr, flush=True)  # progress, as the run goes
                next_report += every
                if self.halfway is None and tracemalloc.is_tracing() and at - began >= seconds / 2:
                    self.halfway = tracemalloc.take_snapshot()
            await asyncio.sleep(max(0.0, at - loop.time()))
            task = loop.create_task(self.step(next(customers)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        rows.append(self.report(loop.time() - began))

    def report(self, at: float) -> dict[str, Any]:
        """The row for the window that ends now; a new window starts."""
        w, self.window = self.window, Window()
        return {"at_s": round(at, 1), "started": w.started, "finished": w.finished,
                "mo_p50_ms": statistics.median(w.mo_ms) if w.mo_ms else 0.0,
                "mo_p99_ms": _percentile(w.mo_ms, 0.99),
                "send_p50_ms": statistics.median(w.send_ms) if w.send_ms else 0.0,
                "send_p99_ms": _percentile(w.send_ms, 0.99), "errors": w.errors, "rss_mb": _rss_mb(),
                "open_interactions": len(self.node().records.interactions())}

    def lost(self) -> dict[str, int]:
        """What was answered as accepted yet is missing from the active node's store."""
        stored_mos = stored_sends = delivered = 0
        for record in self.node().records.interaction_views():
            for entry in record["transcript"]:
                if entry["direction"] == "in" and entry["message_id"].startswith("soak-"):
                    stored_mos += 1
                elif entry["direction"] == "out":
                    stored_sends += 1
            delivered += sum(1 for d in record["deliveries"] if d["state"] == "delivered")
        return {"mos": self.mos_ok - stored_mos, "sends": self.sends_ok - stored_sends,
                "drs": self.accepted_mts - delivered}


async def run(minutes: float, share: float, *, conversations: int, length: int, concurrency: int,
              capacity_seconds: float, every: float, trace_memory: bool = False) -> dict[str, Any]:
    """Start the lab, measure its capacity, soak it at ``share`` of it; the rows, losses and the verdict.

    With ``trace_memory``, Python's allocations are traced (``tracemalloc``: slower, so at a lower rate)
    and the result names the source lines whose memory grew most from halfway to the end.
    """
    if trace_memory:
        tracemalloc.start(1)
    growth: list[str] = []
    lab = Lab()
    await lab.start()
    rows: list[dict[str, Any]] = []
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            soak = Soak(lab, session, conversations, length)
            capacity = await soak.capacity(capacity_seconds, concurrency)
            rate = capacity * share
            await soak.paced(rate, minutes * 60, every, rows)
            if soak.halfway is not None:
                grown = tracemalloc.take_snapshot().compare_to(soak.halfway, "lineno")
                growth = [str(stat) for stat in grown[:15]]
            await asyncio.sleep(2.0)  # the last DRs come about 40 ms after their MT; give them ample time
            lost = soak.lost()
            errors = list(soak.errors)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        await lab.stop()
    result = {"capacity_steps_per_s": capacity, "rate_steps_per_s": rate, "rows": rows, "lost": lost,
              "errors": errors, "error_count": sum(r["errors"] for r in rows), "memory_growth": growth}
    return {**result, **verdict(result)}


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Flat RSS, flat latency, no error, nothing lost: each check and whether all hold."""
    rows = result["rows"]
    baseline = rows[(len(rows) - 1) // 2]  # halfway: the warm-up is over (see the module docstring)
    last = rows[-1]
    checks = {
        "nothing lost": not any(result["lost"].values()),
        "no error answer": result["error_count"] == 0,
        f"RSS last / after warm-up <= {RSS_GROWTH}": last["rss_mb"] <= baseline["rss_mb"] * RSS_GROWTH,
        f"MO median last / after warm-up <= {LATENCY_GROWTH}":
            last["mo_p50_ms"] <= baseline["mo_p50_ms"] * LATENCY_GROWTH,
        f"send median last / after warm-up <= {LATENCY_GROWTH}":
            last["send_p50_ms"] <= baseline["send_p50_ms"] * LATENCY_GROWTH,
    }
    return {"baseline_at_s": baseline["at_s"], "checks": checks, "passed": all(checks.values())}


def _row(r: dict[str, Any]) -> str:
    return (f"{r['at_s']:>7.0f} {r['started']:>8} {r['finished']:>8} {r['mo_p50_ms']:>8.2f} "
            f"{r['mo_p99_ms']:>8.2f} {r['send_p50_ms']:>9.2f} {r['send_p99_ms']:>9.2f} {r['errors']:>7} "
            f"{r['rss_mb']:>7.0f} {r['open_interactions']:>7}")


def table(result: dict[str, Any]) -> list[str]:
    """The rows as a table, then the losses and the checks."""
    lines = [f"capacity {result['capacity_steps_per_s']:.0f} steps/s (an MO and a reply each); soaking at "
             f"{result['rate_steps_per_s']:.0f}/s",
             f"{'at s':>7} {'started':>8} {'done':>8} {'MO p50':>8} {'MO p99':>8} {'send p50':>9} "
             f"{'send p99':>9} {'errors':>7} {'RSS MB':>7} {'open':>7}"]
    lines += [_row(r) for r in result["rows"]]
    lost = result["lost"]
    lines.append(f"lost: {lost['mos']} MOs, {lost['sends']} sends, {lost['drs']} DRs; "
                 f"baseline (after warm-up) at {result['baseline_at_s']:.0f} s")
    lines += [f"{'pass' if ok else 'FAIL'}  {name}" for name, ok in result["checks"].items()]
    if result.get("memory_growth"):
        lines += ["memory grown from halfway to the end, by source line:", *result["memory_growth"]]
    return lines


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench soak", description=summary(__doc__))
    p.add_argument("--minutes", type=positive_float, default=30.0, help="how long to soak (30)")
    p.add_argument("--share", type=share, default=0.5, help="share of the measured capacity to run at (0.5)")
    p.add_argument("--conversations", type=positive_int, default=2000,
                   help="conversations open at a time (2000)")
    p.add_argument("--length", type=positive_int, default=5, help="steps in a conversation (5)")
    p.add_argument("--concurrency", type=positive_int, default=4, help="steps in flight for the capacity (4)")
    p.add_argument("--capacity-seconds", type=positive_float, default=10.0,
                   help="seconds of the capacity run (10)")
    p.add_argument("--report-every", type=positive_float, default=60.0, help="seconds between rows (60)")
    p.add_argument("--trace-memory", action="store_true",
                   help="trace allocations and name the lines whose memory grew after halfway (slower)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the soak; 0 when every check holds, 1 otherwise, 2 for bad arguments."""
    args = _parser().parse_args(argv)
    result = asyncio.run(run(args.minutes, args.share, conversations=args.conversations, length=args.length,
                             concurrency=args.concurrency, capacity_seconds=args.capacity_seconds,
                             every=args.report_every, trace_memory=args.trace_memory))
    print(json.dumps(result, indent=2) if args.json else "\n".join(table(result)))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
