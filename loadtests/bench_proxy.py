"""``smslab bench proxy``: MOs through the proxy to the active node, beside the same MOs straight to the node.

Theory of operation. Two CIC nodes run in their own processes (``smslab serve cic``), the primary active and
the backup answering as a backup does; the simulated ARR proxy runs in a third (``smslab serve proxy``) with
both nodes in its farm, and HAProxy, where it is installed, in a fourth with the equivalent configuration
(``sim.proxy.haproxy``). This process is the broker: it POSTs Kaleyra MO pushes (Acoustic's fields, a
fresh ``message_id`` and handset per MO, so every MO makes one new interaction and the per-MO cost stays flat)
from ``--concurrency`` keep-alive connections for ``--seconds`` at each path in turn, ``--rounds`` times, so
drift on a shared machine falls on every path alike. Each path's rate is the median of its rounds, and each
ratio is path rate / direct rate, from the same run.

Every MO answered 2xx must be stored: the bench reads the active node's interactions at the end and fails
when their inbound messages are fewer than the 2xx answers (a fast path that loses MOs is not fast).

Targets (issue "A simulated CIC primary/backup pair ...", §8): through the simulated proxy at least 0.5 of
the direct rate; through HAProxy at least 0.9.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from loadtests import kaleyra_push as push
from loadtests.progress import Steps
from sim.cic.control import fetch_interactions
from sim.cic.paging import MAX_LIMIT
from sim.cic.process import NodeProcess
from sim.cliargs import positive_float, positive_int, summary
from sim.http1.client import Http1Pool
from sim.labfile import parse_lab_config
from sim.proxy.config import ProxyConfig, plan_farms
from sim.proxy.haproxy import HaproxyFarm, HaproxyProcess, haproxy_config, worker_ports

__all__ = ["LAB", "lean_load", "main"]

INCOMING_PORT = 8080
MO_PATH = "/kaleyra/mo"
LOCAL = push.LOCAL
TARGETS = {"proxy": 0.5, "haproxy": 0.9}

LAB: dict[str, Any] = {
    "sms": {"default_route": {"destination": "Queue", "name": "SMS General"}},
    "brokers": [{
        "name": "kaleyra", "type": "kaleyra",
        "accounts": [{"id": "main", "local_address": LOCAL, "login": "smslab", "password": "secret"}],
        "mo": {"incoming_port": INCOMING_PORT, "incoming_path": MO_PATH,
               "delivery_receipt_url": "/kaleyra/dr"},
        "mt": {"gateway": "http://127.0.0.1:9"},
    }],
    "server_parameters": {"SMS Interaction Recovery Enabled": 1},
    "proxy": {"health": {"interval": 1, "timeout": 2, "response_match": "OK"}},
    "cic": {"nodes": {"primary": {}, "backup": {}}},
}
"""The bench's lab: one Kaleyra broker, a Queue default route, the pair with recovery on."""


async def lean_load(url: str, seconds: float, concurrency: int, body: Callable[[], bytes],
                    headers: dict[str, str]) -> tuple[int, int]:
    """POST ``body()`` to ``url`` from ``concurrency`` keep-alive connections for ``seconds``; (2xx, other
    answers). ``smslab bench load`` measures Locust beside this same generator.

    The generator is smslab's lean callback client (``sim.http1.client``), not aiohttp's: on two cores a
    heavier client becomes the ceiling of the direct path, and every path then measures the client.
    """
    loop = asyncio.get_running_loop()
    pool = Http1Pool()
    deadline = time.perf_counter() + seconds
    counts = {"ok": 0, "failed": 0}
    finished = loop.create_future()
    running = concurrency

    def fire() -> None:
        pool.send("POST", url, headers, body(), timeout=30.0, done=answered)

    def answered(status: int | None, _body: bytes, _error: BaseException | None) -> None:
        nonlocal running
        counts["ok" if status is not None and 200 <= status < 300 else "failed"] += 1
        if time.perf_counter() < deadline:
            fire()
            return
        running -= 1
        if running == 0 and not finished.done():
            finished.set_result(None)

    for _ in range(concurrency):
        fire()
    try:
        await finished
    finally:
        await pool.close()
    return counts["ok"], counts["failed"]


async def _load(url: str, seconds: float, concurrency: int, serial: Callable[[], int]) -> tuple[int, int]:
    """MOs from the Kaleyra fake's account, each with its own serial, through ``lean_load``."""

    def body() -> bytes:
        n = serial()
        return push.mo(push.handset(n), f"bench-{n}", "bench")

    return await lean_load(url, seconds, concurrency, body, dict(push.FORM))


async def _stored_inbound(control_url: str) -> int:
    """How many inbound messages the node holds in its interactions (every page of them)."""
    async with aiohttp.ClientSession() as session:
        interactions = await fetch_interactions(session, control_url, limit=str(MAX_LIMIT))
    return sum(1 for i in interactions for e in i["transcript"] if e["direction"] == "in")


async def _start_proxy(config: Path, members: list[str]) -> tuple[asyncio.subprocess.Process, str]:
    argv = [sys.executable, "-m", "sim.proxy.serve", "--config", str(config)]
    for member in members:
        argv += ["--member", member]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stdin=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if not line:
        await proc.wait()
        raise RuntimeError(f"smslab serve proxy exited with {proc.returncode} before it was ready")
    return proc, str(json.loads(line)["url"])


