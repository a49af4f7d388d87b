"""Tests of sim.cic.node: the SMS listeners, health requests, backup answers, faults, mirror and recovery."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from nodekit import HANDSET, LOCAL, call, config, eztexting, fake, kaleyra, running

from sim.cic.node import CicNode, NodeFault, Role
from sim.cic.settings import BackupAnswer, NodeSettings, SmsScheme
from sim.core.errors import ConfigError

MO = {"device_address": "13175550123", "inbound_address": LOCAL, "message": "Hello", "message_id": "m-1"}


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds (pushes travel over real sockets)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_an_mo_from_the_kaleyra_fake_becomes_an_interaction_with_the_exact_text() -> None:
    """The Kaleyra fake pushes an MO to the node's SMS URL; the transcript holds its text and message id."""
    async with running(config(kaleyra())) as node, fake("kaleyra", "k", {
            "mo_url": "http://unused.invalid/"}) as broker:
        status, record = await call("POST", broker.url + "/_smslab/mo", json={
            "from": HANDSET, "to": LOCAL, "text": "Où est ma commande ?", "url": node.sms_urls["kaleyra"]})
        assert 202 == status
        await wait_for(node.records.interactions)
        [interaction] = node.records.interactions()
        entry = interaction.transcript[0]
        assert (HANDSET, LOCAL, "kaleyra") == (interaction.customer, interaction.local, interaction.broker)
        assert ("Où est ma commande ?", record["message_id"]) == (entry.text, entry.message_id)
        await wait_for(lambda: broker.pusher.stats().get("delivered", 0) == 1)
        [stored] = node.records.store.interactions()
        assert interaction.id == stored["id"]


async def test_an_mo_from_the_eztexting_fake_becomes_an_interaction() -> None:
    """The definition-driven EzTexting fake pushes an MO; the node reads it with the same definition."""
    async with running(config(eztexting())) as node, fake("http-broker", "eztexting", {
            "accounts": [{"id": "ez", "login": "ezuser", "password": "ezpass"}]}) as broker:
        status, _ = await call("POST", broker.url + "/_smslab/mo", json={
            "from": "3175550123", "to": "313131", "text": "STOP", "url": node.sms_urls["eztexting"]})
        assert 202 == status
        await wait_for(node.records.interactions)
        [interaction] = node.records.interactions()
        assert ("3175550123", "313131", "STOP") == (interaction.customer, interaction.local,
                                                    interaction.transcript[0].text)


async def test_two_brokers_share_a_port_and_are_told_apart_by_path() -> None:
    """Kaleyra and EzTexting on one Incoming HTTP Port: one listener, each push reaches its own broker."""
    async with running(config(kaleyra(), eztexting())) as node:
        assert [8080] == list(node.bound_ports)
        base = f"http://127.0.0.1:{node.bound_ports[8080]}"
        assert (f"{base}/kaleyra/mo", f"{base}/receivesms.php") == (node.sms_urls["kaleyra"],
                                                                    node.sms_urls["eztexting"])
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        ez = {"PhoneNumber": "3175550999", "ShortCode": "313131", "Message": "Hi", "MessageId": "e1"}
        assert (200, "OK") == await call("POST", node.sms_urls["eztexting"], data=ez)
        assert {("kaleyra", "Hello"), ("eztexting", "Hi")} == {
            (i.broker, i.transcript[0].text) for i in node.records.interactions()}


def test_two_brokers_on_one_port_and_path_are_a_config_error_naming_both() -> None:
    """A second broker with the same port and incoming path is refused, naming both brokers."""
    cfg = config(kaleyra(), eztexting())
    ez = cfg.brokers[1]
    cfg = replace(cfg, brokers=(cfg.brokers[0], replace(ez, mo=replace(ez.mo, incoming_path="/kaleyra/mo"))))
    with pytest.raises(ConfigError, match="'kaleyra' and 'eztexting' cannot share a port and path"):
        CicNode(cfg, NodeSettings())


async def test_a_health_probe_gets_the_health_answer_and_leaves_no_trace() -> None:
    """With healthcheckignore=1 the active node answers health_status/health_body, stores and logs nothing."""
    async with running(config(kaleyra()), health_status=299, health_body="ALIVE") as node:
        answers = await asyncio.gather(*[call("GET", node.sms_urls["kaleyra"] + "?healthcheckignore=1")
                                         for _ in range(50)])
        assert [(299, "ALIVE")] * 50 == answers
        assert ([], [], 0) == (node.records.interactions(), list(node.log), node.records.store.count())


async def test_the_same_request_without_the_flag_logs_an_invalid_sms_request() -> None:
    """Without the flag the empty request creates no SMS, is answered 400 and logged as an error."""
    async with running(config(kaleyra())) as node:
        status, text = await call("GET", node.sms_urls["kaleyra"])
        assert (400, "missing field(s) device_address, inbound_address, message_orig, message") == (status, text)
        assert [] == node.records.interactions()
        assert [("error", "invalid SMS request to /kaleyra/mo (broker kaleyra, mo): missing field(s) "
                          "device_address, inbound_address, message_orig, message")] == [(e["level"], e["message"]) for e in node.log]


