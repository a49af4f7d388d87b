"""Tests of sim.cic.control: the node's control API over real HTTP, its JSON errors and peer mirroring."""

from __future__ import annotations

import aiohttp
import pytest
from nodekit import Clock, call, config, kaleyra, running

from sim.cic.control import fetch_interactions
from sim.cic.node import Role

MO = {"device_address": "13175550123", "inbound_address": "8005550100", "message": "Hello", "message_id": "m-1"}


async def test_describe_role_and_fault_routes() -> None:
    """GET /_smslab/node describes the node; role and fault changes answer the new description."""
    async with running(config(kaleyra())) as node:
        base = node.control_url + "/_smslab/node"
        status, described = await call("GET", base)
        assert (200, {"name": "primary", "role": "active", "fault": "none", "sms_urls": node.sms_urls,
                      "dr_urls": node.dr_urls, "public_dr_urls": {"kaleyra": node.dr_urls["kaleyra"]},
                      "bound_ports": {"8080": node.bound_ports[8080]},
                      "control_url": node.control_url, "interactions": 0,
                      "core": {"kind": "in-process", "class": "sim.core.reference:ReferenceCore"}}) == (status, described)
        assert "backup" == (await call("POST", base + "/role", json={"role": "backup"}))[1]["role"]
        assert "slow" == (await call("POST", base + "/fault", json={"mode": "slow"}))[1]["fault"]


async def test_bad_requests_get_a_json_error_and_change_nothing() -> None:
    """An unknown role, a non-object body, an unknown send field and a bad mirror record: 4xx JSON."""
    async with running(config(kaleyra())) as node:
        base = node.control_url + "/_smslab"
        assert (400, {"error": "role must be one of active, backup, down (got 'boss')"}) == await call(
            "POST", base + "/node/role", json={"role": "boss"})
        assert (400, {"error": "the body must be a JSON object"}) == await call(
            "POST", base + "/node/fault", json=[1])
        assert (400, {"error": "unknown field(s) colour"}) == await call(
            "POST", base + "/agent/send", json={"to": "1", "text": "x", "colour": "red"})
        status, body = await call("POST", base + "/node/mirror", json={"interaction": {"id": "x"}, "at": 1})
        assert (400, True) == (status, body["error"].startswith("not an interaction snapshot"))
        assert (404, {"error": "no outbound route matches '3175550123'"}) == await call(
            "POST", base + "/agent/send", json={"to": "3175550123", "text": "x"})
        assert (Role.ACTIVE, []) == (node.role, node.records.store.mirror_records())


async def test_a_peer_url_mirrors_over_http_and_full_sync_and_recover_work_through_the_api() -> None:
    """POST /peer on the primary: its MO reaches the backup's mirror; the backup recovers it via the API."""
    async with running(config(kaleyra())) as primary, running(config(kaleyra()), role=Role.BACKUP,
                                                              name="backup") as backup:
        await call("POST", primary.control_url + "/_smslab/node/peer", json={"url": backup.control_url})
        assert (200, "OK") == await call("POST", primary.sms_urls["kaleyra"], data=MO)
        assert 1 == len(backup.records.store.mirror_records())
        status, synced = await call("GET", primary.control_url + "/_smslab/node/full-sync")
        assert (200, [primary.records.interactions()[0].id]) == (status, [r["interaction"]["id"] for r in synced["records"]])
        assert (200, {"accepted": 1}) == await call("POST", backup.control_url + "/_smslab/node/mirror",
                                                    json={"records": synced["records"]})
        assert (200, {"recovered": 1}) == await call("POST", backup.control_url + "/_smslab/node/recover")
        status, listed = await call("GET", backup.control_url + "/_smslab/interactions")
        assert [["Hello"]] == [[e["text"] for e in i["transcript"]] for i in listed["interactions"]]
        assert (200, {}) == await call("POST", backup.control_url + "/_smslab/node/reset")
        assert ([], []) == (backup.records.interactions(), backup.records.store.mirror_records())


async def test_full_sync_answers_chunks_after_a_seq_and_refuses_bad_bounds() -> None:
    """GET /full-sync?limit=2 over three interactions: two and a next seq, then the last one and null; bad bounds are 400s."""
    async with running(config(kaleyra())) as node:
        ids = _restore(node, 3)
        url = node.control_url + "/_smslab/node/full-sync"
        status, first = await call("GET", url, params={"limit": "2"})
        assert (200, ids[:2], 2) == (status, [r["interaction"]["id"] for r in first["records"]], first["next"])
        status, rest = await call("GET", url, params={"limit": "2", "after": str(first["next"])})
        assert (200, ids[2:], None) == (status, [r["interaction"]["id"] for r in rest["records"]], rest["next"])
        assert (400, {"error": "'limit' must be an integer from 1 to 1000 (got '0')"}) == await call(
            "GET", url, params={"limit": "0"})
        assert (400, {"error": "'after' must be an integer from 0 to 9223372036854775807 (got '-1')"}) == await call(
            "GET", url, params={"after": "-1"})