async def _start_haproxy(members: list[str]) -> tuple[HaproxyProcess, str]:
    (port,) = worker_ports(1)
    cic = parse_lab_config({k: v for k, v in LAB.items() if k not in ("proxy", "cic")}).cic
    plan = plan_farms(cic, ProxyConfig())[0]
    health = LAB["proxy"]["health"]
    test = replace(plan.health, interval=health["interval"], timeout=health["timeout"],
                   response_match=health["response_match"])
    farm = HaproxyFarm(str(INCOMING_PORT), f"127.0.0.1:{port}", members, test, plan.rules)
    haproxy = HaproxyProcess()
    text = haproxy_config([farm], timeout=30.0, stats_socket=haproxy.stats_socket)
    # One thread: on a 2-core machine HAProxy's default of one thread per core competes with the node and
    # the load generator for the same cores, which measures the machine rather than the proxy.
    text = text.replace("global\n", "global\n    nbthread 1\n", 1)
    await haproxy.start(text, [port])
    return haproxy, f"http://127.0.0.1:{port}"


async def _wait_healthy(url: str, timeout: float = 15.0) -> None:
    """Until a probe-like request through ``url`` reaches the active node."""
    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            try:
                async with session.get(f"{url}{MO_PATH}?healthcheckignore=1") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not reach the active node within {timeout:g} s")


async def run(seconds: float, concurrency: int, rounds: int, use_haproxy: bool,
              steps: Steps | None = None) -> dict[str, Any]:
    """Start the pair, the proxy (and HAProxy), measure every path; returns rates, ratios and checks."""
    counter = itertools.count(1)
    steps = steps or Steps("smslab bench proxy", 1 + rounds * (3 if use_haproxy else 2))
    with tempfile.TemporaryDirectory(prefix="smslab-bench-proxy-") as tmp:
        config = Path(tmp, "lab.yaml")
        config.write_text(yaml.safe_dump(LAB), encoding="utf-8")
        primary, backup = NodeProcess("primary", config), NodeProcess("backup", config)
        proxy_proc: asyncio.subprocess.Process | None = None
        haproxy: HaproxyProcess | None = None
        try:
            steps.step("starting the CIC pair and the proxy" + (" and HAProxy" if use_haproxy else ""))
            await asyncio.gather(primary.start(), backup.start())
            members = [f"127.0.0.1:{n.bound_ports[INCOMING_PORT]}" for n in (primary, backup)]
            paths = {"direct": f"http://{members[0]}"}
            proxy_proc, paths["proxy"] = await _start_proxy(config, members)
            if use_haproxy:
                haproxy, paths["haproxy"] = await _start_haproxy(members)
            for url in paths.values():
                await _wait_healthy(url)
            rates: dict[str, list[float]] = {name: [] for name in paths}
            answered = refused = 0
            for round_no in range(1, rounds + 1):
                for name, url in paths.items():
                    steps.step(f"round {round_no} of {rounds}: {name}, {seconds:g} s")
                    ok, failed = await _load(f"{url}{MO_PATH}", seconds, concurrency, lambda: next(counter))
                    rates[name].append(ok / seconds)
                    answered, refused = answered + ok, refused + failed
            stored = await _stored_inbound(primary.control_url)
        finally:
            if haproxy is not None:
                await haproxy.stop()
            if proxy_proc is not None and proxy_proc.returncode is None:
                proxy_proc.terminate()
                await proxy_proc.wait()
            await asyncio.gather(primary.terminate(), backup.terminate())
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {"rates": rates, "median": median,
            "ratios": {name: median[name] / median["direct"] for name in median if name != "direct"},
            "answered_2xx": answered, "other_answers": refused, "stored_inbound": stored}


def _report(result: dict[str, Any], haproxy_missing: bool) -> tuple[list[str], bool]:
    lines = [f"{'path':<10} {'MO/s (median)':>14} {'ratio':>7} {'target':>7}  verdict"]
    passed = True
    direct = result["median"]["direct"]
    lines.append(f"{'direct':<10} {direct:>14.0f} {1.0:>7.2f} {'':>7}  (baseline)")
    for name, ratio in result["ratios"].items():
        ok = ratio >= TARGETS[name]
        passed &= ok
        lines.append(f"{name:<10} {result['median'][name]:>14.0f} {ratio:>7.2f} {TARGETS[name]:>7.2f}  "
                     f"{'pass' if ok else 'FAIL'}")
    if haproxy_missing:
        lines.append("haproxy    not installed: its path was not measured")
    lost = result["answered_2xx"] - result["stored_inbound"]
    lines.append(f"MOs answered 2xx: {result['answered_2xx']}, stored: {result['stored_inbound']}, "
                 f"other answers: {result['other_answers']}" + (f"  LOST {lost}" if lost > 0 else ""))
    return lines, passed and lost <= 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench proxy", description=summary(__doc__))
    p.add_argument("--seconds", type=positive_float, default=4.0,
                   help="seconds of load per path per round (4)")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds over every path (3)")
    p.add_argument("--concurrency", type=positive_int, default=32, help="keep-alive connections (32)")
    p.add_argument("--no-haproxy", action="store_true", help="skip HAProxy even where it is installed")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met and nothing was lost, 1 otherwise."""
    args = _parser().parse_args(argv)
    use_haproxy = not args.no_haproxy and shutil.which("haproxy") is not None
    result = asyncio.run(run(args.seconds, args.concurrency, args.rounds, use_haproxy))
    lines, passed = _report(result, not use_haproxy and not args.no_haproxy)
    if args.json:
        print(json.dumps({**result, "passed": passed}, indent=2))
    else:
        print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