@pytest.mark.parametrize(("body", "headers", "reason"), [
    (b"not json at all", {"Content-Type": "application/json"}, "missing field(s)"),
    (b"device_address=1&message=\xff\xfe", {"Content-Type": "application/x-www-form-urlencoded"},
     "not valid UTF-8"),
    (b"garbage", {"Content-Type": "application/x-www-form-urlencoded"}, "missing field(s)"),
], ids=["wrong-content-type", "invalid-utf8", "malformed-body"])
async def test_a_bad_push_gets_400_stores_nothing_and_the_node_keeps_serving(
        body: bytes, headers: dict[str, str], reason: str) -> None:
    """A malformed push is answered 400 with the reason, nothing is stored, the next good MO is served."""
    async with running(config(kaleyra())) as node:
        status, text = await call("POST", node.sms_urls["kaleyra"], data=body, headers=headers)
        assert 400 == status
        assert reason in text
        assert (0, 1) == (node.records.store.count(), len(node.log))
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert 1 == node.records.store.count()


async def test_a_duplicate_mo_is_answered_2xx_and_stores_nothing_new() -> None:
    """The same broker message id twice: both answered 200 OK, the transcript has one line."""
    async with running(config(kaleyra())) as node:
        for _ in range(2):
            assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        [interaction] = node.records.interactions()
        assert 1 == len(interaction.transcript)


async def test_a_backup_that_refuses_has_no_listener_and_rebinds_the_same_port_on_promotion() -> None:
    """backup_answer refuse: connection refused; promoted, the node listens on the same port again."""
    async with running(config(kaleyra()), role=Role.BACKUP, backup_answer=BackupAnswer.REFUSE) as node:
        url = node.sms_urls["kaleyra"]
        with pytest.raises(aiohttp.ClientConnectorError):
            await call("POST", url, data=MO)
        node.set_role(Role.ACTIVE)
        await node.settled()
        assert url == node.sms_urls["kaleyra"]
        assert (200, "OK") == await call("POST", url, data=MO)


@pytest.mark.parametrize(("answer", "status"), [(BackupAnswer.UNAVAILABLE, 503), (BackupAnswer.NOT_FOUND, 404)])
async def test_a_backup_answers_every_sms_request_with_its_status(answer: BackupAnswer, status: int) -> None:
    """503 or 404 to an MO and to a health probe alike; nothing is stored."""
    async with running(config(kaleyra()), role=Role.BACKUP, backup_answer=answer) as node:
        for suffix in ("", "?healthcheckignore=1"):
            got, text = await call("POST", node.sms_urls["kaleyra"] + suffix, data=MO)
            assert (status, "CIC node primary is the backup") == (got, text)
        assert 0 == node.records.store.count()


async def test_a_hanging_backup_never_answers_until_promoted() -> None:
    """backup_answer hang: the request times out; a held request is served once the node is promoted."""
    async with running(config(kaleyra()), role=Role.BACKUP, backup_answer=BackupAnswer.HANG) as node:
        with pytest.raises(TimeoutError):
            await call("GET", node.sms_urls["kaleyra"] + "?healthcheckignore=1", timeout=0.2)
        held = asyncio.ensure_future(call("POST", node.sms_urls["kaleyra"], data=MO))
        await asyncio.sleep(0.05)
        assert not held.done()
        node.set_role(Role.ACTIVE)
        assert (200, "OK") == await held


async def test_down_closes_the_listeners_and_the_control_api() -> None:
    """DOWN: SMS and control connections are refused and ts_ping is False; ACTIVE brings both back."""
    async with running(config(kaleyra())) as node:
        control = node.control_url
        node.set_role(Role.DOWN)
        assert not node.ts_ping()
        for url in (node.sms_urls["kaleyra"], control + "/_smslab/node"):
            with pytest.raises(aiohttp.ClientConnectorError):
                await call("GET", url)
        node.set_role(Role.ACTIVE)
        await node.settled()
        assert 200 == (await call("GET", control + "/_smslab/node"))[0]


async def test_the_hang_fault_holds_sms_requests_and_ts_ping_but_not_the_control_api() -> None:
    """HANG: SMS requests time out, ts_ping is False, GET /_smslab/node still answers."""
    async with running(config(kaleyra())) as node:
        node.set_fault(NodeFault.HANG)
        assert not node.ts_ping()
        with pytest.raises(TimeoutError):
            await call("POST", node.sms_urls["kaleyra"], data=MO, timeout=0.2)
        with pytest.raises(TimeoutError):
            await call("GET", node.control_url + "/_smslab/node/ts-ping", timeout=0.2)
        status, described = await call("GET", node.control_url + "/_smslab/node")
        assert (200, "hang") == (status, described["fault"])
        node.set_fault(NodeFault.NONE)
        assert (200, {"ok": True}) == await call("GET", node.control_url + "/_smslab/node/ts-ping")


