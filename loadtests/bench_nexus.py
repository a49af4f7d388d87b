"""``smslab bench nexus``: Digital Channels' MO ingest and Async webhook delivery, each beside a baseline.

Theory of operation. Everything runs on this machine, in this process and event loop (the client too, so
both sides of each ratio pay the same loop):

* **MO ingest**: ``--concurrency`` keep-alive workers POST Genesys Cloud MO webhooks
  (``/nexus/v3/sms/message``, Basic ccid:GMA key, a fresh handset per MO, so each makes a new stored chat
  interaction) to a real Nexus for
  ``--seconds``, then the same JSON to a bare aiohttp handler that only decodes it and appends it to a list;
  ``--rounds`` times, alternating, so drift on a shared machine falls on both. The ratio is the median Nexus
  rate over the median bare rate. Every 2xx must be a stored interaction, or the bench fails.
* **Async webhook delivery**: agent replies are offered at ``--mt-rate`` per second (open loop) and Nexus
  sends each through the ``Async`` provider (signed JSON, a trace id, the section's static header) to a bare
  aiohttp receiver answering ``{"messageId"}``; then the same MTs are posted straight to that receiver on
  the same schedule. The ratio is Nexus's delivery rate over the straight posts': whether Nexus keeps up
  with the MT rate. Every reply must be delivered.

Targets (issue 14 §6): MO ingest at least 0.5 of the bare handler; webhook delivery at least 0.9 of the MT
rate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from sim.cliargs import positive_float, positive_int, summary
from sim.nexus.server import NexusServer
from sim.nexus.settings import parse_nexus

__all__ = ["main"]

CCID = "45acae06-6b7c-4f97-9c76-471cb5c21bf7"
GMA = "bench-gma-key"
TARGETS = {"mo_ingest": 0.5, "webhook_delivery": 0.9}
CHANNEL = "16504661149"


def _settings(hook_url: str) -> Any:
    section = {"channelId": "18445551212", "endpoint": "chat.Bench", "provider": "Portico"}
    async_section = {"channelId": CHANNEL, "endpoint": "chat.Async", "provider": "Async",
                     "header:x-bench": "1"}
    return parse_nexus({
        "api_keys": [{"key": GMA, "tenant": "*", "name": "bench", "permissions": ["nexus:cluster:*"]}],
        "services": {"Async": {
            "data": {"channels": [{"channelId": CHANNEL, "webhook": {"url": hook_url}}]},
            "secret": {"channels": [{"channelId": CHANNEL, "webhook": {"secret": "wh"},
                                     "api": {"secret": "a"}}]}}},
        "senders": {"chat.Bench": section, "chat.Async": async_section},
        "interactions_limit": 10_000_000, "webhook": {"retries": []}})


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _drive(session: aiohttp.ClientSession, url: str, headers: dict[str, str], *, seconds: float,
                 concurrency: int, counter: itertools.count[int]) -> tuple[int, float]:
    """POST MOs from ``concurrency`` workers for ``seconds``; (2xx answers, elapsed)."""
    ok = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal ok
        while time.perf_counter() < deadline:
            n = next(counter)
            body = json.dumps({"messageId": f"m{n}", "sender": f"+1312{n:07d}", "destination": "+18445551212",
                               "message": "bench"})
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                ok += 200 <= resp.status < 300

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, time.perf_counter() - began


async def mo_ingest(seconds: float, concurrency: int, rounds: int) -> dict[str, Any]:
    """Nexus's MO webhook beside a bare JSON handler; each round's rates, the ratio, and the check."""
    kept: list[Any] = []

    async def bare(request: web.Request) -> web.Response:
        kept.append(json.loads(await request.read()))
        return web.json_response({"status": {"code": 0, "message": "OK"}})

    app = web.Application()
    app.router.add_post("/nexus/v3/sms/message", bare)
    bare_runner, bare_url = await _serve(app)
    server = NexusServer(_settings("http://127.0.0.1:9/unused"))
    nexus_url = await server.start()
    basic = "Basic " + base64.b64encode(f"{CCID}:{GMA}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": basic}
    counter = itertools.count()
    rates: dict[str, list[float]] = {"nexus": [], "bare": []}
    answered = 0
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            for _ in range(rounds):
                ok, took = await _drive(session, f"{nexus_url}/nexus/v3/sms/message", headers,
                                        seconds=seconds, concurrency=concurrency, counter=counter)
                answered += ok
                rates["nexus"].append(ok / took)
                ok, took = await _drive(session, f"{bare_url}/nexus/v3/sms/message", headers,
                                        seconds=seconds, concurrency=concurrency, counter=counter)
                rates["bare"].append(ok / took)
        stored = sum(len(i["messages"]) for i in server.model.interactions.listing())
    finally:
        await server.stop()
        await bare_runner.cleanup()
    nexus, base = statistics.median(rates["nexus"]), statistics.median(rates["bare"])
    return {"nexus_per_s": round(nexus), "bare_per_s": round(base), "ratio": round(nexus / base, 3),
            "answered_2xx": answered, "stored": stored}


async def _offered(rate: float, count: int, fire: Callable[[int], Awaitable[None]]) -> float:
    """Start ``fire(i)`` at ``rate`` per second (open loop), ``count`` times; the rate they finished at."""
    began = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(i)))
    await asyncio.gather(*tasks)
    return count / (time.perf_counter() - began)


async def webhook_delivery(messages: int, rate: float) -> dict[str, Any]:
    """Agent replies offered at ``rate`` through the Async webhook, beside the same MTs posted straight."""
    received = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.json_response({"messageId": f"g{received}"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, hook_url = await _serve(app)
    server = NexusServer(_settings(f"{hook_url}/hook"))
    await server.start()
    try:
        model, sender = server.model, server.sender
        assert sender is not None
        section = model.senders.get("chat.Async")
        chats = [model.interactions.inbound(section, f"+1312{n:07d}", "hi", "", 0.0).id
                 for n in range(messages)]

        async def reply(i: int) -> None:
            _, out = model.reply(chats[i], "reply", 0.0)
            await sender.send(out)

        nexus = await _offered(rate, messages, reply)
        delivered = sum(1 for a in sender.attempts if a.outcome == "accepted")
        body = json.dumps({"messages": [{"messageId": "x", "channelId": CHANNEL, "text": "reply"}]})
        async with aiohttp.ClientSession() as session:

            async def straight(i: int) -> None:
                async with session.post(f"{hook_url}/hook", data=body,
                                        headers={"Content-Type": "application/json"}) as resp:
                    await resp.read()

            base = await _offered(rate, messages, straight)
    finally:
        await server.stop()
        await runner.cleanup()
    return {"offered_per_s": rate, "nexus_per_s": round(nexus), "mt_rate_per_s": round(base),
            "ratio": round(nexus / base, 3), "delivered": delivered, "sent": messages}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench nexus", description=summary(__doc__))
    p.add_argument("--seconds", type=positive_float, default=2.0, help="each MO ingest round (default 2)")
    p.add_argument("--rounds", type=positive_int, default=3, help="MO ingest rounds per path (default 3)")
    p.add_argument("--concurrency", type=positive_int, default=16, help="concurrent requests (default 16)")
    p.add_argument("--messages", type=positive_int, default=2000, help="webhook deliveries (default 2000)")
    p.add_argument("--mt-rate", type=positive_float, default=1000.0,
                   help="agent replies offered per second (default 1000)")
    return p


def report(mo: dict[str, Any], hook: dict[str, Any]) -> tuple[list[str], bool]:
    """The lines printed and whether every target (and the no-loss checks) was met."""
    checks = {"mo_ingest": mo["ratio"] >= TARGETS["mo_ingest"] and mo["stored"] >= mo["answered_2xx"],
              "webhook_delivery": hook["ratio"] >= TARGETS["webhook_delivery"] and
              hook["delivered"] == hook["sent"]}
    lines = [json.dumps({"bench": "mo_ingest", **mo, "target": TARGETS["mo_ingest"],
                         "passed": checks["mo_ingest"]}),
             json.dumps({"bench": "webhook_delivery", **hook, "target": TARGETS["webhook_delivery"],
                         "passed": checks["webhook_delivery"]})]
    return lines, all(checks.values())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met, 1 otherwise."""
    args = _parser().parse_args(argv)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        print("smslab bench nexus: [1/2] MO ingest, Nexus beside a bare handler", file=sys.stderr)
        mo = await mo_ingest(args.seconds, args.concurrency, args.rounds)
        print("smslab bench nexus: [2/2] Async webhook delivery beside the MT rate", file=sys.stderr)
        return mo, await webhook_delivery(args.messages, args.mt_rate)

    mo, hook = asyncio.run(run())
    lines, passed = report(mo, hook)
    print("\n".join(lines))
    return 0 if passed else 1



if __name__ == "__main__":
    raise SystemExit(main())
