"""``smslab bench fakes``: the fake Kaleyra's MT ingest beside a bare aiohttp handler, DLR keep-up, memory.

Three measurements, printed side by side, exit 1 when a target is missed:

1. **MT ingest.** The servers (the fake Kaleyra and a bare aiohttp handler that reads the same form and
   answers a fixed XML document) run in their own process; the load generator runs in this one, so it
   never shares the servers' event loop. Same machine, same generator, same run, taking turns in short
   slices; the ratio is the median of the per-round ratios. Target: fake >= 0.7 x bare. (A third server,
   the fake with DLRs off, is shown for information.)
2. **DLR keep-up.** During the fake's run every MT gets a DLR at once (delay 0), pushed to a sink in a
   third process. Target: DLRs received in the window >= 0.9 x MTs accepted in it.
3. **Memory.** A fresh process drives ``--mts`` MTs through the fake's model, capture and DLR code below the
   socket layer (``KaleyraFake.submit``) and reads its RSS after a tenth and after all of them.
   Target: RSS at the end <= 1.2 x RSS after the first tenth (the capture and the queues are bounded).

4. **The carrier model.** The fake with the carrier model behind it beside the same fake with fixed delays
   (issue 12's target: at least 0.9x), each alone in a process of its own, loaded in the same turns, so
   neither pays for the other's objects, or the other servers', in the garbage collector.

Read the ingest ratios with the "server CPU per MT" rows beside them (information, not targets): they
give each server's CPU time per MT, measured on its process during its own slices. The rate
ratio is end to end, through one aiohttp client; where that client is busy a whole core while loading
the bare handler (the footer says how busy), the bare rate is the generator's ceiling, not the handler's,
and the rate ratio comes out above the cost ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from multidict import MultiDict

from fakes.kaleyra import HTTP_API_PATH, KaleyraFake, read_settings
from fakes.kaleyra.xml import render_response
from loadtests.progress import Steps
from sim.cliargs import positive_float, positive_int, summary

__all__ = ["TARGETS", "cpu_seconds", "main", "round_ratio"]

#: Targets of issue 3 ("smslab bench fakes").
TARGETS = {"ingest_ratio": 0.7, "dlr_ratio": 0.9, "memory_ratio": 1.2, "carrier_ratio": 0.9}
#: The carrier model behind the same fake: one uncapped carrier for every number, DLRs at once, so the
#: slice costs what the model adds to each MT (issue 12 §5), not a different amount of DLR work.
CARRIERS = [{"name": "all", "match": ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
             "rates": {"short_code": 1e9, "long_code": 1e9, "toll_free": 1e9, "alphanumeric": 1e9},
             "latency": {"seconds": 0}, "dlr_latency": {"seconds": 0}}]
_AUTH = {"Authorization": "Basic " + base64.b64encode(b"smslab:smslab").decode()}
_FORM = {"reply_to": "55555", "recipient": "+16505550001", "body": "Your table is ready",
         "reporting_key1": "k"}
#: Rounds of the ingest run: each server loaded this many times, in turns.
ROUNDS = 10
# Children import the same tree as this process, wherever the command is run from.
_ROOT = Path(__file__).resolve().parents[1]


def _rss_bytes() -> int:
    """Resident set size now (Linux /proc; the peak from getrusage elsewhere)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * resource.getpagesize()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- roles run in child processes ------------------------------------------------------------------------

