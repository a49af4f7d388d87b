"""Tests of fakes.httpdef.fake: the definition-driven fake served through aiohttp's test client."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import sim.brokerdef
from fakes.common import ManualClock
from fakes.httpdef import HttpDefFake, create, read_fake
from fakes.registry import create as registry_create
from sim.brokerdef import (
    Accepted,
    Account,
    parse_dr,
    parse_mo,
    parse_mt_answer,
    push_fields,
    render_mt,
    shipped,
)
from sim.core.errors import ConfigError
from sim.core.types import DeliveryState, InboundSms, MtRequest

Client = Callable[..., Awaitable[TestClient]]
Server = Callable[..., Awaitable[TestServer]]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GOOD = "User=u&Pass=p&PhoneNumber=5551234567&Subject=&Message=Hello+there&Express=1"
ACCOUNTS = [{"id": "a1", "login": "u", "password": "p"}]


def basic(login: str, password: str) -> str:
    """A Basic Authorization value (aiohttp 3.14 deprecates its BasicAuth helper)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def fake(name: str = "eztexting", clock: ManualClock | None = None, **settings: Any) -> HttpDefFake:
    """A fake built from settings the way the registry builds it, with an optional manual clock."""
    common, own = read_fake(name, {"accounts": ACCOUNTS, **settings}, f"fakes.{name}")
    return HttpDefFake(name, common, own, clock=clock or ManualClock())


async def send(client: TestClient, body: str | bytes, headers: dict[str, str] | None = None,
               path: str = "/api/sending") -> tuple[int, str]:
    response = await client.post(path, data=body, headers=FORM if headers is None else headers)
    return response.status, await response.text()


async def captured(client: TestClient, kind: str = "mt") -> list[dict[str, Any]]:
    response = await client.get(f"/_smslab/messages?kind={kind}")
    return list(await response.json())


class Receiver:
    """A small aiohttp server standing in for the CIC node: it keeps every push it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, bytes]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.path, request.query_string, request.headers.get("Content-Type", ""), body))
        self.arrived.set()
        return web.Response(text="OK")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def wait(self, count: int = 1) -> None:
        """Wait (bounded) until ``count`` pushes arrived; pushes travel over a real loopback socket."""
        async with asyncio.timeout(5):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_an_eztexting_mt_is_answered_one_and_captured_with_its_credentials_masked(
        aiohttp_client: Client) -> None:
    """A good request gets the bare '1' and is captured with its wire fields, User and Pass masked."""
    client = await aiohttp_client(fake().app())
    assert (200, "1") == await send(client, GOOD)
    [record] = await captured(client)
    assert ("5551234567", "Hello there", "accepted by account a1") == (record["to"], record["text"],
                                                                        record["status"])
    assert {"User": "***", "Pass": "***", "PhoneNumber": "5551234567", "Subject": "", "Message": "Hello there",
            "Express": "1"} == record["fields"]


async def test_a_bogus_content_encoding_gets_the_bad_request_answer(aiohttp_client: Client) -> None:
    """A body that says gzip and is not gets the definition's bad_request answer (-10), not a 500."""
    client = await aiohttp_client(fake().app())
    assert (200, "-10") == await send(client, GOOD, {**FORM, "Content-Encoding": "gzip"})
    assert [] == await captured(client)


async def test_a_get_request_is_accepted_too(aiohttp_client: Client) -> None:
    """EzTexting takes its parameters by GET as well."""
    client = await aiohttp_client(fake().app())
    response = await client.get("/api/sending?" + GOOD)
    assert (200, "1") == (response.status, await response.text())


