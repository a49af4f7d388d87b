"""Tests of sim.cic.clients: agent sends rendered for the broker, DRs back on the interaction, the proxy."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from nodekit import LOCAL, ROUTE_ANY, call, config, eztexting, fake, generic_json, kaleyra, running

from sim.cic.clients import basic, definition_for, proxy_url
from sim.core.config import BrokerConfig, ProxySettings
from sim.core.errors import ConfigError, InputError

MO = {"device_address": "13175550123", "inbound_address": LOCAL, "message": "Hello", "message_id": "m-1"}
FAKE = {"accounts": [{"username": "smslab", "password": "secret"}], "dlr": {"delay": {"seconds": 0.0}}}


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_an_agent_send_renders_the_exact_kaleyra_request_and_the_dr_lands_on_the_interaction() -> None:
    """The fake captures reply_to/recipient/body/reporting_key1 as rendered; its DR updates the interaction."""
    async with fake("kaleyra", "k", FAKE) as broker, running(config(
            kaleyra(gateway=broker.url), route_to=("kaleyra", "main"))) as node:
        broker.settings = replace(broker.settings, dr_url=node.dr_urls["kaleyra"])
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        interaction = node.records.interactions()[0]
        answer = await node.records.send("3175550123", "Your order shipped", sender="alice",
                                         classification="Local", interaction_id=interaction.id)
        [mt] = broker.capture.query(kind="mt")
        assert ("8005550100", "+13175550123", "Your order shipped") == (mt.sender, mt.recipient, mt.text)
        assert {"reply_to": "8005550100", "recipient": "+13175550123", "body": "Your order shipped",
                "reporting_key1": answer["correlation"]}.items() <= dict(mt.fields).items()
        assert [{"broker": "kaleyra", "url": broker.url + "/a2w_preRouter/httpApiRouter", "status": 200,
                 "accepted": True, "message_ids": [mt.message_id], "reason": ""}] == answer["requests"]
        await wait_for(lambda: node.records.view(node.records.interactions()[0])["deliveries"][0]["state"] == "delivered")
        record = node.records.view(node.records.interactions()[0])
        assert [{"broker": "kaleyra", "message_id": mt.message_id, "correlation": answer["correlation"],
                 "state": "delivered", "raw_status": "Carrier Success/200"}] == [
            {k: v for k, v in d.items() if k != "at"} for d in record["deliveries"]]
        last = node.records.interactions()[0].transcript[-1]
        assert ("out", "Your order shipped", "agent:alice") == (last.direction.value, last.text, last.party)


async def test_the_dr_url_handed_to_the_broker_is_the_public_base_when_set() -> None:
    """ExternalDeliveryStatusURI is public_bases[broker] + the DR path (the proxy), else the node's own."""
    async with fake("http-broker", "generic-json", {"accounts": [{"id": "gj1", "login": "u", "password": "tok"}],
                                                    "dlr": {"delay": {"seconds": 0.0}}}) as broker, running(
            config(generic_json(gateway=broker.url), route_to=("gj", "gj1"))) as node:
        await node.records.send("3175550123", "one", classification="Local")
        node.public_bases["gj"] = "http://proxy.example:8080"
        await node.records.send("3175550123", "two", classification="Local")
        own, public = (dict(m.fields)["callback_url"] for m in broker.capture.query(kind="mt"))
        assert (node.dr_urls["gj"], "http://proxy.example:8080/sms/status") == (own, public)


async def test_a_refused_send_raises_input_error_with_the_core_status() -> None:
    """No outbound route: 404 from the core, raised as InputError; nothing is sent."""
    async with running(config(kaleyra())) as node:
        with pytest.raises(InputError, match="no outbound route") as caught:
            await node.records.send("3175550123", "x")
        assert 404 == caught.value.status


async def test_a_broker_that_does_not_answer_is_reported_in_the_send_result() -> None:
    """A refused connection: status 0, not accepted, the reason, and an error in the node log."""
    async with running(config(kaleyra(gateway="http://127.0.0.1:9"), route_to=("kaleyra", "main"))) as node:
        answer = await node.records.send("3175550123", "x", classification="Local")
        [request] = answer["requests"]
        assert (0, False) == (request["status"], request["accepted"])
        assert "ClientConnectorError" in request["reason"]
        assert node.log[-1]["message"].startswith("MT to +13175550123 through broker kaleyra failed: HTTP 0")


class ForwardProxy:
    """A tiny forward proxy: 407 without the expected Proxy-Authorization, else it relays the request."""

    def __init__(self, login: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
        self.seen: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        credential = request.headers.get("Proxy-Authorization", "")
        self.seen.append((str(request.url), credential))
        if credential != self.expected:
            return web.Response(status=407, headers={"Proxy-Authenticate": 'Basic realm="corp"'})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("proxy-authorization", "host")}
        async with aiohttp.ClientSession() as session, session.request(
                request.method, str(request.url), headers=headers, data=await request.read()) as answer:
            return web.Response(status=answer.status, body=await answer.read(),
                                headers={"Content-Type": answer.headers.get("Content-Type", "text/plain")})


