"""Tests of fakes.portico.broker: the fake on the wire through aiohttp's test client, webhooks to a sink."""



from __future__ import annotations

import asyncio
import base64
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from fakes import registry
from fakes.common import ManualClock
from fakes.portico import PorticoFake, read_settings
from sim.core.errors import ConfigError

SMS = "/api/v2/messaging/sms"
GOOD = {"sender": "+18445551212", "destination": "+13125550100", "message": "Hello ☺", "requestReceipt": True}
START = 1_700_000_000.0
WEBHOOK_AUTH = "Basic " + base64.b64encode(b"ccid:gma-key").decode()
CLIENT_AUTH = {"Authorization": "Basic " + base64.b64encode(b"nexus:s3cret").decode()}


class Sink:
    """A loopback customer endpoint recording every webhook it receives."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((request.path, dict(request.headers), await request.read()))
        return web.Response(status=200)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for loopback socket I/O (not simulated time) to finish; fail after 5 s."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), 5.0)


Client = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def sink(aiohttp_server: Callable[..., Awaitable[Any]]) -> tuple[Sink, str]:
    """A sink server and its base URL."""
    receiver = Sink()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = await aiohttp_server(app)
    return receiver, str(server.make_url("")).rstrip("/")


def build(base: str, **extra: Any) -> PorticoFake:
    common, portico = read_settings({
        "seed": 3, "client_max_size": 2048, "dlr": {"delay": {"seconds": 2}},
        "clients": [{"id": "nexus", "secret": "s3cret"}],
        "numbers": [{"number": "18445551212", "mo_url": f"{base}/nexus/v3/sms/message",
                     "dr_url": f"{base}/nexus/v3/sms/receipt", "webhook_username": "ccid",
                     "webhook_password": "gma-key"}], **extra}, "fakes.portico")
    return PorticoFake("portico", common, portico, clock=ManualClock(START))


async def bearer(client: TestClient[Any, Any]) -> dict[str, str]:
    reply = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=CLIENT_AUTH)
    return {"Authorization": "Bearer " + (await reply.json())["access_token"]}


async def captured(client: TestClient[Any, Any], kind: str = "") -> list[dict[str, Any]]:
    reply = await client.get("/_smslab/messages", params={"kind": kind} if kind else {})
    result: list[dict[str, Any]] = await reply.json()
    return result


async def test_token_send_and_delivery_receipt_on_the_wire(aiohttp_client: Client,
                                                           sink: tuple[Sink, str]) -> None:
    """Token, send, then after the DLR delay a JSON DR with Basic webhook credentials reaches drUrl."""
    receiver, base = sink
    fake = build(base)
    client = await aiohttp_client(fake.app())
    token = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=CLIENT_AUTH)
    body = await token.json()
    assert (200, "application/json", "no-store") == (token.status, token.headers["Content-Type"],
                                                     token.headers["Cache-Control"])
    assert (["access_token", "token_type", "expires_in"], "bearer", 86399) == (
        list(body), body["token_type"], body["expires_in"])
    sent = await client.post(SMS, json=GOOD, headers={"Authorization": f"Bearer {body['access_token']}"})
    message_id = (await sent.json())["messageId"]
    assert (200, "application/json", "1", "300", "60") == (
        sent.status, sent.headers["Content-Type"], sent.headers["inin-ratelimit-count"],
        sent.headers["inin-ratelimit-allowed"], sent.headers["inin-ratelimit-reset"])
    assert [{"seq": 1, "kind": "mt", "at": START, "broker": "portico", "from": "+18445551212",
             "to": "+13125550100", "text": "Hello ☺", "message_id": message_id, "fields": GOOD,
             "status": "accepted", "state": ""}] == await captured(client)
    await fake.clock.advance(2.0)  # type: ignore[attr-defined]
    await until(lambda: len(receiver.got) == 1)
    path, headers, raw = receiver.got[0]
    assert ("/nexus/v3/sms/receipt", WEBHOOK_AUTH, "application/json") == (
        path, headers["Authorization"], headers["Content-Type"])
    assert (f'{{"messageId":"{message_id}","status":"DELIVERED","sender":"+18445551212",'
            f'"destination":"+13125550100","timestamp":"2023-11-14T22:13:22.000Z"}}').encode() == raw
    dlr = (await captured(client, "dlr"))[0]
    assert ("dlr", message_id, "DELIVERED", "delivered", "+13125550100") == (
        dlr["kind"], dlr["message_id"], dlr["status"], dlr["state"], dlr["to"])


async def test_no_receipt_unless_requested(aiohttp_client: Client, sink: tuple[Sink, str]) -> None:
    """Without requestReceipt no DLR is planned, captured or pushed."""
    receiver, base = sink
    fake = build(base)
    client = await aiohttp_client(fake.app())
    await client.post(SMS, json={**GOOD, "requestReceipt": False}, headers=await bearer(client))
    await fake.clock.advance(10.0)  # type: ignore[attr-defined]
    assert ([], 0, []) == (await captured(client, "dlr"), fake.scheduler.scheduled, receiver.got)


@pytest.mark.parametrize("shared", [True, False], ids=["shared-dr-url", "captured-only"])
async def test_a_number_without_dr_url_falls_back_to_the_shared_one(aiohttp_client: Client,
                                                                    sink: tuple[Sink, str], shared: bool) -> None:
    """Without a drUrl on the number the shared dr_url gets the DR; with neither it is captured only."""
    receiver, base = sink
    fake = build(base, numbers=[{"number": "18445551212"}], dr_url=f"{base}/shared/dr" if shared else "")
    client = await aiohttp_client(fake.app())
    await client.post(SMS, json=GOOD, headers=await bearer(client))
    await fake.clock.advance(2.0)  # type: ignore[attr-defined]
    await until(lambda: fake.pusher.pending == 0)
    expected = ["/shared/dr"] if shared else []
    assert (expected, 1) == ([p for p, _, _ in receiver.got], len(await captured(client, "dlr")))
    assert all("Authorization" not in headers for _, headers, _ in receiver.got)


async def test_a_forced_failure_is_reported_with_its_configured_name(aiohttp_client: Client,
                                                                     sink: tuple[Sink, str]) -> None:
    """A shared DLR trigger forces FAILED; webhooks.dr_status renames it on the wire."""
    receiver, base = sink
    fake = build(base, dlr={"delay": {"seconds": 1}, "triggers": [{"pattern": "0100$", "outcome": "failed"}]},
                 webhooks={"dr_status": {"failed": "UNDELIV"}})
    client = await aiohttp_client(fake.app())
    await client.post(SMS, json=GOOD, headers=await bearer(client))
    await fake.clock.advance(1.0)  # type: ignore[attr-defined]
    await until(lambda: len(receiver.got) == 1)
    assert "UNDELIV" == json.loads(receiver.got[0][2])["status"]


async def test_an_injected_mo_is_pushed_to_the_numbers_mo_url(aiohttp_client: Client,
                                                              sink: tuple[Sink, str]) -> None:
    """POST /_smslab/mo pushes the MO JSON to moUrl with the webhook credentials and captures it."""
    receiver, base = sink
    fake = build(base)
    client = await aiohttp_client(fake.app())
    reply = await client.post("/_smslab/mo", json={"from": "+13125550100", "to": "18445551212",
                                                   "text": "Bonjour"})
    record = await reply.json()
    assert (202, "mo", "+13125550100", "+18445551212", "Bonjour") == (
        reply.status, record["kind"], record["from"], record["to"], record["text"])
    await until(lambda: len(receiver.got) == 1)
    path, headers, raw = receiver.got[0]
    assert ("/nexus/v3/sms/message", WEBHOOK_AUTH) == (path, headers["Authorization"])
    assert (f'{{"messageId":"{record["message_id"]}","sender":"+13125550100","destination":"+18445551212",'
            f'"message":"Bonjour","timestamp":"2023-11-14T22:13:20.000Z"}}').encode() == raw


async def test_mo_injection_errors_use_the_inspection_format(aiohttp_client: Client,
                                                             sink: tuple[Sink, str]) -> None:
    """An unknown number, a bad handset or an unknown extra field are refused; nothing is captured."""
    fake = build(sink[1])
    client = await aiohttp_client(fake.app())
    cases = [({"from": "+13125550100", "to": "+18005550100", "text": "x"}, 404,
              "Number +18005550100 is not an active number of this organization."),
             ({"from": "3125550100", "to": "+18445551212", "text": "x"}, 400,
              "from must be an E.164 number (got '3125550100')"),
             ({"from": "+13125550100", "to": "+18445551212", "text": "x", "carrier": "att"}, 400,
              "unknown field(s) carrier; portico uses none")]
    for body, status, message in cases:
        reply = await client.post("/_smslab/mo", json=body)
        assert (status, {"error": message, "problems": []}) == (reply.status, await reply.json())
    assert [] == await captured(client)


async def send_raw(client: TestClient[Any, Any], data: bytes, content_type: str = "application/json",
                   path: str = SMS) -> tuple[int, dict[str, Any]]:
    headers = {**await bearer(client), "Content-Type": content_type}
    reply = await client.post(path, data=data, headers=headers)
    body: dict[str, Any] = await reply.json()
    assert ["message", "code", "status", "messageParams", "contextId", "details", "errors"] == list(body)
    assert (reply.status, reply.headers["ININ-Correlation-Id"]) == (body["status"], body["contextId"])
    return reply.status, body


@pytest.mark.parametrize(("data", "content_type", "status", "code", "message"), [
    (b'{"sender": "+18445551212",', "application/json", 400, "bad.request",
     "The body is not valid JSON: Expecting property name enclosed in double quotes at line 1 "
     "column 27."),
    (json.dumps(GOOD).encode(), "text/plain", 415, "unsupported.media.type",
     "Content-Type must be application/json (got 'text/plain')."),
    (b'{"message":"' + b"x" * 3000 + b'"}', "application/json", 413, "request.entity.too.large",
     "request body too large (limit 2048 bytes)"),
    (b'{"sender":"+18445551212","destination":"+13125550100","message":"caf\xe9"}', "application/json", 400,
     "bad.request", "The request body is not valid UTF-8 (byte 68)."),
    (json.dumps({**GOOD, "sender": "+18005550100"}).encode(), "application/json", 400, "invalid.value",
     "sender +18005550100 is not an active number of this organization"),
    (json.dumps({"sender": "+18445551212"}).encode(), "application/json", 400, "invalid.value",
     "destination is required"),
    (json.dumps({**GOOD, "message": "Hello"}).replace("Hello", "Hello\\ud800").encode(), "application/json",
     400, "bad.request", "'message' holds an unpaired surrogate (U+D800 at index 5), which is not text."),
    (b"[" * 1000, "application/json", 400, "bad.request", "The body is nested deeper than 64 levels."),
    (b'{"message": NaN}', "application/json", 400, "bad.request", "NaN is not a JSON number."),
], ids=["malformed-json", "content-type", "oversized", "invalid-utf8", "unknown-number", "missing-field",
        "surrogate", "deep", "nan"])
async def test_bad_input_is_refused_stores_nothing_and_the_fake_keeps_serving(  # noqa: PLR0917
        aiohttp_client: Client, sink: tuple[Sink, str], data: bytes, content_type: str, status: int,
        code: str, message: str) -> None:
    """Each bad request gets the platform's ErrorBody; nothing is captured; a good send then works."""
    fake = build(sink[1])
    client = await aiohttp_client(fake.app())
    got_status, body = await send_raw(client, data, content_type)
    assert (status, code, message) == (got_status, body["code"], body["message"])
    assert [] == await captured(client)
    good = await client.post(SMS, json=GOOD, headers=await bearer(client))
    assert (200, 1) == (good.status, len(await captured(client, "mt")))
    fake.check()