async def _serve_servers(dr_url: str) -> None:
    fake = KaleyraFake("bench", read_settings({"dr_url": dr_url, "dlr": {"delay": {"seconds": 0}},
                                               "push": {"max_pending": 100_000, "concurrency": 64}}))
    fake_url = await fake.start()
    quiet = KaleyraFake("bench-no-dlr", read_settings({"dlr": {"enabled": False}}))
    quiet_url = await quiet.start()
    fixed = render_response("100", "Message(s) accepted", [("+16505550001", "0" * 36)])

    async def bare(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(body=fixed, content_type="text/xml", charset="utf-8")

    app = web.Application()
    app.router.add_post(HTTP_API_PATH, bare)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    bare_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(json.dumps({"fake": fake_url, "bare": bare_url, "quiet": quiet_url}), flush=True)
    await asyncio.Event().wait()  # until the parent terminates this process


async def _serve_alone(kind: str, dr_url: str) -> None:
    """One fake Kaleyra alone in this process, with fixed DLR delays or the carrier model behind it: the two
    sides of the carrier row each have a process and a heap of their own, so neither pays for the other's
    (or the other servers') objects in the garbage collector."""
    model = {"carriers": CARRIERS} if kind == "carrier" else {"dlr": {"delay": {"seconds": 0}}}
    fake = KaleyraFake(f"bench-{kind}", read_settings({
        "dr_url": dr_url, **model, "push": {"max_pending": 100_000, "concurrency": 64}}))
    print(json.dumps({"url": await fake.start()}), flush=True)
    await asyncio.Event().wait()  # until the parent terminates this process


class _Sink(asyncio.Protocol):
    """A minimal HTTP/1.1 receiver: counts POSTs, answers ``GET /count``; as cheap as possible so the
    DLR sink takes little CPU from the fake it measures (it is test equipment, not the subject)."""

    count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15:].split(b"\r\n", 1)[0]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            if head.startswith(b"get /count"):
                body = json.dumps({"count": _Sink.count}).encode()
            else:
                _Sink.count += 1
                body = b""
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