async def test_the_log_route_lists_the_sms_servers_errors() -> None:
    """An invalid SMS request shows in GET /_smslab/node/log."""
    async with running(config(kaleyra())) as node:
        await call("GET", node.sms_urls["kaleyra"])
        status, body = await call("GET", node.control_url + "/_smslab/node/log")
        assert (200, ["error"]) == (status, [e["level"] for e in body["log"]])
        assert body["log"][0]["message"].startswith("invalid SMS request to /kaleyra/mo")


def _take_over(node, records: list[dict]) -> None:
    """Give the node these interaction records as a recovery would: the store all, the core the open ones."""
    node.records.store.put_interactions(records)
    node.records.core.restore({"version": 1, "interactions": [r for r in records if r["state"] != "disconnected"]})


def _restore(node, count: int) -> list[str]:
    """Give the node ``count`` interactions, created a second apart (quicker than ``count`` MOs)."""
    records = [{"id": f"i-{n:04}", "customer": f"+1317555{n:04}", "local": "8005550100", "broker": "kaleyra",
                "destination": {"kind": "Chat", "name": ""}, "state": "active", "created_at": float(n),
                "updated_at": float(n), "transcript": []} for n in range(count)]
    _take_over(node, records)
    return [r["id"] for r in records]


async def test_interactions_answer_a_page_with_every_field_and_a_null_next() -> None:
    """GET /_smslab/interactions: the interaction as the node keeps it, and next null on the last page."""
    async with running(config(kaleyra()), clock=Clock()) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        [interaction] = node.records.interactions()
        assert (200, {"interactions": [{
            "id": interaction.id, "customer": "13175550123", "local": "8005550100", "broker": "kaleyra",
            "destination": {"kind": "Email", "name": ""}, "state": "active", "created_at": 1000000.0,
            "updated_at": 1000000.0, "deliveries": [],
            "transcript": [{"direction": "in", "text": "Hello", "at": 1000000.0, "message_id": "m-1",
                            "party": "13175550123"}]}], "next": None}) == await call(
            "GET", node.control_url + "/_smslab/interactions")


async def test_interactions_default_to_pages_of_100_and_next_reads_the_rest() -> None:
    """Over 250 interactions: 100, then 100 and 50 by following next; each once, oldest first."""
    async with running(config(kaleyra())) as node:
        ids = _restore(node, 250)
        url, seen, sizes = node.control_url + "/_smslab/interactions", [], []
        status, page = await call("GET", url)
        while True:
            assert 200 == status
            seen += [i["id"] for i in page["interactions"]]
            sizes.append(len(page["interactions"]))
            if page["next"] is None:
                break
            status, page = await call("GET", url, params={"cursor": page["next"]})
        assert (ids, [100, 100, 50]) == (seen, sizes)
        status, page = await call("GET", url, params={"limit": "1000"})
        assert (200, ids, None) == (status, [i["id"] for i in page["interactions"]], page["next"])


async def test_a_filtered_page_boundary_keeps_an_interaction_created_meanwhile() -> None:
    """customer and limit=1: that customer's two closed interactions, then the one its MO opens while paging."""
    async with running(config(kaleyra()), clock=Clock()) as node:
        url, customer = node.control_url + "/_smslab/interactions", "13175550101"
        _take_over(node, [
            {"id": f"i-{n}", "customer": who, "local": "8005550100", "broker": "kaleyra", "state": state,
             "destination": {"kind": "Chat", "name": ""}, "created_at": float(n), "updated_at": float(n + 1),
             "transcript": []}
            for n, (who, state) in enumerate([(customer, "disconnected"), ("13175550102", "active"),
                                              (customer, "disconnected")])])
        status, first = await call("GET", url, params={"customer": customer, "limit": "1"})
        assert (200, ["i-0"], True) == (status, [i["id"] for i in first["interactions"]], isinstance(first["next"], str))
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data={**MO, "device_address": customer})
        [opened] = [i.id for i in node.records.interactions() if i.id not in ("i-0", "i-1", "i-2")]
        status, second = await call("GET", url, params={"customer": customer, "limit": "1", "cursor": first["next"]})
        assert (200, ["i-2"]) == (status, [i["id"] for i in second["interactions"]])
        status, third = await call("GET", url, params={"customer": customer, "limit": "1", "cursor": second["next"]})
        assert (200, [opened], None) == (status, [i["id"] for i in third["interactions"]], third["next"])
        status, closed = await call("GET", url, params={"state": "disconnected", "since": "2"})
        assert (200, ["i-2"], None) == (status, [i["id"] for i in closed["interactions"]], closed["next"])