@pytest.mark.parametrize(("body", "headers", "answer"), [
    (GOOD.replace("Pass=p", "Pass=x"), None, "-1"),
    (GOOD.replace("User=u&", ""), None, "-1"),
    (GOOD.replace("PhoneNumber=5551234567&", ""), None, "-10"),
    (GOOD.replace("5551234567", "555"), None, "-10"),
    (GOOD, {"Content-Type": "application/json"}, "-10"),
    (GOOD.replace("Hello+there", "%FF%FE"), None, "-10"),
    (GOOD.encode().replace(b"Hello", b"H\xe9llo"), None, "-10"),
    (GOOD.replace("Hello+there", "Say+%22hi%22"), None, "-7"),
    (GOOD.replace("Hello+there", "a" * 161), None, "-7"),
    (GOOD + "&Message=" + "a" * 2000, None, "-10"),
])
async def test_bad_requests_get_the_bare_code_store_nothing_and_the_fake_keeps_serving(
        aiohttp_client: Client, body: str | bytes, headers: dict[str, str] | None, answer: str) -> None:
    """Bad credentials, missing or malformed fields, wrong type, bad UTF-8, bad text, oversize: each its code."""
    client = await aiohttp_client(fake(client_max_size=1024).app())
    assert (200, answer) == await send(client, body, headers)
    assert [] == await captured(client)
    assert (200, "1") == await send(client, GOOD)


async def test_credit_runs_out_with_minus_two(aiohttp_client: Client) -> None:
    """With credit 1, the second message is refused with -2 and not captured."""
    client = await aiohttp_client(fake(credit=1).app())
    assert [(200, "1"), (200, "-2")] == [await send(client, GOOD), await send(client, GOOD)]
    assert 1 == len(await captured(client))


async def test_opted_out_numbers_get_minus_five(aiohttp_client: Client) -> None:
    """A number on the opt-out list is refused with -5."""
    client = await aiohttp_client(fake(opt_out=["5551234567"]).app())
    assert (200, "-5") == await send(client, GOOD)


async def test_the_length_limit_is_a_setting(aiohttp_client: Client) -> None:
    """max_length 130 (the old API's limit) refuses 131 characters with -7."""
    client = await aiohttp_client(fake(max_length=130).app())
    assert (200, "-7") == await send(client, GOOD.replace("Hello+there", "a" * 131))
    assert (200, "1") == await send(client, GOOD.replace("Hello+there", "a" * 130))


async def test_the_rate_limit_follows_the_fake_clock(aiohttp_client: Client) -> None:
    """At rate 2, a third request within a second is refused until the clock moves on."""
    clock = ManualClock()
    client = await aiohttp_client(fake(clock=clock, rate=2).app())
    assert [(200, "1"), (200, "1"), (200, "-10")] == [await send(client, GOOD) for _ in range(3)]
    await clock.advance(1.0)
    assert (200, "1") == await send(client, GOOD)


async def test_an_unknown_path_is_a_404_in_the_broker_format(aiohttp_client: Client) -> None:
    """A wrong path keeps its 404 status, with the broker's failure body."""
    client = await aiohttp_client(fake().app())
    assert (404, "-10") == await send(client, GOOD, path="/nowhere")


async def test_kaleyra_answers_one_recipient_element_per_number(aiohttp_client: Client) -> None:
    """Two recipients give two captured MTs and two ids in the XML answer; bad Basic auth is a 401."""
    client = await aiohttp_client(fake("kaleyra-directtext", dlr={"enabled": False}).app())
    path = "/a2w_preRouter/httpApiRouter?reply_to=123&recipient=%2B1&recipient=%2B2&body=hi"
    response = await client.post(path, headers={"Authorization": basic("u", "p")})
    body = await response.text()
    ids = [r["message_id"] for r in await captured(client)]
    assert 2 == len(ids)
    assert (f"<recipient><mobileNumber>+1</mobileNumber><messageId>{ids[0]}</messageId></recipient>"
            f"<recipient><mobileNumber>+2</mobileNumber><messageId>{ids[1]}</messageId></recipient>") in body
    denied = await client.post(path, headers={"Authorization": basic("u", "wrong")})
    assert (401, '<?xml version="1.0" encoding="UTF-8"?><httpApiResponse><code>401</code><description>'
                 "Authentication failed</description></httpApiResponse>") == (denied.status, await denied.text())
    assert 2 == len(await captured(client))