async def _serve_sink() -> None:
    server = await asyncio.get_running_loop().create_server(_Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    await asyncio.Event().wait()


async def _memory(mts: int) -> dict[str, Any]:
    fake = KaleyraFake("bench", read_settings({"dlr": {"delay": {"seconds": 0}}}))
    fake.scheduler.start()
    params = MultiDict(_FORM)
    checkpoint, rss_tenth = max(1, mts // 10), 0
    started = time.perf_counter()
    for i in range(1, mts + 1):
        fake.submit(params)
        if i % 1000 == 0:
            await asyncio.sleep(0)  # let the one DLR task drain the heap, as the server loop would
        if i == checkpoint:
            gc.collect()
            rss_tenth = _rss_bytes()
    await asyncio.sleep(0)
    gc.collect()
    rss_end = _rss_bytes()
    await fake.scheduler.stop()
    return {"mts": mts, "checkpoint": checkpoint, "rss_checkpoint": rss_tenth, "rss_end": rss_end,
            "seconds": time.perf_counter() - started, "captured": fake.capture.stats(),
            "dlr": fake.scheduler.stats()}


# -- the load generator (this process) --------------------------------------------------------------------

def _spawn(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "loadtests.bench_fakes", *args], stdout=subprocess.PIPE,
                            text=True,
                            cwd=_ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        raise RuntimeError(f"bench child {args} exited before reporting its address")
    return proc, json.loads(line)


async def _load(url: str, seconds: float, concurrency: int) -> int:
    """POST MTs from ``concurrency`` workers for ``seconds``; the number answered 200 with code 100."""
    ok = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal ok
            while time.perf_counter() < deadline:
                async with session.post(url + HTTP_API_PATH, data=_FORM, headers=_AUTH) as resp:
                    if resp.status == 200 and b"<code>100</code>" in await resp.read():
                        ok += 1
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


async def _count(session: aiohttp.ClientSession, sink: str) -> int:
    async with session.get(sink + "/count") as resp:
        return int(json.loads(await resp.read())["count"])


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of child ``pid`` (Linux /proc; 0.0 elsewhere)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _ingest(urls: dict[str, str], sink: str, seconds: float, concurrency: int, *, pids: dict[str, int],
                  rounds: int = ROUNDS, steps: Steps | None = None) -> dict[str, float]:
    # The servers take turns in short slices (bare, fake, fake without DLRs; ``rounds`` times), so a
    # change in background load during the run hits all three alike instead of biasing one of them; the
    # ratios are the median of the per-round ratios, so one slice disturbed by a neighbour on a shared
    # machine does not decide the verdict. The CPU time of the servers' process is read around each
    # slice: only one server is loaded at a time, so it is that server's cost per MT, whatever the load
    # generator can offer.
    names = ("bare", "fake", "quiet", "fixed", "carrier")
    for name in names:
        if steps is not None:
            steps.step(f"warm-up: {name}")
        await _load(urls[name], min(1.0, seconds), concurrency)  # warm up connections and code paths
    counts: dict[str, list[int]] = {name: [] for name in names}
    cpu = dict.fromkeys(names, 0.0)
    bare_generator = 0.0
    dlrs = 0
    part = seconds / rounds
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(0.5)
        for round_no in range(1, rounds + 1):
            for name in names:
                if steps is not None:
                    steps.step(f"round {round_no} of {rounds}: {name}")
                before = await _count(session, sink) if name == "fake" else 0
                server_cpu, own_cpu = cpu_seconds(pids[name]), cpu_seconds()
                counts[name].append(await _load(urls[name], part, concurrency))
                cpu[name] += cpu_seconds(pids[name]) - server_cpu
                if name == "bare":
                    bare_generator += cpu_seconds() - own_cpu
                if name == "fake":
                    dlrs += await _count(session, sink) - before
    total = {name: sum(counts[name]) for name in names}
    out = {f"{name}_rate": total[name] / seconds for name in names}
    out.update({f"{name}_cpu_us": 1e6 * cpu[name] / max(total[name], 1) for name in names})
    for name in ("fake", "quiet"):
        out[f"{name}_ratio"] = round_ratio(counts[name], counts["bare"])
    out["carrier_ratio"] = round_ratio(counts["carrier"], counts["fixed"])
    return {**out, "mts": total["fake"], "dlrs": dlrs, "dlr_rate": dlrs / seconds,
            "generator_busy": bare_generator / seconds, "rounds": rounds}


def round_ratio(counts: list[int], baseline: list[int]) -> float:
    """The median over rounds of ``counts[i] / baseline[i]`` (MTs answered in the same round's slices)."""
    return statistics.median(n / max(b, 1) for n, b in zip(counts, baseline, strict=True))


def _table(ingest: dict[str, float], memory: dict[str, Any]) -> tuple[list[str], bool]:
    rows = [
        ("MT ingest (MT/s)", f"{ingest['fake_rate']:.0f}", f"{ingest['bare_rate']:.0f}",
         ingest["fake_ratio"], ">=", TARGETS["ingest_ratio"]),
        ("DLR rate vs MT rate (/s)", f"{ingest['dlr_rate']:.0f}", f"{ingest['fake_rate']:.0f}",
         ingest["dlrs"] / max(ingest["mts"], 1), ">=", TARGETS["dlr_ratio"]),
        (f"RSS after {memory['mts']} vs {memory['checkpoint']} MTs (MiB)", f"{memory['rss_end'] / 2**20:.1f}",
         f"{memory['rss_checkpoint'] / 2**20:.1f}", memory["rss_end"] / max(memory["rss_checkpoint"], 1),
         "<=", TARGETS["memory_ratio"]),
    ]
    if "carrier_rate" in ingest:
        rows.append(("MT ingest, carrier model vs fixed DLRs", f"{ingest['carrier_rate']:.0f}",
                     f"{ingest['fixed_rate']:.0f}", ingest["carrier_ratio"], ">=", TARGETS["carrier_ratio"]))
    quiet = ingest["quiet_ratio"]
    lines = [f"{'metric':<44}{'fake':>10}{'baseline':>10}{'ratio':>8}  {'target':<8}result"]
    passed = True
    for label, value, base, ratio, op, target in rows:
        ok = ratio >= target if op == ">=" else ratio <= target
        passed = passed and ok
        lines.append(f"{label:<44}{value:>10}{base:>10}{ratio:>8.2f}  {op + ' ' + str(target):<8}"
                     f"{'PASS' if ok else 'MISS'}")
    lines.append(f"{'MT ingest, DLRs off (MT/s, not a target)':<44}{ingest['quiet_rate']:>10.0f}"
                 f"{ingest['bare_rate']:>10.0f}{quiet:>8.2f}  {'':<8}info")
    if ingest.get("bare_cpu_us"):
        # Cost, not rate: bare / fake, so 1.0 would be "as cheap as the bare handler" (not a target).
        bare_cpu = ingest["bare_cpu_us"]
        for label, key in (("server CPU per MT (us), DLRs on", "fake_cpu_us"),
                           ("server CPU per MT (us), DLRs off", "quiet_cpu_us")):
            lines.append(f"{label:<44}{ingest[key]:>10.0f}{bare_cpu:>10.0f}"
                         f"{bare_cpu / max(ingest[key], 1e-9):>8.2f}  {'':<8}info")
    if ingest.get("carrier_cpu_us") and ingest.get("fixed_cpu_us"):
        # What the carrier model adds to an MT's cost, beside the same fake with fixed delays (fixed /
        # carrier, as above): the carrier row's rate ratio, without the load generator's ceiling.
        fixed, carrier = ingest["fixed_cpu_us"], ingest["carrier_cpu_us"]
        lines.append(f"{'server CPU per MT (us), carrier vs fixed':<44}{carrier:>10.0f}{fixed:>10.0f}"
                     f"{fixed / carrier:>8.2f}  {'':<8}info")
    return lines, passed


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench fakes", description=summary(__doc__))
    p.add_argument("--seconds", type=positive_float, default=10.0,
                   help="load duration per server (default 10)")
    p.add_argument("--mts", type=positive_int, default=1_000_000,
                   help="MTs in the memory run (default 1,000,000)")
    p.add_argument("--concurrency", type=positive_int, default=32, help="load workers (default 32)")
    p.add_argument("--role", choices=("servers", "sink", "memory", "fixed", "carrier"),
                   help=argparse.SUPPRESS)
    p.add_argument("--dr-url", default="", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met, 1 otherwise (2 for bad options)."""
    args = _parser().parse_args(argv)
    if args.role == "servers":
        asyncio.run(_serve_servers(args.dr_url))
    if args.role in ("fixed", "carrier"):
        asyncio.run(_serve_alone(args.role, args.dr_url))
    if args.role == "sink":
        asyncio.run(_serve_sink())
    if args.role == "memory":
        print(json.dumps(asyncio.run(_memory(args.mts))), flush=True)
        return 0
    if args.mts < 10:
        print("smslab bench fakes: --mts must be at least 10 (the memory run compares RSS at a tenth of it)",
              file=sys.stderr)
        return 2
    steps = Steps("smslab bench fakes", 2 + 5 + 5 * ROUNDS)  # start, warm-ups, slices, memory run
    steps.step("starting the fake, the bare handler and the DLR sink")
    sink_proc, sink = _spawn("--role", "sink")
    servers_proc, urls = _spawn("--role", "servers", "--dr-url", sink["url"] + "/dr")
    alone = {kind: _spawn("--role", kind, "--dr-url", sink["url"] + "/dr") for kind in ("fixed", "carrier")}
    urls.update({kind: info["url"] for kind, (_, info) in alone.items()})
    pids = {**dict.fromkeys(("bare", "fake", "quiet"), servers_proc.pid),
            **{kind: proc.pid for kind, (proc, _) in alone.items()}}
    try:
        ingest = asyncio.run(_ingest(urls, sink["url"], args.seconds, args.concurrency, pids=pids,
                                     steps=steps))
    finally:
        for proc in (servers_proc, *(proc for proc, _ in alone.values()), sink_proc):
            proc.terminate()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
    steps.step(f"memory: {args.mts:,} MTs into one fake")
    memory_cmd = [sys.executable, "-m", "loadtests.bench_fakes", "--role", "memory", "--mts", str(args.mts)]
    memory_run = subprocess.run(memory_cmd,
                                capture_output=True, text=True, check=True, cwd=_ROOT)
    memory = json.loads(memory_run.stdout)
    lines, passed = _table(ingest, memory)
    print("\n".join(lines))
    held, total = memory["captured"]["held"], memory["captured"]["total"]
    print(f"(load: {args.concurrency} workers x {args.seconds:g} s per server in {ingest['rounds']:.0f} "
          f"rounds, an ingest ratio being the median of the per-round ratios; the generator busy "
          f"{ingest['generator_busy']:.0%} of a core while loading the bare handler; memory run: "
          f"{memory['seconds']:.1f} s, {held} records held of {total} captured)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
