"""Tests for scenarios.lab.nexus: the example lab scenarios/labs/nexus.yaml, each SMS option end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml

from scenarios.lab.assembly import Lab
from scenarios.lab.client import LabClient, LabError
from scenarios.paths import NAMED_LABS, PACKAGE_DIR
from sim.core.signature import sign
from sim.labfile import merge_labs, parse_lab_config

CCID = "45acae06-6b7c-4f97-9c76-471cb5c21bf7"
GMA = "9b7682b7-cbce-422f-9bbb-ecda85e61695"
EXAMPLE = PACKAGE_DIR / "labs" / "nexus.yaml"
# The example lab, with the webhook's answer time and redelivery shortened for the failure test.
OVER = {"nexus": {"webhook": {"timeout": 0.3, "retries": [0.05, 0.05]}}}


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    data = merge_labs(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), OVER)
    async with Lab(parse_lab_config(data, str(EXAMPLE), named=NAMED_LABS)) as running:
        yield running


async def _until(check: Any, timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        return (await resp.json())["data"]


async def test_portico_mo_chat_reply_and_receipt(lab: Lab) -> None:
    """A handset's MO through the fake Portico becomes a chat; the agent's reply goes out with a token; its DR lands."""
    nexus = lab.nexus.url
    assert {"name": "nexus", "kind": "nexus", "url": nexus} in lab.components()
    portico = lab.fake_urls["nx-portico"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{portico}/_smslab/mo", json={"from": "+13125550100", "to": "18445551212",
                                                          "text": "Where is my order?"}) as resp:
            assert resp.status == 202
        chats = await _until(lambda: _get(s, f"{nexus}/_smslab/interactions"))
        (chat,) = chats
        assert (chat["section"], chat["endpoint"], chat["kind"], chat["customer"]) == (
            "chat.SMS_Main_Corporate", "chat.Main", "chat", "+13125550100")
        assert chat["messages"][0]["text"] == "Where is my order?"
        async with s.post(f"{nexus}/_smslab/interactions/{chat['id']}/reply", json={"text": "On its way"}) as resp:
            assert resp.status == 202
            reply_id = (await resp.json())["data"]["id"]

        async def delivered() -> Any:
            one = await _get(s, f"{nexus}/_smslab/interactions/{chat['id']}")
            return [m for m in one["messages"] if m["id"] == reply_id and m["state"] == "delivered"]

        await _until(delivered)
        async with s.get(f"{portico}/_smslab/messages?kind=mt") as resp:
            (mt,) = await resp.json()
        assert (mt["from"], mt["to"], mt["text"]) == ("+18445551212", "+13125550100", "On its way")
    assert lab.nexus.sender.tokens_fetched == 1


async def test_portico_token_renewed_on_expiry(lab: Lab) -> None:
    """A kept token is reused; once within refresh_margin of its expiry a new one is fetched."""
    sender = lab.nexus.sender
    first = await sender.token(CCID)
    assert await sender.token(CCID) == first
    clock = sender.now
    sender.now = lambda: clock() + 86399 - 29  # within refresh_margin (30 s) of expires_in 86399
    assert await sender.token(CCID) != first
    assert sender.tokens_fetched == 2


async def test_kaleyra_mo_reply_and_dr(lab: Lab) -> None:
    """An MO from the fake Kaleyra becomes a chat; the reply is an MT at the mGageSMS URL with its credentials."""
    nexus, kaleyra = lab.nexus.url, lab.fake_urls["nx-kaleyra"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{kaleyra}/_smslab/mo", json={"from": "+13125550111", "to": "1650466114",
                                                          "text": "help"}) as resp:
            assert resp.status == 202
        (chat,) = await _until(lambda: _get(s, f"{nexus}/_smslab/interactions?section=chat.SMS_CustomerSupport"))
        assert (chat["provider"], chat["endpoint"]) == ("mGage", "chat.Support")
        async with s.post(f"{nexus}/_smslab/interactions/{chat['id']}/reply", json={"text": "Hi!"}) as resp:
            reply_id = (await resp.json())["data"]["id"]

        async def delivered() -> Any:
            one = await _get(s, f"{nexus}/_smslab/interactions/{chat['id']}")
            return [m for m in one["messages"] if m["id"] == reply_id and m["state"] == "delivered"]

        await _until(delivered)
        async with s.get(f"{kaleyra}/_smslab/messages?kind=mt") as resp:
            (mt,) = await resp.json()
        assert (mt["from"], mt["to"], mt["text"]) == ("1650466114", "+13125550111", "Hi!")


async def _async_chat(s: aiohttp.ClientSession, lab: Lab) -> dict[str, Any]:
    gateway = lab.fake_urls["nx-gateway"]
    async with s.post(f"{gateway}/_smslab/mo", json={"from": "+13125550122", "to": "16504661149",
                                                      "text": "hello"}) as resp:
        assert resp.status == 202
    (chat,) = await _until(lambda: _get(s, f"{lab.nexus.url}/_smslab/interactions?section=chat.SMS_Async"))
    return dict(chat)


async def _reply(s: aiohttp.ClientSession, lab: Lab, chat: dict[str, Any], text: str) -> str:
    async with s.post(f"{lab.nexus.url}/_smslab/interactions/{chat['id']}/reply", json={"text": text}) as resp:
        return str((await resp.json())["data"]["id"])


async def _state(s: aiohttp.ClientSession, lab: Lab, chat: dict[str, Any], message_id: str, *states: str) -> Any:
    async def check() -> Any:
        one = await _get(s, f"{lab.nexus.url}/_smslab/interactions/{chat['id']}")
        return [m for m in one["messages"] if m["id"] == message_id and m["state"] in states]

    return (await _until(check))[0]


async def test_async_signed_mo_reply_with_headers_and_receipt(lab: Lab) -> None:
    """A signed inbound message becomes a chat; the reply is signed, carries the header: option; its receipt lands."""
    async with aiohttp.ClientSession() as s:
        chat = await _async_chat(s, lab)
        assert chat["provider"] == "Async"
        reply = await _reply(s, lab, chat, "Hi there")
        await _state(s, lab, chat, reply, "delivered")
        async with s.get(f"{lab.fake_urls['nx-gateway']}/_smslab/messages?kind=mt") as resp:
            (mt,) = await resp.json()
    headers = mt["fields"]["headers"]
    assert headers["custom-header-for-async-1"] == "12345"
    assert headers["X-Hub-Signature"].startswith("sha1=")
    assert len(headers["X-B3-TraceId"]) == 32
    assert mt["fields"]["message"] == {"messageId": reply, "channelId": "16504661149", "channelType": "sms",
                                       "from": "16504661149", "to": "+13125550122", "type": "Text",
                                       "text": "Hi there"}


async def test_async_5xx_is_redelivered_and_slow_or_bare_answers_handled(lab: Lab) -> None:
    """A 503 is redelivered (then accepted); answers slower than the timeout exhaust the retries; a bare 2xx is noted."""
    gateway = lab.fake_urls["nx-gateway"]
    async with aiohttp.ClientSession() as s:
        chat = await _async_chat(s, lab)
        await s.put(f"{gateway}/_smslab/faults", json=[{"kind": "error", "status": 503, "count": 1}])
        first = await _reply(s, lab, chat, "one")
        await _state(s, lab, chat, first, "sent", "delivered")
        await s.put(f"{gateway}/_smslab/faults", json=[{"kind": "latency", "delay": 1.0, "count": 3}])
        slow = await _reply(s, lab, chat, "two")
        failed = await _state(s, lab, chat, slow, "failed")
        assert "no answer within 0.3 s" in failed["status"]
        bare = [{"kind": "error", "status": 200, "body": "{}", "content_type": "application/json", "count": 1}]
        await s.put(f"{gateway}/_smslab/faults", json=bare)
        third = await _reply(s, lab, chat, "three")
        sent = await _state(s, lab, chat, third, "sent")
        assert sent["provider_message_id"] == ""
        async with s.get(f"{lab.nexus.url}/_smslab/attempts") as resp:
            outcomes = [(a["status"], a["outcome"]) for a in (await resp.json())["data"]]
    assert outcomes[:2] == [(503, "5xx: to be redelivered"), (200, "accepted")]
    assert outcomes[2:5] == [(0, "no answer within 0.3 s")] * 3
    assert outcomes[5] == (200, "accepted without messageId: receipts cannot be matched")


async def test_async_bad_signature_refused_nothing_stored(lab: Lab) -> None:
    """An inbound call with a wrong signature is a 403 envelope and no interaction is made."""
    body = json.dumps({"messages": [{"messageId": "x", "from": "+13125550122", "text": "hi"}]}).encode()
    headers = {"Content-Type": "application/json", "x-ccid": CCID, "X-Hub-Signature": sign("wrong", body)}
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{lab.nexus.url}/nexus/v3/channels/16504661149/messages", data=body,
                          headers=headers) as resp:
            assert resp.status == 403
            assert (await resp.json())["status"]["code"] == 403
        assert await _get(s, f"{lab.nexus.url}/_smslab/interactions") == []


async def test_control_api_and_client_reach_nexus(lab: Lab) -> None:
    """The control API's /_smslab/nexus routes (and LabClient's helpers) list chats and send an agent's reply."""
    async with aiohttp.ClientSession() as s:
        await _async_chat(s, lab)
    client = LabClient(lab.url)
    (chat,) = await asyncio.to_thread(client.nexus_interactions, section="chat.SMS_Async")
    sent = await asyncio.to_thread(client.nexus_reply, chat["id"], "via the control API")
    assert sent["state"] == "pending"
    one = await asyncio.to_thread(client.nexus_interaction, chat["id"])
    assert [m["text"] for m in one["messages"]] == ["hello", "via the control API"]
    with pytest.raises(LabError) as refused:
        await asyncio.to_thread(client.nexus_reply, "no-such-id", "x")
    assert (refused.value.status, refused.value.error) == (404, "no interaction no-such-id")


async def test_campaign_through_portico_with_dr_states(lab: Lab) -> None:
    """A campaign renders each recipient's fields, goes out through the section's provider, and ends delivered."""
    client = LabClient(lab.url)
    recipients = [{"number": "+13125550101", "fields": {"name": "Ann"}},
                  {"number": "+13125550102", "fields": {"name": "Bob"}}]
    started = await asyncio.to_thread(client.nexus_campaign, "chat.SMS_Main_Corporate", "Hi {name}, it shipped",
                                      recipients, 50)
    assert started["states"] == {"pending": 2}

    async def done() -> Any:
        (one,) = await asyncio.to_thread(client.nexus_campaigns)
        return one if one["states"] == {"delivered": 2} else None

    finished = await _until(done)
    assert [(r["number"], r["text"]) for r in finished["recipients"]] == [
        ("+13125550101", "Hi Ann, it shipped"), ("+13125550102", "Hi Bob, it shipped")]
    with pytest.raises(LabError) as refused:
        await asyncio.to_thread(client.nexus_campaign, "chat.SMS_Main_Corporate", "Hi {name}",
                                [{"number": "+13125550103"}])
    assert refused.value.status == 400
    assert "must give name" in refused.value.error