async def test_bad_interactions_queries_are_400_naming_parameter_value_and_reason() -> None:
    """A bad limit, state, since or cursor, or an unknown parameter: a 400 JSON error body."""
    async with running(config(kaleyra())) as node:
        url = node.control_url + "/_smslab/interactions"
        assert [
            (400, {"error": "'limit' must be an integer from 1 to 1000 (got '0')"}),
            (400, {"error": "'limit' must be an integer from 1 to 1000 (got '1001')"}),
            (400, {"error": "'state' must be one of active, idle, disconnected (got 'open')"}),
            (400, {"error": "'since' must be a number of seconds (got 'yesterday')"}),
            (400, {"error": "'cursor' must be the 'next' of an earlier answer (got 'bogus!')"}),
            (400, {"error": "unknown query parameter(s) colour; allowed: limit, cursor, customer, state, since"}),
        ] == [await call("GET", url, params=p) for p in (
            {"limit": "0"}, {"limit": "1001"}, {"state": "open"}, {"since": "yesterday"}, {"cursor": "bogus!"},
            {"colour": "red"})]


async def test_fetch_interactions_follows_next_and_refuses_an_error_answer() -> None:
    """fetch_interactions reads every page (limit 2 over 5) in order, and a 400 page raises naming it."""
    async with running(config(kaleyra())) as node, aiohttp.ClientSession() as session:
        ids = _restore(node, 5)
        assert ids == [i["id"] for i in await fetch_interactions(session, node.control_url, limit="2")]
        assert ["i-0003"] == [i["id"] for i in await fetch_interactions(session, node.control_url + "/",
                                                                         customer="+13175550003")]
        with pytest.raises(RuntimeError) as caught:
            await fetch_interactions(session, node.control_url, state="open")
        assert str(caught.value) == ("GET /_smslab/interactions answered 400: "
                                     '{"error": "\'state\' must be one of active, idle, disconnected (got \'open\')"}')


@pytest.mark.parametrize(("data", "headers", "status"), [
    (b"[" * 100_000, {"Content-Type": "application/json"}, 400),
    (b'{"role": ' + b"1" * 5000 + b"}", {"Content-Type": "application/json"}, 400),
    (b'{"role": NaN}', {"Content-Type": "application/json"}, 400),
    (b'{"role": "x\\ud800"}', {"Content-Type": "application/json"}, 400),
    (b'{"role": "backup"}', {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400),
    (b'{"role": "backup"}', {"Content-Type": "text/plain"}, 415),
], ids=["deep", "huge-integer", "nan", "surrogate", "bogus-gzip", "text-plain"])
async def test_a_body_the_lab_cannot_take_is_a_json_4xx_and_changes_nothing(data: bytes, headers: dict[str, str],
                                                                            status: int) -> None:
    """Deep JSON, a huge integer, NaN, a lone surrogate, a bogus gzip body, another Content-Type: a JSON 4xx."""
    async with running(config(kaleyra())) as node:
        got, body = await call("POST", node.control_url + "/_smslab/node/role", data=data, headers=headers)
        assert (status, True) == (got, isinstance(body, dict) and "error" in body)
        assert Role.ACTIVE == node.role


async def test_a_stored_surrogate_never_breaks_the_interactions_view_or_the_full_sync() -> None:
    """Whatever reached the store, GET /_smslab/interactions and the full sync answer JSON."""
    async with running(config(kaleyra())) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        [record] = node.records.store.interactions()
        record["transcript"][0]["text"] = "x\ud800"
        node.records.store.put_interaction(record)
        node.records.store.put_mirror({"interaction": record, "at": 1.0})
        listed = await call("GET", node.control_url + "/_smslab/interactions")
        synced = await call("GET", node.control_url + "/_smslab/node/full-sync")
        assert (200, "x\ud800") == (listed[0], listed[1]["interactions"][0]["transcript"][0]["text"])
        assert (200, "x\ud800") == (synced[0], synced[1]["records"][0]["interaction"]["transcript"][0]["text"])