async def test_a_dr_goes_to_the_per_message_url_when_due(aiohttp_client: Client, aiohttp_server: Server) -> None:
    """generic-form sends the DR to status_callback after the DLR delay, in its form fields."""
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    clock = ManualClock()
    the_fake = fake("generic-form", clock=clock, dlr={"delay": {"seconds": 30}})
    client = await aiohttp_client(the_fake.app())
    mt = MtRequest("g", "a1", "+1999", "+15550001", "hi", correlation="corr-1")
    request = render_mt(shipped("generic-form"), Account("a1", "u", "p"), mt, "http://unused",
                        options={"ExternalDeliveryStatusURI": str(server.make_url("/dr"))})
    response = await client.post(request.path, data=request.body, headers=dict(request.headers))
    message_id = (await response.json())["messages"][0]["id"]
    await clock.advance(29)
    assert [] == receiver.requests
    await clock.advance(1)
    await receiver.wait()
    path, _, content_type, body = receiver.requests[0]
    assert ("/dr", "application/x-www-form-urlencoded") == (path, content_type)
    receipt = parse_dr(shipped("generic-form"), push_fields(shipped("generic-form").dr.push, "", content_type, body))
    assert (message_id, DeliveryState.DELIVERED, "+15550001") == (receipt.message_id, receipt.state,
                                                                  receipt.recipient)
    assert b"client_ref=corr-1" in body
    [dlr] = await captured(client, "dlr")
    assert ("delivered/0", "delivered") == (dlr["status"], dlr["state"])
    the_fake.check()


async def test_an_injected_mo_is_pushed_in_the_definition_format(aiohttp_client: Client,
                                                                  aiohttp_server: Server) -> None:
    """POST /_smslab/mo pushes the MO with the definition's fields, and the CIC side reads it back."""
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    client = await aiohttp_client(fake(mo_url=str(server.make_url("/receivesms.php"))).app())
    response = await client.post("/_smslab/mo", json={"from": "5551234567", "to": "12345", "text": "Hi é",
                                                      "message_id": "MO-1"})
    assert 202 == response.status
    await receiver.wait()
    path, query, content_type, body = receiver.requests[0]
    assert ("/receivesms.php", b"PhoneNumber=5551234567&ShortCode=12345&Message=Hi+%C3%A9&MessageId=MO-1") == (
        path, body)
    sms = parse_mo(shipped("eztexting"), push_fields(shipped("eztexting").mo, query, content_type, body), "ez")
    assert InboundSms("ez", "5551234567", "12345", "Hi é", "MO-1") == sms


async def test_an_mo_with_an_unknown_extra_field_is_refused(aiohttp_client: Client) -> None:
    """Only message_id may accompany from, to and text; nothing is captured otherwise."""
    client = await aiohttp_client(fake(mo_url="http://127.0.0.1:9/x").app())
    response = await client.post("/_smslab/mo", json={"from": "1", "to": "2", "text": "t", "carrier": "x"})
    assert (400, []) == (response.status, await captured(client, "mo"))


async def test_an_injected_error_fault_keeps_its_status_with_the_broker_body(aiohttp_client: Client) -> None:
    """An error fault of 503 answers 503 with EzTexting's catch-all body, and nothing is captured."""
    client = await aiohttp_client(fake(faults=[{"kind": "error", "status": 503, "count": 1}]).app())
    assert [(503, "-10"), (200, "1")] == [await send(client, GOOD), await send(client, GOOD)]
    assert 1 == len(await captured(client))


