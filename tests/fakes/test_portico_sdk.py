"""The Portico fake driven by the real Genesys Cloud Python SDK (PureCloudPlatformClientV2) over loopback.

The SDK is blocking (urllib3), so each call runs in a worker thread while the fake serves on the loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from fakes.common import ManualClock
from fakes.portico import PorticoFake, read_settings

sdk = pytest.importorskip("PureCloudPlatformClientV2")
from PureCloudPlatformClientV2.rest import ApiException  # noqa: E402

START = 1_700_000_000.0
NUMBER = "+18445551212"
Server = Callable[..., Awaitable[TestServer]]


def build(**extra: Any) -> PorticoFake:
    common, portico = read_settings({
        "seed": 5, "clients": [{"id": "nexus", "secret": "s3cret"}],
        "numbers": [{"number": NUMBER[1:]}], "sms": {"receipts": "always"}, **extra}, "fakes.portico")
    return PorticoFake("portico", common, portico, clock=ManualClock(START))


async def login(server: TestServer, secret: str = "s3cret") -> Any:
    """An SDK client holding a token from the fake's login service (the same host, as Option 3 allows)."""
    client = sdk.ApiClient(host=str(server.make_url("")).rstrip("/"))
    return await asyncio.to_thread(client.get_client_credentials_token, "nexus", secret)


@pytest.fixture
async def served(aiohttp_server: Server) -> tuple[PorticoFake, TestServer]:
    fake = build()
    return fake, await aiohttp_server(fake.app())


async def test_the_sdk_gets_a_token_and_a_bad_secret_is_an_sdk_error(
        served: tuple[PorticoFake, TestServer]) -> None:
    """get_client_credentials_token works; a wrong secret raises the SDK's ApiException with the body."""
    client = await login(served[1])
    assert 86 == len(client.access_token)
    with pytest.raises(ApiException) as caught:
        await login(served[1], "wrong")
    assert "invalid_client" == json.loads(caught.value.body)["error"]


async def test_the_sdk_lists_provisions_and_reads_sms_phone_numbers(
        served: tuple[PorticoFake, TestServer]) -> None:
    """RoutingApi's SMS number calls deserialise into SmsAvailablePhoneNumber and SmsPhoneNumber models."""
    routing = sdk.RoutingApi(await login(served[1]))
    found = await asyncio.to_thread(routing.get_routing_sms_availablephonenumbers, "US", "local",
                                    area_code="312")
    assert 30 == len(found.entities)
    assert all(e.phone_number.startswith("+1312") and e.phone_number_type == "local"
               and e.country_code == "US" for e in found.entities)
    wanted = found.entities[0].phone_number
    body = sdk.SmsPhoneNumberProvision()
    body.phone_number, body.phone_number_type, body.country_code = wanted, "local", "US"
    made = await asyncio.to_thread(routing.post_routing_sms_phonenumbers, body)
    assert (wanted, "local", "PENDING", 2023) == (made.phone_number, made.phone_number_type,
                                                  made.phone_number_status, made.date_created.year)
    listing = await asyncio.to_thread(routing.get_routing_sms_phonenumbers)
    assert [NUMBER, wanted] == [e.phone_number for e in listing.entities]
    assert (2, 1, "ACTIVE", 2023) == (listing.total, listing.page_count, listing.entities[0].phone_number_status,
                                      listing.entities[0].date_created.year)
    one = await asyncio.to_thread(routing.get_routing_sms_phonenumber, made.id)
    assert (made.id, wanted) == (one.id, one.phone_number)
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(routing.get_routing_sms_phonenumber, "no-such-id")
    assert (404, "not.found") == (caught.value.status, json.loads(caught.value.body)["code"])


async def test_the_sdk_sends_an_agentless_sms_that_the_fake_captures(
        served: tuple[PorticoFake, TestServer]) -> None:
    """post_conversations_messages_agentless answers a SendAgentlessOutboundMessageResponse; the MT is captured."""
    fake, server = served
    conversations = sdk.ConversationsApi(await login(server))
    body = sdk.SendAgentlessOutboundMessageRequest()
    body.from_address, body.to_address, body.to_address_messenger_type = NUMBER, "+13125550100", "sms"
    body.text_body = "Hello ☺"
    sent = await asyncio.to_thread(conversations.post_conversations_messages_agentless, body)
    assert (NUMBER, "+13125550100", "sms", "outbound", "queued") == (
        sent.from_address, sent.to_address, sent.messenger_type, sent.message.direction, sent.message.status)
    assert [(NUMBER, "+13125550100", "Hello ☺", sent.id)] == [
        (r.sender, r.recipient, r.text, r.message_id) for r in fake.capture.query(kind="mt")]
    body.to_address_messenger_type = "whatsapp"
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(conversations.post_conversations_messages_agentless, body)
    error = json.loads(caught.value.body)
    assert (400, "invalid.value") == (caught.value.status, error["code"])
    assert 1 == len(fake.capture.query(kind="mt"))


async def test_the_sdk_retries_a_throttled_call_after_retry_after(
        served: tuple[PorticoFake, TestServer]) -> None:
    """A 429 from the throttle fault carries Retry-After, so the SDK's urllib3 retries once and succeeds."""
    fake, server = served
    routing = sdk.RoutingApi(await login(server))
    async with aiohttp.ClientSession() as session:
        put = await session.put(server.make_url("/_smslab/faults"), json={
            "kind": "throttle", "retry_after": 1, "count": 1, "path": "^/api/v2/routing"})
        assert 200 == put.status
    listing = await asyncio.to_thread(routing.get_routing_sms_phonenumbers)
    assert [NUMBER] == [e.phone_number for e in listing.entities]
    assert [] == fake.faults.active()
