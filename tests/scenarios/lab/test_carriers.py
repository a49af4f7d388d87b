"""Tests for the carrier model behind a whole lab: a lab file's carriers and populations, end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from scenarios.lab.assembly import Lab
from scenarios.lab.check import load_lab

EXAMPLE = Path(__file__).parents[3] / "scenarios" / "examples" / "carriers-lab.yaml"


async def _json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as reply:
        return await reply.json()


async def test_a_population_texts_the_pair_through_the_proxy_and_mts_meet_the_carrier() -> None:
    """The example lab's customers' MOs go through the proxy and are stored as interactions by the pair."""
    config = load_lab(EXAMPLE)
    async with Lab(config) as lab, aiohttp.ClientSession() as session:
        kaleyra = lab.backend.fakes["kaleyra"]
        assert kaleyra.carrier is not None
        assert kaleyra.carrier.time_scale == 0.02
        async with asyncio.timeout(20):
            while kaleyra.carrier.mos < 3:  # Poisson at 0.5/s in simulated time, 50x faster here
                await asyncio.sleep(0.05)
            while True:
                stored = await _json(session, f"{lab.url}/_smslab/interactions")
                items = stored["interactions"]
                if len(items) >= 3:
                    break
                await asyncio.sleep(0.05)
        customers = set(kaleyra.carrier.populations[0].numbers)
        assert {i["customer"] for i in items} <= customers
        assert {i["broker"] for i in items} == {"kaleyra"}
        before = kaleyra.carrier.mos
        health = await _json(session, f"{lab.fake_urls['kaleyra']}/_smslab/health")
        assert before <= health["carrier"]["mos"] <= kaleyra.carrier.mos  # the population goes on meanwhile


async def test_the_carrier_model_shows_in_the_metrics() -> None:
    """With carriers, /metrics has each broker's MTs in flight and, once an MT is sent, its queue backlog."""
    async with Lab(load_lab(EXAMPLE)) as lab, aiohttp.ClientSession() as session:
        kaleyra = lab.backend.fakes["kaleyra"]
        assert kaleyra.carrier is not None
        kaleyra.carrier.submit("m1", "+13175550100", "8005550100", 1, None)
        async with session.get(f"{lab.url}/metrics") as reply:
            text = await reply.text()
        assert 'smslab_carrier_in_flight{broker="kaleyra"} 1.0' in text
        assert 'smslab_carrier_backlog_seconds{broker="kaleyra",carrier="us",sender_type="toll_free"}' in text
        assert 'smslab_carrier_in_flight{broker="portico"} 0.0' in text


async def test_the_labs_health_shows_each_in_process_fakes_carrier_model() -> None:
    """GET /_smslab/health lists the carrier model of every fake of the example lab, an MT counted."""
    async with Lab(load_lab(EXAMPLE)) as lab, aiohttp.ClientSession() as session:
        kaleyra = lab.backend.fakes["kaleyra"]
        kaleyra.carrier.submit("m1", "+13175550100", "8005550100", 1, None)
        health = await _json(session, f"{lab.url}/_smslab/health")
    assert sorted(lab.built) == sorted(health["carriers"])
    assert 1 == health["carriers"]["kaleyra"]["counts"]["submitted"]
