"""Tests for scenarios.lab.metrics: GET /metrics on a running lab, scraped before and after traffic (exact deltas),
and the latency histograms and per-lab registries on their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from scenarios.lab.assembly import Lab
from scenarios.lab.events import Subscription
from scenarios.lab.metrics import LabMetrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels (the _created gauges left out)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def _deltas(before: Samples, after: Samples, *names: str) -> Samples:
    """What changed between two scrapes, for the samples of these metric names."""
    keys = {k for k in before.keys() | after.keys() if k[0] in names}
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys if after.get(k, 0.0) != before.get(k, 0.0)}


async def _until(subscription: Subscription, kind: str, match: Callable[[dict[str, Any]], bool]) -> None:
    """Read the lab's events until one of ``kind`` matches (from the stream: no polling, no sleep)."""
    seen = []
    while True:
        event = await subscription.next(10)
        assert event is not None, f"no {kind} event matched; saw {seen}"
        if event["event"] == kind and match(event["data"]):
            return
        seen.append(event)


async def _scrape(session: aiohttp.ClientSession, lab: Lab) -> Samples:
    async with session.get(lab.url + "/metrics") as resp:
        assert (200, "text/plain; version=0.0.4; charset=utf-8") == (resp.status, resp.headers["Content-Type"])
        return _samples(await resp.text())


async def test_scrapes_before_and_after_traffic_differ_by_exactly_that_traffic() -> None:
    """Two MOs, one MT with its DLR and a kill of the primary move every counter by exactly what happened."""
    async with Lab() as lab, aiohttp.ClientSession() as session:
        before = await _scrape(session, lab)
        events = lab.events.subscribe(kinds=["push", "timeline"])
        for n in range(2):
            mo = {"from": f"+1317555010{n}", "to": "8005550100", "text": "hi"}
            async with session.post(lab.url + "/_smslab/brokers/kaleyra/mo", json=mo) as resp:
                assert 202 == resp.status
        mt = {"to": "+13175550100", "text": "reply", "classification": "National"}
        async with session.post(lab.url + "/_smslab/send", json=mt) as resp:
            assert 202 == resp.status
        await _until(events, "push", lambda d: d["kind"] == "dlr")  # the DLR pushed through the proxy
        await lab.fail("primary", "kill")
        await _until(events, "timeline", lambda d: d["event"] == "promote")
        after = await _scrape(session, lab)
    kaleyra = (("broker", "kaleyra"),)
    assert {
        ("smslab_messages_total", (*kaleyra, ("kind", "mo"), ("state", "MO Success/100"))): 2,
        ("smslab_messages_total", (*kaleyra, ("kind", "mt"), ("state", "accepted"))): 1,
        ("smslab_messages_total", (*kaleyra, ("kind", "dlr"), ("state", "delivered"))): 1,
        ("smslab_push_attempts_total", (*kaleyra, ("kind", "mo"), ("outcome", "delivered"))): 2,
        ("smslab_push_attempts_total", (*kaleyra, ("kind", "dlr"), ("outcome", "delivered"))): 1,
        ("smslab_proxy_responses_total", (("incoming_port", "8080"), ("status", "200"), ("substatus", ""))): 3,
        ("smslab_node_faults_total", (("mode", "kill"), ("node", "primary"))): 1,
        ("smslab_switchovers_total", (("manual", "false"),)): 1,
        ("smslab_node_role_changes_total", (("node", "backup"), ("role", "active"))): 1,
        ("smslab_node_role_changes_total", (("node", "primary"), ("role", "down"))): 1,
        ("smslab_mo_push_to_stored_seconds_count", kaleyra): 2,
        ("smslab_mt_to_dlr_seconds_count", (*kaleyra, ("state", "delivered"))): 1,
    } == _deltas(before, after, "smslab_messages_total", "smslab_push_attempts_total", "smslab_push_retries_total",
                 "smslab_proxy_responses_total", "smslab_node_faults_total", "smslab_switchovers_total",
                 "smslab_node_role_changes_total", "smslab_mo_push_to_stored_seconds_count",
                 "smslab_mt_to_dlr_seconds_count")
    assert 1 == after[("smslab_node_role", (("node", "backup"), ("role", "active")))]
    assert 1 == after[("smslab_node_role", (("node", "primary"), ("role", "down")))]
    assert 2 == after[("smslab_interactions_open", ())]  # two customers, one conversation each, still open
    assert 2 == after[("smslab_interactions", (("node", "backup"),))]  # recovered from the mirror


def test_latencies_are_measured_between_the_captures_and_the_commit() -> None:
    """MT->DLR is the DLR's capture time less the MT's; MO->stored is the commit time less the MO's capture."""
    now = [100.0]
    metrics = LabMetrics(wall=lambda: now[0])
    record = {"broker": "b", "status": "", "state": "", "fields": {}}
    metrics.on_message({**record, "kind": "mt", "message_id": "m1", "at": 10.0})
    metrics.on_message({**record, "kind": "dlr", "message_id": "m1", "at": 10.0, "state": "sent"})
    metrics.on_message({**record, "kind": "dlr", "message_id": "m1", "at": 12.5, "state": "delivered"})
    metrics.on_message({**record, "kind": "dlr", "message_id": "m1", "at": 13.0, "state": "delivered"})  # a repeat
    metrics.on_message({**record, "kind": "mo", "message_id": "o1", "at": 99.75})
    metrics.on_interaction({"id": "i1", "broker": "b", "state": "active", "transcript": [
        {"direction": "in", "message_id": "o1"}, {"direction": "out", "message_id": "x"}]})
    metrics.on_interaction({"id": "i1", "broker": "b", "state": "disconnected", "transcript": [
        {"direction": "in", "message_id": "o1"}]})  # committed again: timed once
    got = _samples(metrics.exposition().decode())
    assert 2.5 == got[("smslab_mt_to_dlr_seconds_sum", (("broker", "b"), ("state", "delivered")))]
    assert 1 == got[("smslab_mt_to_dlr_seconds_count", (("broker", "b"), ("state", "delivered")))]
    assert 0 == got[("smslab_mt_to_dlr_seconds_sum", (("broker", "b"), ("state", "sent")))]
    assert (1, 0.25) == (got[("smslab_mo_push_to_stored_seconds_count", (("broker", "b"),))],
                         got[("smslab_mo_push_to_stored_seconds_sum", (("broker", "b"),))])
    assert 0 == got[("smslab_interactions_open", ())]


def test_each_lab_has_its_own_registry() -> None:
    """Two labs' metrics in one process neither clash nor mix."""
    one, two = LabMetrics(), LabMetrics()
    one.on_proxy_answer(8080, 502, "502.4")
    assert 1 == _samples(one.exposition().decode())[
        ("smslab_proxy_responses_total", (("incoming_port", "8080"), ("status", "502"), ("substatus", "502.4")))]
    assert not [k for k in _samples(two.exposition().decode()) if k[0] == "smslab_proxy_responses_total"]
