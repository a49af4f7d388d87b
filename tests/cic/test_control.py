"""Tests of sim.cic.control: the node's control API over real HTTP, its JSON errors and peer mirroring."""

from __future__ import annotations

from nodekit import call, config, kaleyra, running

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
                      "control_url": node.control_url, "interactions": 0}) == (status, described)
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


async def test_the_log_route_lists_the_sms_servers_errors() -> None:
    """An invalid SMS request shows in GET /_smslab/node/log."""
    async with running(config(kaleyra())) as node:
        await call("GET", node.sms_urls["kaleyra"])
        status, body = await call("GET", node.control_url + "/_smslab/node/log")
        assert (200, ["error"]) == (status, [e["level"] for e in body["log"]])
        assert body["log"][0]["message"].startswith("invalid SMS request to /kaleyra/mo")