async def test_refusals_on_the_login_path_use_the_login_services_form(aiohttp_client: Client,
                                                                     sink: tuple[Sink, str]) -> None:
    """An oversized token request and a fault on /oauth/token answer error/description bodies."""
    client = await aiohttp_client(build(sink[1]).app())
    big = await client.post("/oauth/token", data=b"grant_type=" + b"x" * 3000, headers={
        **CLIENT_AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert (413, {"error": "invalid_request", "description": "request body too large (limit 2048 bytes)",
                  "error_description": "request body too large (limit 2048 bytes)"}) == (big.status,
                                                                                          await big.json())
    await client.put("/_smslab/faults", json={"kind": "error", "status": 503, "path": "^/oauth/"})
    down = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=CLIENT_AUTH)
    assert (503, "temporarily_unavailable") == (down.status, (await down.json())["error"])


async def test_unknown_paths_and_methods_answer_error_bodies(aiohttp_client: Client,
                                                             sink: tuple[Sink, str]) -> None:
    """A path outside the API and a wrong method get ErrorBody 404 and 405."""
    client = await aiohttp_client(build(sink[1]).app())
    outside = await client.get("/nothing/here")
    assert (404, "not.found") == (outside.status, (await outside.json())["code"])
    wrong = await client.get(SMS, headers=await bearer(client))
    assert (405, "method.not.allowed", "POST") == (wrong.status, (await wrong.json())["code"],
                                                   wrong.headers["Allow"])


async def test_a_throttle_fault_answers_like_the_rate_limit(aiohttp_client: Client,
                                                            sink: tuple[Sink, str]) -> None:
    """A throttle fault is a 429 too.many.requests with Retry-After, the configured text, nothing captured."""
    client = await aiohttp_client(build(sink[1]).app())
    await client.put("/_smslab/faults", json={"kind": "throttle", "retry_after": 7, "count": 1,
                                                   "path": "^/api/"})
    headers = await bearer(client)
    limited = await client.post(SMS, json=GOOD, headers=headers)
    body = await limited.json()
    text = "Rate limit exceeded the maximum. Retry the request in [7] seconds"
    assert (429, "7", "too.many.requests", text) == (limited.status, limited.headers["Retry-After"],
                                                     body["code"], body["message"])
    assert [] == await captured(client)
    assert 200 == (await client.post(SMS, json=GOOD, headers=headers)).status


async def test_a_throttle_fault_carries_the_rate_limit_headers(aiohttp_client: Client,
                                                               sink: tuple[Sink, str]) -> None:
    """A throttled answer carries inin-ratelimit-count/-allowed/-reset as the fake's own 429 does."""
    client = await aiohttp_client(build(sink[1]).app())
    await client.put("/_smslab/faults", json={"kind": "throttle", "retry_after": 7, "count": 1,
                                                   "path": "^/api/"})
    limited = await client.post(SMS, json=GOOD, headers=await bearer(client))
    assert ("301", "300", "7") == tuple(limited.headers.get(f"inin-ratelimit-{k}") for k in
                                        ("count", "allowed", "reset"))


async def test_numbers_of_the_settings_were_created_at_start(aiohttp_client: Client,
                                                             sink: tuple[Sink, str]) -> None:
    """A number provisioned from the settings reports the clock at start, not 1970, as its dates."""
    client = await aiohttp_client(build(sink[1]).app())
    reply = await client.get("/api/v2/messaging/sms/provisioning/tollfreenumbers", headers=await bearer(client))
    number = (await reply.json())["entities"][0]
    assert ("2023-11-14T22:13:20.000Z",) * 2 == (number["dateCreated"], number["dateModified"])


async def test_an_error_fault_uses_the_platform_code_for_its_status(aiohttp_client: Client,
                                                                    sink: tuple[Sink, str]) -> None:
    """An injected 503 is an ErrorBody service.unavailable."""
    client = await aiohttp_client(build(sink[1]).app())
    await client.put("/_smslab/faults", json={"kind": "error", "status": 503, "path": "^/api/"})
    reply = await client.post(SMS, json=GOOD)
    assert (503, "service.unavailable", "fault injected") == (reply.status, *[
        (await reply.json())[k] for k in ("code", "message")])


async def test_health_names_the_chosen_variants(aiohttp_client: Client, sink: tuple[Sink, str]) -> None:
    """The health endpoint says which disputed variants are in effect."""
    client = await aiohttp_client(build(sink[1], token={"invalid_client_status": 400}).app())
    health = await (await client.get("/_smslab/health")).json()
    variants = {"invalid_client_status": 400, "rate_message": "retry_in", "receipts": "requested"}
    assert ("portico", variants) == (health["kind"], health["variants"])


def test_the_registry_builds_a_portico_fake_and_reports_every_problem() -> None:
    """fakes.registry creates the fake; bad settings name their paths, shared and Portico alike."""
    fake = registry.create("portico", "gc", {"kind": "portico", "clients": [{"id": "a", "secret": "b"}]})
    assert ("portico", "gc") == (fake.kind, fake.name)
    with pytest.raises(ConfigError) as caught:
        registry.create("portico", "gc", {"time_scale": -1, "clients": [{"id": "a"}]})
    assert ["fakes.gc.time_scale: must be at least 0.0 (got -1)",
            "fakes.gc.clients[0].secret: is required (got None)"] == [str(p) for p in caught.value.problems]


async def test_a_bogus_content_encoding_is_a_400_in_each_services_form(aiohttp_client: Client,
                                                                      sink: tuple[Sink, str]) -> None:
    """A body that says gzip and is not: ErrorBody bad.request on the API, invalid_request on the login path."""
    client = await aiohttp_client(build(sink[1]).app())
    gz = {"Content-Encoding": "gzip"}
    send = await client.post(SMS, data=b"{}", headers={**await bearer(client), **gz,
                                                       "Content-Type": "application/json"})
    token = await client.post("/oauth/token", data=b"grant_type=client_credentials", headers={
        **CLIENT_AUTH, **gz, "Content-Type": "application/x-www-form-urlencoded"})
    assert (400, "bad.request") == (send.status, (await send.json())["code"])
    assert (400, "invalid_request") == (token.status, (await token.json())["error"])
    assert [] == await captured(client)


async def test_the_client_secret_is_compared_in_constant_time(aiohttp_client: Client, sink: tuple[Sink, str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A token request's client secret goes through hmac.compare_digest, right or wrong, never through !=."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = await aiohttp_client(build(sink[1]).app())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"nexus:guess").decode(), **form}
    bad = await client.post("/oauth/token", data=b"grant_type=client_credentials", headers=wrong)
    good = await client.post("/oauth/token", data=b"grant_type=client_credentials", headers={**CLIENT_AUTH, **form})
    assert (401, 200) == (bad.status, good.status)
    assert [(b"guess", b"s3cret"), (b"s3cret", b"s3cret")] == compared
