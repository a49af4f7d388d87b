"""Live and offline agree: one small what-if run through the live lab (a small time scale) and offline.

The carrier's latencies are fixed, so its only draws are the outcomes, one per MT in submit order: the same
seed and the same number of MTs give the same DLR states, live and offline, whatever the wall clock does.
The takeover and the gap are compared in the model's seconds (live wall seconds over the time scale).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from scenarios.lab.assembly import Lab
from scenarios.simulate.report import figures
from scenarios.simulate.whatif import read_whatif
from scenarios.simulate.world import simulate

SCALE = 0.1  # the fake's and the pair's time scale here: a loop's slack of 0.1 s is 1 s of the model
MTS, KILL_AT = 40, 10.0
WHATIF = {
    "lab": "default", "duration": 120,
    "fakes": {"kaleyra": {"seed": 21, "time_scale": SCALE}},  # the lab's own seed: both runs draw alike
    "cic": {"switchover": {"time_scale": SCALE}},
    "carriers": [{"name": "us", "match": ["+1"], "latency": {"distribution": "fixed", "seconds": 8},
                  "dlr_latency": {"distribution": "fixed", "seconds": 1},
                  "outcomes": [{"state": "delivered", "weight": 0.8}, {"state": "failed", "weight": 0.15},
                               {"state": "undeliverable", "weight": 0.05}]}],
    "traffic": {"campaigns": [{"name": "c", "count": MTS, "rate": 10, "to": {"country": "+1", "size": 40},
                               "classification": "National"}]},
    "events": [{"at": KILL_AT, "do": "kill", "node": "primary"}],
}
# The pair's timers in the model's seconds (the embedded lab's): ping every 1 s, one retry after 1 s,
# two failures, a 5 s takeover. A kill lands up to one ping interval before the ping that sees it.
DETECTION_AND_TAKEOVER = 1.0 * (2 - 1) + 5.0
PING_INTERVAL = 1.0
SLACK_MODEL_S = 5.0  # the live loop's scheduling slack on a loaded machine (0.5 s of wall time)


def _gap(attempts: list[dict[str, Any]]) -> float | None:
    """The gap as smslab failover measures it: first failed push to the first 2xx after it (wall s)."""
    ok = [a for a in attempts if a["status"] and 200 <= a["status"] < 300]
    failed = next((a for a in attempts if a not in ok), None)
    back = next((a for a in ok if failed is not None and a["at"] >= failed["at"]), None)
    return None if back is None or failed is None else back["at"] - failed["at"]


async def _live() -> dict[str, Any]:
    whatif = read_whatif(WHATIF, "agreement.yaml")
    async with Lab(whatif.lab.spec.config) as lab, aiohttp.ClientSession() as session:
        kaleyra = lab.backend.fakes["kaleyra"]
        began = asyncio.get_running_loop().time()
        for n in range(MTS):  # 10/s in the model: every 0.1 s x SCALE of wall time
            body = {"to": f"+1317555{n:04d}", "text": f"Your order {n} has shipped", "classification": "National"}
            async with session.post(f"{lab.url}/_smslab/send", json=body) as reply:
                assert reply.status == 202, await reply.text()
            await asyncio.sleep(max(0.0, began + (n + 1) * 0.1 * SCALE - asyncio.get_running_loop().time()))
        await asyncio.sleep(max(0.0, began + KILL_AT * SCALE - asyncio.get_running_loop().time()))
        async with session.post(f"{lab.url}/_smslab/nodes/primary/fail", json={"mode": "kill"}) as reply:
            assert reply.status == 200
        async with asyncio.timeout(60):
            while True:
                async with session.get(f"{lab.fake_urls['kaleyra']}/_smslab/pushes?kind=dlr") as reply:
                    attempts = await reply.json()
                if sum(1 for a in attempts if a["status"] and 200 <= a["status"] < 300) >= MTS:
                    break
                await asyncio.sleep(0.05)
        async with session.get(f"{lab.url}/_smslab/timeline") as reply:
            timeline = await reply.json()
        counts = kaleyra.carrier.network.stats.counts
        return {"counts": dict(counts), "attempts": attempts, "timeline": timeline}


def _takeover(timeline: Any) -> float:
    """Model seconds from the kill to the backup's promotion, on the pair's timeline."""
    entries = timeline.get("timeline", timeline) if isinstance(timeline, dict) else timeline
    fault = next(e["t"] for e in entries if e["event"] == "fault")
    promote = next(e["t"] for e in entries if e["event"] == "promote")
    return (promote - fault) / SCALE


async def test_live_and_offline_give_the_same_dlr_states_and_takeover() -> None:
    """Same seed: the same DLR state counts; the takeover within the ping interval of the timers, both ways."""
    offline = figures(simulate(read_whatif(WHATIF, "agreement.yaml")))
    live = await _live()
    states = ("delivered", "failed", "undeliverable")
    assert {s: live["counts"].get(s, 0) for s in states} == {s: int(offline[f"dlr.{s}"]) for s in states}
    assert offline["dlr.stored"] == MTS
    assert DETECTION_AND_TAKEOVER <= offline["takeover_s"] <= DETECTION_AND_TAKEOVER + PING_INTERVAL
    assert abs(_takeover(live["timeline"]) - offline["takeover_s"]) <= PING_INTERVAL + SLACK_MODEL_S
    live_gap = _gap(live["attempts"])
    assert live_gap is not None
    assert offline["gap_s"] > 0
    # the gap depends on where the kill falls between DLRs, probes and retries: within one retry
    # interval (10 s) and one probe interval (0.2 s / SCALE = 2 s) of each other
    assert abs(live_gap / SCALE - offline["gap_s"]) <= 10.0 + 2.0 + SLACK_MODEL_S