async def test_a_dr_without_any_url_is_captured_but_not_pushed(aiohttp_client: Client) -> None:
    """With no dr_url and no per-message URL, the DR is still recorded when due."""
    clock = ManualClock()
    the_fake = fake("generic-form", clock=clock, dlr={"outcomes": {"failed": 1}})
    client = await aiohttp_client(the_fake.app())
    response = await client.post("/v1/messages", data="to=%2B1555&from=1&body=x",
                                 headers={**FORM, "Authorization": basic("u", "p")})
    assert 200 == response.status
    await clock.advance(1)
    [dlr] = await captured(client, "dlr")
    assert ("failed/1", "failed", "+1555") == (dlr["status"], dlr["state"], dlr["to"])
    assert [] == list(the_fake.pusher.attempts)


async def test_an_mo_url_without_a_path_gets_the_definition_path(aiohttp_client: Client,
                                                                 aiohttp_server: Server) -> None:
    """mo_url naming a host only is completed with the definition's incoming path (/receivesms.php)."""
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    client = await aiohttp_client(fake(mo_url=str(server.make_url("/"))).app())
    response = await client.post("/_smslab/mo", json={"from": "5551234567", "to": "12345", "text": "x"})
    assert 202 == response.status
    await receiver.wait()
    assert "/receivesms.php" == receiver.requests[0][0]


def test_the_registry_builds_an_http_broker_by_name() -> None:
    """Kind http-broker with a fake name picks the shipped definition of that name."""
    built = registry_create("http-broker", "kaleyra-directtext", {})
    assert isinstance(built, HttpDefFake)
    assert ("kaleyra-directtext", ("/a2w_preRouter/httpApiRouter",)) == (built.definition.name, built.own.paths)


def test_settings_problems_are_reported_together(tmp_path: Path) -> None:
    """Unknown keys and a DR outcome the definition has no word for are refused with their paths."""
    shipped_file = Path(sim.brokerdef.__file__).parent / "definitions" / "kaleyra-directtext.yaml"
    delivered_only = "\n".join(line for line in shipped_file.read_text(encoding="utf-8").splitlines()
                               if "state: delivered}" in line or "state:" not in line)
    definition = tmp_path / "kaleyra-delivered-only.yaml"
    definition.write_text(delivered_only, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        create("k1", {"definition": str(definition), "dlr": {"outcomes": {"failed": 1}}, "nope": 1},
               "fakes.k1")
    found = [(p.path, p.reason) for p in caught.value.problems]
    assert ("fakes.k1.nope", "is not a known field") in found
    assert ("fakes.k1.dlr.outcomes", "definition 'kaleyra-directtext' has no DR status for this outcome") in found


async def test_a_node_and_the_fake_talk_over_real_sockets(aiohttp_server: Server) -> None:
    """render_mt sent by an aiohttp client to a started fake is accepted; its DR reaches the node's URL."""
    receiver = Receiver()
    node = await aiohttp_server(receiver.app())
    clock = ManualClock()
    the_fake = fake("kaleyra-directtext", clock=clock, dr_url=str(node.make_url("/kaleyra/dr")),
                    dlr={"delay": {"seconds": 5}})
    definition = shipped("kaleyra-directtext")
    url = await the_fake.start()
    try:
        mt = MtRequest("k", "a1", "12345", "+15550001", "Hello over TCP", correlation="key-1")
        request = render_mt(definition, Account("a1", "u", "p"), mt, url)
        async with aiohttp.ClientSession() as session, session.request(
                request.method, request.url, headers=dict(request.headers), data=request.body) as response:
            answer = parse_mt_answer(definition, response.status, dict(response.headers), await response.read())
        assert isinstance(answer, Accepted)
        assert (("+15550001",), [r.message_id for r in the_fake.capture]) == (answer.recipients,
                                                                              list(answer.message_ids))
        await clock.advance(5)
        await receiver.wait()
        path, query, content_type, body = receiver.requests[0]
        receipt = parse_dr(definition, push_fields(definition.dr.push, query, content_type, body), "k")
        assert ("/kaleyra/dr", answer.message_ids[0], DeliveryState.DELIVERED) == (
            path, receipt.message_id, receipt.state)
        assert b"client_message_id=key-1" in body
        the_fake.check()
    finally:
        await the_fake.stop()
