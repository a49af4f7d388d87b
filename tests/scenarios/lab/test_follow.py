"""Tests for scenarios.lab.follow: in --processes mode the event stream and /metrics come from the components'
inspection APIs, followed: an MO, its interaction, an MT's DLR and its push arrive as in process."""

from __future__ import annotations

import aiohttp
import pytest

from scenarios.lab.assembly import Lab
from scenarios.lab.events import Subscription

pytestmark = pytest.mark.slow


async def _next_of(events: Subscription, event_kind: str, **match: object) -> dict:
    """The next event of ``event_kind`` whose data has every field of ``match``."""
    seen = []
    while True:
        event = await events.next(15)
        assert event is not None, f"no {event_kind} {match}; saw {seen}"
        data = event["data"]
        if event["event"] == event_kind and all(data.get(k) == v for k, v in match.items()):
            return data
        seen.append((event["event"], {k: data.get(k) for k in ("kind", "event", "state")}))


async def test_a_processes_lab_streams_messages_interactions_and_pushes() -> None:
    """With every component its own process, an injected MO, the interaction it makes, the MT sent back with
    its DLR, and the DLR's push come on the stream once each, and /metrics counts them."""
    async with Lab(processes=True) as lab, aiohttp.ClientSession() as session:
        events = lab.events.subscribe(kinds=["message", "interaction", "push"])
        mo = {"from": "+13175550101", "to": "8005550100", "text": "<b>from a process</b>"}
        async with session.post(lab.url + "/_smslab/brokers/kaleyra/mo", json=mo) as resp:
            assert 202 == resp.status
        got: dict[str, dict] = {}
        while len(got) < 2:  # read in one round, the interaction may come before the MO's record
            event = await events.next(15)
            assert event is not None, f"saw only {got}"
            if event["event"] == "interaction" or (event["event"] == "message" and event["data"]["kind"] == "mo"):
                got[event["event"]] = event["data"]
        assert mo["text"] == got["message"]["text"]
        interaction = got["interaction"]
        assert ("primary", [mo["text"]]) == (interaction["node"], [e["text"] for e in interaction["transcript"]])
        mt = {"to": "+13175550101", "text": "reply", "classification": "National"}
        async with session.post(lab.url + "/_smslab/send", json=mt) as resp:
            assert 202 == resp.status
        await _next_of(events, "message", kind="dlr", state="delivered")
        await _next_of(events, "push", kind="dlr", outcome="delivered")
        async with session.get(lab.url + "/metrics") as resp:
            text = await resp.text()
    for line in ('smslab_messages_total{broker="kaleyra",kind="mo",state="MO Success/100"} 1.0',
                 'smslab_messages_total{broker="kaleyra",kind="mt",state="accepted"} 1.0',
                 'smslab_messages_total{broker="kaleyra",kind="dlr",state="delivered"} 1.0',
                 'smslab_push_attempts_total{broker="kaleyra",kind="mo",outcome="delivered"} 1.0',
                 'smslab_mo_push_to_stored_seconds_count{broker="kaleyra"} 1.0'):
        assert line in text.splitlines()