@pytest.mark.parametrize(("login", "accepted"), [("corp", True), ("", False)], ids=["credentials", "none"])
async def test_mts_go_through_the_corporate_proxy_with_proxy_authorization(login: str, accepted: bool) -> None:
    """With the proxy login the MT reaches the broker through the proxy; without it the proxy answers 407."""
    proxy = ForwardProxy("corp", "pw")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with fake("kaleyra", "k", FAKE) as broker, running(config(kaleyra(
                gateway=broker.url, proxy={"address": f"127.0.0.1:{port}", "login": login, "password": "pw"}),
                route_to=("kaleyra", "main"))) as node:
            [request] = (await node.records.send("3175550123", "via proxy", classification="Local"))["requests"]
            assert ((200 if accepted else 407), accepted) == (request["status"], request["accepted"])
            assert len(broker.capture.query(kind="mt")) == (1 if accepted else 0)
            expected = basic("corp", "pw") if login else ""
            assert [(broker.url + "/a2w_preRouter/httpApiRouter", expected)] == proxy.seen
    finally:
        await runner.cleanup()


def test_an_unknown_broker_type_is_a_config_error() -> None:
    """A type with no definition names the field and lists the known types."""
    with pytest.raises(ConfigError, match="must be a broker type the node speaks"):
        definition_for(BrokerConfig("x", "smoke-signals"), "brokers[0].type")


def test_types_map_to_their_definitions() -> None:
    """kaleyra and eztexting name their definitions; a shipped name is used as is."""
    names = [definition_for(BrokerConfig("b", t)).name for t in ("kaleyra", "eztexting", "generic-form")]
    assert ["kaleyra-directtext", "eztexting", "generic-form"] == names


def test_proxy_url_adds_the_scheme() -> None:
    """host:port gets http://; an empty address means no proxy."""
    assert ("http://corp:3128", "https://c:1", "") == (proxy_url(ProxySettings("corp:3128")),
                                                        proxy_url(ProxySettings("https://c:1")),
                                                        proxy_url(ProxySettings()))


async def test_a_held_message_wakes_the_timer_task_for_its_consolidation_window() -> None:
    """A send held for consolidation goes out when its window ends, not at the node's next tick."""
    from sim.core.validation import load_cic_config

    async with fake("kaleyra", "k", FAKE) as broker:
        cfg = load_cic_config({
            "sms": {"default_route": {"destination": "Chat"}, "consolidate_messages": True,
                    "consolidation": {"window": 0.2, "separator": " "},
                    "outbound_routes": [{**ROUTE_ANY, "broker": "kaleyra", "account": "main"}]},
            "brokers": [kaleyra(gateway=broker.url)]})
        async with running(cfg, tick=30.0) as node:
            await asyncio.sleep(0.05)  # let the timer task go to sleep for its 30 s tick first
            answer = await node.records.send("3175550123", "short", classification="Local")
            assert (True, []) == (answer["held"], answer["requests"])
            await wait_for(lambda: len(broker.capture.query(kind="mt")) == 1, timeout=2.0)
            assert ["short"] == [m.text for m in broker.capture.query(kind="mt")]


EZ_MO = {"PhoneNumber": "3175550123", "ShortCode": "313131", "Message": "hi", "MessageId": "ez-1"}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"PhoneNumber": ""}, "'PhoneNumber' is required"),
    ({"ShortCode": None}, "missing field(s) ShortCode"),
    ({"ShortCode": ""}, "'ShortCode' is required"),
    ({"Message": ""}, "missing field(s) Message"),
    ({"PhoneNumber": "317\x005550123"}, "'PhoneNumber' holds the character U+0000"),
    ({"ShortCode": "3131\r\n31"}, "'ShortCode' holds the character U+000D"),
    ({"PhoneNumber": "3" * 300_000}, "'PhoneNumber' is 300000 characters long"),
    ({"MessageId": "ez\r\n1"}, "'MessageId' holds the character U+000D"),
], ids=["empty-from", "no-short-code", "empty-short-code", "empty-message", "nul-from", "crlf-to", "huge-from",
        "crlf-id"])
async def test_an_eztexting_mo_missing_what_the_definition_needs_is_refused(changes: dict[str, Any],
                                                                           reason: str) -> None:
    """The node's EzTexting listener refuses empty or missing numbers and text, NUL, CRLF and huge numbers."""
    fields = {k: v for k, v in {**EZ_MO, **changes}.items() if v is not None}
    async with running(config(eztexting())) as node:
        status, text = await call("POST", node.sms_urls["eztexting"], data=fields)
        assert 400 == status
        assert reason in text
        assert (0, []) == (node.records.store.count(), node.records.interactions())
        assert (200, "OK") == await call("POST", node.sms_urls["eztexting"], data=EZ_MO)
