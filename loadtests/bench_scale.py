"""``smslab bench scale``: what each operation of the lab costs as conversations grow, beside its cost at 100.

Theory of operation. One in-process embedded default lab (the fakes, both CIC nodes, the proxy, the pair
and the control API on one event loop, as ``smslab up`` starts it) is grown to each size in ``--sizes``
(default 100, 10,000 and 50,000 open interactions: one customer each, every one a new conversation). The
growth goes straight to the active node's records (``Records.receive``: the core, the store and the mirror
to the backup, as an MO push does, without the HTTP around it), because the bench measures what an
operation costs at a size, not how the lab got there. At each size, from this same process:

- ``mo``: new MOs POSTed through the proxy, one after another, each starting a conversation;
- ``send``: agent sends into existing interactions (``POST /_smslab/send`` on the lab's control API);
- ``dr``: Kaleyra delivery receipts for those sends POSTed through the proxy;
- ``page``: the default page of ``GET /_smslab/interactions``;
- ``recovery``: the backup taking over every mirrored interaction (``Records.recover``, the switchover's
  recovery step), then set back (``reset_core``);
- ``full sync``: every record of the active node copied into the backup's mirror, chunk by chunk;
- ``idle``: the process's CPU share while nothing is sent (the timers' cost), and its RSS.

Each per-message figure is the median latency of its requests. A monitor task that sleeps 5 ms at a time
records how late it wakes: the longest lateness while an operation runs is the event loop's longest stall
(growth itself is left out). Every answer the proxy gives is counted: anything but 200 from a healthy node
is an error.

Targets (issue "The lab keeps its speed as conversations grow"): each per-message operation's cost at the
largest size at most 1.5 times its cost at the smallest; the longest stall under 50 ms; no error answer;
recovery and full sync each under half the takeover time (``cic.switchover.takeover_time`` as a real
server takes it, 5 s by default, whatever the lab's ``time_scale``: 2.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from loadtests import kaleyra_push as push
from scenarios.lab.assembly import Lab
from sim.cic.handles import LocalNode, full_sync
from sim.cic.node import CicNode
from sim.cliargs import positive_float, positive_int, summary
from sim.core.types import InboundSms

__all__ = ["PER_MESSAGE", "main", "run"]

SIZES = (100, 10_000, 50_000)
PER_MESSAGE = ("mo", "send", "dr", "page")
RATIO_TARGET = 1.5
STALL_TARGET_MS = 50.0
TAKEOVER_SHARE = 0.5  # recovery and full sync: at most this share of the (unscaled) takeover time
INCOMING_PORT = 8080


class StallMonitor:
    """How late a task that sleeps ``interval`` seconds at a time wakes: the loop's longest stall."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self._began = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._began = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - self._began - self.interval)

    def start(self) -> None:
        """Start watching (from zero)."""
        self.worst = 0.0
        loop = asyncio.get_running_loop()
        self._began = loop.time()
        self._task = loop.create_task(self._watch())

    async def stop(self) -> float:
        """Stop watching; the longest stall seen, in milliseconds (a sleep still pending counts: the work
        measured may have held the loop from start to end without the watcher waking once)."""
        self.worst = max(self.worst, asyncio.get_running_loop().time() - self._began - self.interval)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.worst * 1000


