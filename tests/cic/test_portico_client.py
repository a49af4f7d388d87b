"""Tests of sim.cic.portico_client: Portico webhooks in, OAuth and SmsMessageRequest out, against the fake."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from nodekit import HANDSET, call, config, fake, portico, running

FAKE = {"clients": [{"id": "cid", "secret": "csecret"}], "numbers": [{"number": "18445551212"}]}
ROUTE = ("portico", "org")


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_an_mo_webhook_from_the_portico_fake_becomes_an_interaction() -> None:
    """The fake's JSON MO webhook is read: sender, destination, message and messageId."""
    async with running(config(portico())) as node, fake("portico", "p", FAKE) as broker:
        status, record = await call("POST", broker.url + "/_smslab/mo", json={
            "from": HANDSET, "to": "18445551212", "text": "Bonjour", "url": node.sms_urls["portico"]})
        assert 202 == status
        await wait_for(node.records.interactions)
        [interaction] = node.records.interactions()
        assert (HANDSET, "+18445551212", "Bonjour", record["message_id"]) == (
            interaction.customer, interaction.local, interaction.transcript[0].text,
            interaction.transcript[0].message_id)


async def test_a_send_takes_a_token_once_and_posts_the_sms_message_request() -> None:
    """Two sends: one token, two captured MTs with the exact members; the DR webhook lands on the interaction."""
    async with fake("portico", "p", FAKE) as broker, running(config(
            portico(gateway=broker.url), route_to=ROUTE)) as node:
        mo = {"messageId": "mo-1", "sender": HANDSET, "destination": "+18445551212", "message": "hi",
              "timestamp": "2024-01-01T00:00:00.000Z"}
        assert (200, "OK") == await call("POST", node.sms_urls["portico"], json=mo)
        first = await node.records.send("3175550123", "one", classification="Local")
        await node.records.send("3175550123", "two", classification="Local")
        sent = broker.capture.query(kind="mt")
        assert [("+18445551212", "+13175550123", "one"), ("+18445551212", "+13175550123", "two")] == [
            (m.sender, m.recipient, m.text) for m in sent]
        assert {"requestReceipt": True, "correlationInfo": {"correlation": first["correlation"]}}.items() <= \
            dict(sent[0].fields).items()
        [request] = first["requests"]
        assert (broker.url + "/api/v2/messaging/sms", 200, True, [sent[0].message_id]) == (
            request["url"], request["status"], request["accepted"], request["message_ids"])
        assert 1 == len(node.wires["portico"]._tokens)
        dr = {"messageId": sent[0].message_id, "status": "DELIVERED", "sender": "+18445551212",
              "destination": "+13175550123", "timestamp": "2024-01-01T00:00:00.000Z"}
        assert (200, "OK") == await call("POST", node.dr_urls["portico"], json=dr)
        [interaction] = node.records.interaction_views()
        assert (interaction["id"], ["delivered", ""]) == (
            first["interaction_id"], [d["state"] for d in interaction["deliveries"]])


async def test_bad_client_credentials_are_reported_without_sending() -> None:
    """A token refused (401): the send result says so and nothing is captured."""
    cfg = portico()
    cfg["accounts"] = [{"id": "org", "local_address": "+18445551212", "login": "cid", "password": "wrong"}]
    async with fake("portico", "p", FAKE) as broker, running(config(
            {**cfg, "mt": {"gateway": broker.url}}, route_to=ROUTE)) as node:
        [request] = (await node.records.send("3175550123", "x", classification="Local"))["requests"]
        assert (401, False) == (request["status"], request["accepted"])
        assert request["reason"].startswith("no token (HTTP 401)")
        assert [] == broker.capture.query(kind="mt")


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b'{"sender": "+13175550123"}', "application/json", "member 'destination'"),
    (b"sender=x", "application/x-www-form-urlencoded", "must be application/json"),
    (b"\xff{", "application/json", "not valid UTF-8"),
    (b'{"messageId": "1", "status": "LOST"}', "application/json", "unknown delivery status"),
])
async def test_a_bad_webhook_gets_400_and_nothing_is_stored(body: bytes, content_type: str, reason: str) -> None:
    """Missing members, a form body, invalid UTF-8 or an unknown status: 400 with the reason."""
    async with running(config(portico())) as node:
        url = node.dr_urls["portico"] if b"LOST" in body else node.sms_urls["portico"]
        status, text = await call("POST", url, data=body, headers={"Content-Type": content_type})
        assert 400 == status
        assert reason in text
        assert 0 == node.records.store.count()


