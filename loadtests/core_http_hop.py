"""``smslab bench core --http``: what the HTTP hop to a served core costs a CIC node, in one run.

Two nodes with the same configuration take the same MOs over their real SMS listener (a broker's push:
parse, core, SQLite store, 200): one with the reference core in process, one with ``core: {url}`` pointing
at the reference core served by ``smslab serve core`` in a child process on loopback. Each MO is one
conversation's turn (customers take turns, so half start an interaction and half continue one). The two
alternate in rounds so a noisy neighbour hurts both alike; the table gives MOs per second for each, the
ratio, and the time the hop adds to each MO.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from sim.cic.node import CicNode
from sim.cic.settings import NodeSettings
from sim.core.validation import load_cic_config

__all__ = ["run_http"]

LOCAL = "8005550100"
ROUNDS = 3
CONCURRENCY = 8


def _config(core: Any) -> Any:
    return load_cic_config({
        "sms": {"default_route": {"destination": "Chat"}},
        "brokers": [{"name": "kaleyra", "type": "kaleyra",
                     "accounts": [{"id": "main", "local_address": LOCAL, "login": "u", "password": "p"}],
                     "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo"},
                     "mt": {"gateway": "http://127.0.0.1:9"}}],
        "core": core})


@contextmanager
def served_core() -> Iterator[str]:
    """``smslab serve core`` in a child process; its URL. Ended by its own handle on exit."""
    with subprocess.Popen([sys.executable, "-m", "scenarios.cli.main", "serve", "core"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            assert proc.stdout is not None
            yield str(json.loads(proc.stdout.readline())["url"])
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


async def _push(session: aiohttp.ClientSession, url: str, start: int, count: int) -> float:
    """Push ``count`` MOs (numbered from ``start``) to ``url``, CONCURRENCY at a time; seconds taken."""
    numbers = iter(range(start, start + count))

    async def worker() -> None:
        for n in numbers:
            customer = f"1317{n // 2 % 10_000_000:07d}"  # two turns per customer
            form = {"device_address": customer, "inbound_address": LOCAL, "message": f"turn {n}",
                    "message_id": f"m-{n}"}
            async with session.post(url, data=form) as response:
                if response.status != 200:
                    raise RuntimeError(f"MO {n} answered HTTP {response.status}: {await response.text()}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - began


async def _measure(messages: int, url: str) -> tuple[float, float]:
    local = CicNode(_config("reference"), NodeSettings(name="in-process"))
    remote = CicNode(_config({"url": url, "timeout": 10}), NodeSettings(name="served"))
    await local.start()
    await remote.start()
    best = {"local": 0.0, "remote": 0.0}
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(ROUNDS):
                for name, node in (("local", local), ("remote", remote)):
                    took = await _push(session, node.sms_urls["kaleyra"], n * messages, messages)
                    best[name] = max(best[name], messages / took)
    finally:
        await local.stop()
        await remote.stop()
    return best["local"], best["remote"]


def run_http(messages: int) -> int:
    """Measure and print the table; 0 (the hop has no target: the ratio is the finding)."""
    with served_core() as url:
        local, remote = asyncio.run(_measure(messages, url))
    print(f"smslab bench core --http: {messages} MOs per round, {ROUNDS} rounds, {CONCURRENCY} at a time, "
          "best round each")
    print(f"{'':<28}{'MO/s':>10}{'ms/MO':>9}  (ms/MO: 1/throughput)")
    print(f"{'node, core in process':<28}{local:>10,.0f}{1000 / local:>9.2f}")
    print(f"{'node, core served (HTTP)':<28}{remote:>10,.0f}{1000 / remote:>9.2f}")
    added = 1000 / remote - 1000 / local
    print(f"ratio served/in-process {remote / local:.2f}x; the hop adds {added:.2f} ms of node time per MO "
          f"(1/throughput, {CONCURRENCY} at a time)")
    return 0