async def test_the_slow_fault_adds_its_delay_to_each_sms_request() -> None:
    """SLOW: an MO takes at least slow_delay and is still served."""
    async with running(config(kaleyra()), slow_delay=0.15) as node:
        node.set_fault(NodeFault.SLOW)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert loop.time() - started >= 0.15


async def test_the_partition_fault_closes_the_listeners_but_ts_ping_stays_ok() -> None:
    """PARTITION: the proxy cannot connect; the peer's ping still succeeds; NONE reopens the port."""
    async with running(config(kaleyra())) as node:
        node.set_fault(NodeFault.PARTITION)
        with pytest.raises(aiohttp.ClientConnectorError):
            await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert node.ts_ping()
        node.set_fault(NodeFault.NONE)
        await node.settled()
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)


async def test_crash_on_mo_resets_the_connection_stores_nothing_and_leaves_the_node_down() -> None:
    """CRASH_ON_MO: the MO's connection is reset before any answer, nothing stored, the node is DOWN."""
    async with running(config(kaleyra())) as node:
        node.set_fault(NodeFault.CRASH_ON_MO)
        with pytest.raises(aiohttp.ClientError):
            await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert (Role.DOWN, NodeFault.NONE, 0) == (node.role, node.fault, node.records.store.count())
        assert not node.ts_ping()


async def test_a_mirror_record_reaches_mirror_to_before_the_2xx() -> None:
    """The broker's 200 comes only after mirror_to returned; the record is the stored interaction."""
    gate, seen = asyncio.Event(), []

    async def mirror(record: dict[str, Any]) -> None:
        seen.append(record)
        await gate.wait()

    async with running(config(kaleyra())) as node:
        node.records.mirror_to = mirror
        pending = asyncio.ensure_future(call("POST", node.sms_urls["kaleyra"], data=MO))
        await wait_for(lambda: seen)
        await asyncio.sleep(0.05)
        assert not pending.done()
        gate.set()
        assert (200, "OK") == await pending
        [record] = seen
        assert (["Hello"], node.records.store.interactions()[0]) == (
            [e["text"] for e in record["interaction"]["transcript"]], record["interaction"])


async def test_recover_rebuilds_the_interactions_and_recognises_a_duplicate_after_recovery() -> None:
    """A backup fed by the primary's mirror recovers the interaction; the retried MO adds nothing."""
    async with running(config(kaleyra())) as primary, running(config(kaleyra()), role=Role.BACKUP,
                                                              name="backup") as backup:
        async def mirror(record: dict[str, Any]) -> None:
            backup.records.accept_mirror(record)

        primary.records.mirror_to = mirror
        assert (200, "OK") == await call("POST", primary.sms_urls["kaleyra"], data=MO)
        backup.set_role(Role.ACTIVE)
        assert 1 == await backup.records.recover()
        await backup.settled()
        assert (200, "OK") == await call("POST", backup.sms_urls["kaleyra"], data=MO)
        assert (200, "OK") == await call("POST", backup.sms_urls["kaleyra"], data={**MO, "message_id": "m-2",
                                                                                  "message": "Again"})
        [interaction] = backup.records.interactions()
        assert ([primary.records.interactions()[0].id], ["Hello", "Again"]) == (
            [interaction.id], [e.text for e in interaction.transcript])


async def test_reset_core_forgets_and_the_next_mo_starts_a_new_interaction() -> None:
    """Promotion without recovery: the mirrored conversation is not taken over."""
    async with running(config(kaleyra())) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        first = node.records.interactions()[0].id
        await node.records.reset_core()
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data={**MO, "message_id": "m-9"})
        [interaction] = node.records.interactions()
        assert first != interaction.id


async def test_the_owned_store_file_is_removed_and_a_given_one_stays(tmp_path: Any) -> None:
    """store "" makes a temp file removed at stop; a named store file is kept with its rows."""
    path = tmp_path / "primary.sqlite"
    async with running(config(kaleyra()), store=str(path)) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
    assert path.exists()
    async with running(config(kaleyra())) as node:
        owned = node.records.store.path
    assert not os.path.exists(owned)


async def test_sms_scheme_http_serves_an_https_broker_in_plain_http() -> None:
    """Behind an SSL-offloading proxy: the HTTPS broker's listener speaks HTTP and needs no certificate."""
    secure = {**kaleyra(gateway="https://127.0.0.1:9"), "encryption": "HTTPS"}
    async with running(config(secure), sms_scheme=SmsScheme.HTTP) as node:
        assert node.sms_urls["kaleyra"].startswith("http://")
        assert (200, "OK") == await call("GET", node.sms_urls["kaleyra"] + "?healthcheckignore=1")


def test_sms_scheme_https_without_a_certificate_is_a_config_error() -> None:
    """Behind a re-encrypting proxy even an HTTP broker's listener is HTTPS, so tls_cert is required."""
    with pytest.raises(ConfigError) as info:
        CicNode(config(kaleyra()), NodeSettings(sms_scheme=SmsScheme.HTTPS))
    assert [("cic.nodes.primary.tls_cert", "is required for sms_scheme https")] == [
        (p.path, p.reason) for p in info.value.problems]