MO = {"messageId": "mo-1", "sender": HANDSET, "destination": "+18445551212", "message": "hi",
      "timestamp": "2024-01-01T00:00:00.000Z"}


def _mo(**changes: str) -> bytes:
    return json.dumps({**MO, **changes}).encode()


@pytest.mark.parametrize(("kind", "body", "reason"), [
    ("mo", _mo(message="x").replace(b'"x"', b'"x\\ud800"'), "'message' holds an unpaired surrogate"),
    ("mo", _mo(sender="x").replace(b'"x"', b'"+1\\udc00"'), "'sender' holds an unpaired surrogate"),
    ("mo", _mo(messageId="x").replace(b'"x"', b'"\\ud800"'), "'messageId' holds an unpaired surrogate"),
    ("mo", b"[" * 100_000, "nested deeper than 64"),
    ("mo", _mo().replace(b'"hi"', b"1" * 5000), "number too long"),
    ("mo", _mo().replace(b'"hi"', b"NaN"), "NaN is not a JSON number"),
    ("mo", _mo(sender="+1317\x005550123"), "'sender' holds the character U+0000"),
    ("mo", _mo(sender="+1317\r\n5550123"), "'sender' holds the character U+000D"),
    ("mo", _mo(sender="1" * 200_000), "'sender' is 200000 characters long"),
    ("mo", _mo(messageId="mo\x00-1"), "'messageId' holds the character U+0000"),
    ("mo", _mo(messageId="m\r\n"), "'messageId' holds the character U+000D"),
    ("mo", _mo(messageId="m" * 200_000), "'messageId' is 200000 characters long"),
    ("dr", json.dumps({"messageId": "m\x00", "status": "DELIVERED"}).encode(), "'messageId' holds"),
    ("dr", json.dumps({"messageId": "m", "status": "DELIVERED", "destination": "+1\r\n"}).encode(),
     "'destination' holds the character U+000D"),
    ("dr", b'{"messageId": "m", "status": "DELIVERED", "x": Infinity}', "Infinity is not a JSON number"),
], ids=["surrogate-message", "surrogate-sender", "surrogate-id", "deep", "huge-integer", "nan", "nul-sender",
        "crlf-sender", "huge-sender", "nul-id", "crlf-id", "huge-id", "dr-nul-id", "dr-crlf-destination",
        "dr-infinity"])
async def test_a_webhook_that_cannot_be_stored_is_refused_before_the_store(kind: str, body: bytes,
                                                                          reason: str) -> None:
    """Text that cannot be encoded, JSON the lab does not take and bad numbers or ids: 400, nothing stored."""
    async with running(config(portico())) as node:
        url = node.dr_urls["portico"] if kind == "dr" else node.sms_urls["portico"]
        status, text = await call("POST", url, data=body, headers={"Content-Type": "application/json"})
        assert (400, True) == (status, reason in text), text[:200]
        assert (0, 0) == (node.records.store.count(), len(node.records.interactions()))
        ok = await call("POST", node.sms_urls["portico"], data=_mo(), headers={"Content-Type": "application/json"})
        assert (200, "OK") == ok


async def test_a_webhook_with_a_bogus_content_encoding_is_a_400() -> None:
    """A body that says gzip and is not is refused with the reason, not a 500."""
    async with running(config(portico())) as node:
        status, text = await call("POST", node.sms_urls["portico"], data=_mo(),
                                  headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert (400, True) == (status, "cannot be read" in text)
        assert 0 == node.records.store.count()
