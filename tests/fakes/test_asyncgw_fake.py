"""Tests for fakes.asyncgw: the fake aggregator's webhook (signature in constant time, faults) and its signed pushes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from fakes import registry
from sim.core.errors import ConfigError
from sim.core.signature import SignatureEncoding, sign, verify_signature

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
SETTINGS = {"channels": [{"channel_id": "16504661149", "webhook_secret": "wh", "api_secret": "api"}],
            "dlr": {"enabled": False}}
BODY = json.dumps({"messages": [{"messageId": "n1", "channelId": "16504661149", "from": "16504661149",
                                 "to": "+13125550100", "text": "hi"}]}).encode()


async def _client(aiohttp_client: Client, **extra: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(registry.create("asyncgw", "gw", {**SETTINGS, **extra}).app())


async def test_signed_message_answered_with_message_id(aiohttp_client: Client) -> None:
    """A correctly signed webhook is captured with its headers and answered 200 {"messageId"}."""
    client = await _client(aiohttp_client)
    headers = {"X-Hub-Signature": sign("wh", BODY), "Content-Type": "application/json", "custom-header-x": "1"}
    resp = await client.post("/some/webhook/path", data=BODY, headers=headers)
    assert resp.status == 200
    answer = await resp.json()
    (mt,) = await (await client.get("/_smslab/messages?kind=mt")).json()
    assert (mt["message_id"], mt["to"], mt["text"]) == (answer["messageId"], "+13125550100", "hi")
    assert mt["fields"]["headers"]["custom-header-x"] == "1"


@pytest.mark.parametrize("signature", ["", "sha1=00", sign("other", BODY), sign("wh", BODY, SignatureEncoding.BASE64)])
async def test_bad_signature_refused_nothing_stored(aiohttp_client: Client, signature: str) -> None:
    """A missing, wrong, or wrongly encoded signature is a 401 and nothing is captured."""
    client = await _client(aiohttp_client)
    resp = await client.post("/hook", data=BODY, headers={"X-Hub-Signature": signature} if signature else {})
    assert resp.status == 401
    assert "X-Hub-Signature" in (await resp.json())["error"]
    assert await (await client.get("/_smslab/messages")).json() == []


async def test_base64_by_setting(aiohttp_client: Client) -> None:
    """With signature: base64 the base64 digest is the one accepted."""
    client = await _client(aiohttp_client, signature="base64")
    ok = await client.post("/hook", data=BODY, headers={"X-Hub-Signature": sign("wh", BODY, SignatureEncoding.BASE64)})
    hexed = await client.post("/hook", data=BODY, headers={"X-Hub-Signature": sign("wh", BODY)})
    assert (ok.status, hexed.status) == (200, 401)


async def test_faults_make_the_documented_failures(aiohttp_client: Client) -> None:
    """The fault hook gives a 503 and a 2xx without messageId, neither captured."""
    client = await _client(aiohttp_client)
    faults = [{"kind": "error", "status": 503, "count": 1},
              {"kind": "error", "status": 200, "body": "{}", "content_type": "application/json", "count": 1}]
    assert (await client.put("/_smslab/faults", json=faults)).status == 200
    headers = {"X-Hub-Signature": sign("wh", BODY)}
    first = await client.post("/hook", data=BODY, headers=headers)
    second = await client.post("/hook", data=BODY, headers=headers)
    assert (first.status, second.status, await second.json()) == (503, 200, {})
    assert await (await client.get("/_smslab/messages")).json() == []


def test_signature_hex_is_hmac_sha1() -> None:
    """The signature is sha1= + the lower-case hex HMAC-SHA1 (RFC 2202 test case 2)."""
    assert sign("Jefe", b"what do ya want for nothing?") == "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    assert verify_signature("sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "Jefe", b"what do ya want for nothing?")


def test_settings_need_channels() -> None:
    """Without channels the settings are refused, naming the field."""
    with pytest.raises(ConfigError, match=r"fakes.gw.channels: must list at least one channel"):
        registry.create("asyncgw", "gw", {})