def _rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class Bench:
    """The lab under measurement and the figures gathered so far."""

    def __init__(self, lab: Lab, session: aiohttp.ClientSession, counts: dict[str, float]) -> None:
        self.lab, self.session, self.counts = lab, session, counts
        self.monitor = StallMonitor()
        self.serial = 0
        self.open: list[tuple[str, str]] = []  # (interaction id, customer) of the grown conversations
        self.sent: list[tuple[str, str, str]] = []  # (message id, correlation, recipient) of a size's sends
        self.errors: list[str] = []
        self.warmed = False
        self.proxy = lab.proxy_urls[INCOMING_PORT]

    def node(self, active: bool = True) -> CicNode:
        """The active node (or the other one), in process."""
        assert self.lab.pair is not None
        name = self.lab.pair.active_name()
        wanted = name if active else next(n for n in self.lab.handles if n != name)
        assert wanted is not None, "no node is active"
        handle = self.lab.handles[wanted]
        assert isinstance(handle, LocalNode)
        return handle.node

    async def grow(self, size: int) -> None:
        """Open conversations straight through the active node's records until it holds ``size``."""
        records = self.node().records
        while len(self.open) < size:
            self.serial += 1
            sms = InboundSms("kaleyra", push.handset(self.serial), push.LOCAL, "hello", f"grow-{self.serial}",
                             received_at=records.clock())
            received = await records.receive(sms, records.clock())
            self.open.append((received.interaction.id, received.interaction.customer))
            if self.serial % 50 == 0:
                await asyncio.sleep(0)  # the proxy's health probes and the timers go on meanwhile

    async def _timed(self, count: float, one: Callable[[int], Awaitable[None]]) -> dict[str, float]:
        self.monitor.start()
        took = []
        for n in range(int(count)):
            began = time.perf_counter()
            await one(n)
            took.append((time.perf_counter() - began) * 1000)
        stall = await self.monitor.stop()
        return {"ms": statistics.median(took), "stall_ms": stall}

    async def _post(self, url: str, body: bytes) -> None:
        async with self.session.post(url, data=body, headers=push.FORM) as resp:
            await resp.read()
            if resp.status != 200:
                self.errors.append(f"POST {url}: {resp.status}")

    async def mo(self, n: int) -> None:
        """One new MO through the proxy."""
        self.serial += 1
        body = push.mo(push.handset(self.serial), f"scale-{self.serial}")
        await self._post(f"{self.proxy}/kaleyra/mo", body)

    async def send(self, n: int) -> None:
        """One agent send into a grown conversation; its message id is kept for a DR."""
        interaction_id, customer = self.open[(n * 7919) % len(self.open)]
        body = {"to": customer, "text": "On its way", "classification": "Local",
                "interaction_id": interaction_id}
        async with self.session.post(f"{self.lab.url}/_smslab/send", json=body) as resp:
            answer = await resp.json()
            if resp.status != 202:
                self.errors.append(f"POST /_smslab/send: {resp.status} {answer}")
                return
        for request in answer["requests"]:
            for message_id in request["message_ids"]:
                self.sent.append((message_id, answer["correlation"], answer["recipient"]))

    async def dr(self, n: int) -> None:
        """One delivery receipt through the proxy for a message an agent sent."""
        message_id, correlation, recipient = self.sent[n % len(self.sent)]
        body = push.delivery_receipt(message_id, correlation, recipient)
        await self._post(f"{self.proxy}/kaleyra/dr", body)

    async def page(self, n: int) -> None:
        """The default page of the active node's interactions, through the lab."""
        async with self.session.get(f"{self.lab.url}/_smslab/interactions") as resp:
            await resp.read()
            if resp.status != 200:
                self.errors.append(f"GET /_smslab/interactions: {resp.status}")

    async def once(self, work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
        """One timed run of ``work`` with the stall monitor on."""
        self.monitor.start()
        began = time.perf_counter()
        await work()
        took = (time.perf_counter() - began) * 1000
        return {"ms": took, "stall_ms": await self.monitor.stop()}

    async def recovery(self) -> None:
        """The backup takes over every mirrored interaction, then is set back to an empty core."""
        backup = self.node(active=False)
        await backup.records.recover()
        await backup.records.reset_core()

    async def full_sync(self) -> None:
        """Every record of the active node into the backup's mirror."""
        await full_sync(LocalNode(self.node()), LocalNode(self.node(active=False)))

    async def idle(self, seconds: float) -> dict[str, float]:
        """CPU share of this process while nothing is sent."""
        self.monitor.start()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        share = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        return {"cpu_percent": share, "stall_ms": await self.monitor.stop()}

    async def warm_up(self) -> None:
        """A few of each request, unmeasured, so that the first size is not charged for cold caches."""
        self.sent = []
        for n in range(10):
            await self.mo(n)
            await self.send(n)
            await self.page(n)
        for n in range(len(self.sent)):
            await self.dr(n)

    async def measure(self, size: int) -> dict[str, Any]:
        """Every figure at ``size`` open conversations."""
        await self.grow(size)
        await asyncio.sleep(0.3)  # let the farm's probes and the timers catch up with the growth
        if not self.warmed:
            await self.warm_up()
            self.warmed = True
        self.sent = []
        figures: dict[str, Any] = {"size": size, "interactions": self.node().records.count()}
        figures["mo"] = await self._timed(self.counts["mos"], self.mo)
        figures["send"] = await self._timed(self.counts["sends"], self.send)
        figures["dr"] = await self._timed(self.counts["drs"], self.dr) if self.sent else {}
        figures["page"] = await self._timed(self.counts["pages"], self.page)
        figures["recovery"] = await self.once(self.recovery)
        figures["full_sync"] = await self.once(self.full_sync)
        figures["idle"] = await self.idle(self.counts["idle_seconds"])
        figures["rss_mb"] = _rss_mb()
        return figures


async def run(sizes: list[int], counts: dict[str, float]) -> dict[str, Any]:
    """Start the default lab in process, measure at every size; the figures, ratios and checks."""
    lab = Lab()
    await lab.start()
    try:
        takeover = lab.spec.pair.timers.takeover_time  # as a real server takes it: the lab's time_scale aside
        async with aiohttp.ClientSession() as session:
            bench = Bench(lab, session, counts)
            by_size = [await bench.measure(size) for size in sizes]
            errors = list(bench.errors)
    finally:
        await lab.stop()
    return summarise(by_size, errors, takeover)


def summarise(by_size: list[dict[str, Any]], errors: list[str], takeover: float) -> dict[str, Any]:
    """Ratios of the largest size to the smallest, the longest stall, RSS per conversation, the verdicts."""
    first, last = by_size[0], by_size[-1]
    ratios = {op: last[op]["ms"] / first[op]["ms"] for op in PER_MESSAGE if first[op] and last[op]}
    stalls = [f[op]["stall_ms"] for f in by_size for op in (*PER_MESSAGE, "recovery", "full_sync", "idle")
              if f[op]]
    grown = last["interactions"] - first["interactions"]
    per_interaction_kb = (last["rss_mb"] - first["rss_mb"]) * 1000 / grown if grown > 0 else 0.0
    bound_ms = takeover * TAKEOVER_SHARE * 1000
    checks = {
        **{f"{op} ratio <= {RATIO_TARGET}": ratio <= RATIO_TARGET for op, ratio in ratios.items()},
        f"longest stall < {STALL_TARGET_MS:g} ms": max(stalls, default=0.0) < STALL_TARGET_MS,
        "no error answer": not errors,
        f"recovery < {bound_ms:g} ms": last["recovery"]["ms"] < bound_ms,
        f"full sync < {bound_ms:g} ms": last["full_sync"]["ms"] < bound_ms,
    }
    return {"sizes": by_size, "ratios": ratios, "longest_stall_ms": max(stalls, default=0.0),
            "rss_kb_per_interaction": per_interaction_kb, "errors": errors[:20], "error_count": len(errors),
            "takeover_time": takeover, "checks": checks, "passed": all(checks.values())}


def report(result: dict[str, Any]) -> list[str]:
    """The result as a table: one row per operation, one column per size, then the ratio."""
    sizes = result["sizes"]
    columns = "".join(f"{'at ' + format(s['size'], ','):>14}" for s in sizes)
    head = f"{'operation':<22}{columns}{'ratio':>8}"
    lines = [head]
    for op in PER_MESSAGE:
        cells = "".join(f"{s[op]['ms']:>11.2f} ms" if s[op] else f"{'-':>14}" for s in sizes)
        ratio = result["ratios"].get(op)
        lines.append(f"{op + ' (median)':<22}{cells}{'' if ratio is None else f'{ratio:>8.2f}'}")
    for op in ("recovery", "full_sync"):
        lines.append(f"{op.replace('_', ' '):<22}" + "".join(f"{s[op]['ms']:>11.0f} ms" for s in sizes))
    lines.append(f"{'idle CPU':<22}" + "".join(f"{s['idle']['cpu_percent']:>12.1f} %" for s in sizes))
    lines.append(f"{'RSS':<22}" + "".join(f"{s['rss_mb']:>11.0f} MB" for s in sizes))
    lines.append(f"{'longest stall':<22}" + "".join(
        f"{max(s[op]['stall_ms'] for op in s if isinstance(s[op], dict) and 'stall_ms' in s[op]):>11.1f} ms"
        for s in sizes))
    lines.append(f"RSS per conversation: {result['rss_kb_per_interaction']:.1f} KB; "
                 f"answers other than 200: {result['error_count']}")
    lines += [f"{'pass' if ok else 'FAIL'}  {name}" for name, ok in result["checks"].items()]
    return lines


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be whole numbers, comma-separated (got {text!r})") from None
    if len(sizes) < 2 or sizes != sorted(set(sizes)) or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"must be two or more rising sizes, at least 1 (got {text!r})")
    return sizes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench scale", description=summary(__doc__))
    p.add_argument("--sizes", type=_sizes, default=list(SIZES),
                   help="open conversations to measure at, rising (100,10000,50000)")
    p.add_argument("--mos", type=positive_int, default=200, help="MOs through the proxy at each size (200)")
    p.add_argument("--sends", type=positive_int, default=100, help="agent sends at each size (100)")
    p.add_argument("--drs", type=positive_int, default=100, help="delivery receipts at each size (100)")
    p.add_argument("--pages", type=positive_int, default=20, help="interaction pages at each size (20)")
    p.add_argument("--idle-seconds", type=positive_float, default=2.0,
                   help="seconds of idle CPU measured (2)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met, 1 otherwise, 2 for bad arguments."""
    args = _parser().parse_args(argv)
    counts: dict[str, float] = {"mos": args.mos, "sends": args.sends, "drs": args.drs, "pages": args.pages}
    result = asyncio.run(run(args.sizes, {**counts, "idle_seconds": args.idle_seconds}))
    print(json.dumps(result, indent=2) if args.json else "\n".join(report(result)))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
