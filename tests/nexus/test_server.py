"""Tests for sim.nexus.server: every door's bad input answered in the envelope, nothing stored, still serving."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sim.core.signature import sign
from sim.nexus.server import NexusServer
from sim.nexus.settings import parse_nexus
from tests.nexus.tenant import CCID, GMA, HEAD, KEYS

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
CHANNEL = "16504661149"
ASYNC = {"data": {"channels": [{"channelId": CHANNEL, "webhook": {"url": "http://127.0.0.1:9/hook"}}]},
         "secret": {"channels": [{"channelId": CHANNEL, "webhook": {"secret": "wh"}, "api": {"secret": "api"}}]}}
SECTION = {"channelId": CHANNEL, "endpoint": "chat.Async", "provider": "Async"}
SMS = json.dumps({"url": "N/A", "data": {"provider": "Async"}, "secret": {}}).encode()
BASIC = "Basic " + base64.b64encode(f"{CCID}:{GMA}".encode()).decode()
MO = json.dumps({"messageId": "m", "sender": "+13125550100", "destination": "+1" + CHANNEL, "message": "x"}).encode()
INBOUND = json.dumps({"messages": [{"from": "+13125550100", "text": "x"}]}).encode()
PROV = f"/nexus/v3/provisioning/services/{CCID}/SMS"
CHAN = f"/nexus/v3/channels/{CHANNEL}/messages"
J = {"Content-Type": "application/json"}
A = {**J, "x-ccid": CCID}
BIG = b'{"url": "' + b"x" * 5000 + b'"}'

CASES = [  # path, headers, body, status, fragment of the message
    (PROV, HEAD, b'{"url": "N/A",', 400, "not valid JSON"),
    (PROV, {**HEAD, "Content-Type": "text/plain"}, SMS, 415, "Content-Type must be application/json"),
    (PROV, {**HEAD, "x-api-key": ""}, SMS, 401, "x-api-key is required"),
    (PROV, {**HEAD, "x-api-key": "wrong"}, SMS, 401, "not a valid"),
    (PROV, {**HEAD, "x-ccid": "other"}, SMS, 400, "does not match"),
    (f"/nexus/v3/provisioning/services/{CCID}/Nope", HEAD, SMS, 404, "unknown service"),
    (PROV, HEAD, BIG, 413, "limit"),
    ("/nexus/v3/sms/message", {**J, "Authorization": BASIC}, b"{", 400, "not valid JSON"),
    ("/nexus/v3/sms/message", {"Content-Type": "text/plain", "Authorization": BASIC}, MO, 415, "Content-Type"),
    ("/nexus/v3/sms/message", J, MO, 401, "Basic"),
    ("/nexus/v3/sms/message", {**J, "Authorization": "Basic " + base64.b64encode(b"x:y").decode()}, MO, 401,
     "refused"),
    ("/nexus/v3/sms/message", {**J, "Authorization": BASIC}, BIG, 413, "limit"),
    (CHAN, {**A, "X-Hub-Signature": sign("api", b"{")}, b"{", 400, "not valid JSON"),
    (CHAN, {**A, "X-Hub-Signature": sign("wrong", INBOUND)}, INBOUND, 403, "does not match"),
    (CHAN, {**J, "X-Hub-Signature": sign("api", INBOUND)}, INBOUND, 400, "x-ccid is required"),
    (CHAN, {**A, "Content-Type": "text/plain", "X-Hub-Signature": sign("api", INBOUND)}, INBOUND, 415,
     "Content-Type"),
    (CHAN, A, BIG, 413, "limit"),
    ("/nexus/v3/mgage/message", {"Content-Type": "application/json"}, b"x=1", 415, "x-www-form-urlencoded"),
    ("/nexus/v3/nowhere", HEAD, SMS, 404, "no resource"),
]


@pytest.fixture
async def client(aiohttp_client: Client) -> tuple[TestClient[Any, Any], NexusServer]:
    server = NexusServer(parse_nexus({"api_keys": KEYS, "services": {"Async": ASYNC}, "senders": {"chat.A": SECTION},
                                      "max_body": 4096}))
    return await aiohttp_client(server.app()), server


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_envelope_nothing_stored(client: tuple[TestClient[Any, Any], NexusServer],
                                                 case: tuple[str, dict[str, str], bytes, int, str]) -> None:
    """Each bad request gets the envelope with its status; nothing is stored; the server goes on serving."""
    http, server = client
    path, headers, body, status, fragment = case
    resp = await http.post(path, data=body, headers=headers)
    answer = await resp.json()
    assert (resp.status, answer["status"]["code"]) == (status, status)
    assert fragment in answer["status"]["message"]
    assert server.model.services.listing(CCID)[0]["service"] == "Async"
    assert len(server.model.services.listing(CCID)) == 1
    assert server.model.interactions.listing() == []
    assert (await http.get("/_smslab/health")).status == 200


async def test_control_reply_refusals(client: tuple[TestClient[Any, Any], NexusServer]) -> None:
    """A reply to an unknown interaction is a 404 envelope; a body without text a 400."""
    http, _ = client
    missing = await http.post("/_smslab/interactions/nope/reply", json={"text": "x"})
    assert (missing.status, (await missing.json())["status"]["message"]) == (404, "no interaction nope")
    assert (await http.post("/_smslab/interactions/nope/reply", data=b"{")).status == 400
