"""Tests for fakes.kaleyra.rest: the REST v1 mode (api-key, 202 with data[].id, status callbacks)."""

import asyncio
import json

import pytest
from aiohttp import web

from fakes.common import ManualClock
from fakes.kaleyra import KaleyraFake, read_settings

KEY = {"api-key": "k-123"}


class Callbacks:
    """A loopback callback receiver."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, object, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if request.content_type == "application/json" else dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            body = dict(await request.post())
        self.got.append((request.method, request.path, body, {"X-Token": request.headers.get("X-Token", "")}))
        return web.Response()


@pytest.fixture
async def callbacks(aiohttp_server):
    c = Callbacks()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", c.handle)
    c.server = await aiohttp_server(app)
    return c


async def _client(aiohttp_client, **extra):
    rest = {"accounts": [{"sid": "HXAP1", "api_key": "k-123"}], **extra.pop("rest", {})}
    settings = read_settings({"message_ids": "counter", "dlr": {"delay": {"seconds": 2}}, "rest": rest, **extra})
    fake = KaleyraFake("k1", settings, clock=ManualClock(start=0.0))
    client = await aiohttp_client(fake.app())
    client.fake = fake
    return client


async def _wait(condition) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met within 2 s")


async def test_send_answers_202_with_data_ids(aiohttp_client):
    """POST /v1/{sid}/messages answers 202 JSON with one data[] entry per number."""
    client = await _client(aiohttp_client)
    resp = await client.post("/v1/HXAP1/messages", headers=KEY, data={"to": "+16505550001,+16505550002",
                                                                       "sender": "KLRHXA", "body": "hi",
                                                                       "type": "TXN"})
    assert (202, {"code": "MSG402", "message": "Request Successful", "id": "k1-3", "data": [
        {"id": "k1-1", "to": "+16505550001", "status": "SUBMITTED"},
        {"id": "k1-2", "to": "+16505550002", "status": "SUBMITTED"}]}) == (resp.status, await resp.json())
    assert [("KLRHXA", "+16505550001", "HXAP1")] == [
        (r.sender, r.recipient, r.fields["sid"]) for r in client.fake.capture.query(kind="mt")[:1]]


@pytest.mark.parametrize(("sid", "headers"), [("HXAP1", {}), ("HXAP1", {"api-key": "wrong"}),
                                              ("OTHER", KEY)])
async def test_api_key_is_required_per_sid(aiohttp_client, sid, headers):
    """A missing or wrong api-key, or an unknown SID, is a 401 JSON error and nothing is captured."""
    client = await _client(aiohttp_client)
    resp = await client.post(f"/v1/{sid}/sms", headers=headers, data={"to": "+16505550001", "sender": "S",
                                                                       "body": "x"})
    assert (401, {"code": "E401", "message": "invalid or missing api-key", "data": [],
                  "error": {"api-key": "invalid or missing api-key"}}) == (resp.status, await resp.json())
    assert 0 == client.fake.capture.total


async def test_missing_field_and_bad_json_are_json_errors(aiohttp_client):
    """A missing field is a 400 naming it; malformed JSON is a 400; nothing is captured."""
    client = await _client(aiohttp_client)
    missing = await client.post("/v1/HXAP1/sms", headers=KEY, json={"to": "+16505550001", "body": "x"})
    broken = await client.post("/v1/HXAP1/sms", headers=KEY | {"Content-Type": "application/json"}, data=b"{")
    assert (400, {"sender": "'sender' is required"}) == (missing.status, (await missing.json())["error"])
    assert (400, "E400") == (broken.status, (await broken.json())["code"])
    assert 0 == client.fake.capture.total


async def test_callbacks_sent_then_final_status(aiohttp_client, callbacks):
    """A callback object gets Sent at once and the final status when the DLR falls due, with its headers."""
    client = await _client(aiohttp_client, dlr={"delay": {"seconds": 2},
                                                "triggers": [{"pattern": "0002$", "outcome": "failed"}]})
    url = str(callbacks.server.make_url("/cb"))
    spec = json.dumps({"url": url, "method": "POST", "header": {"X-Token": "t"}})
    await client.post("/v1/HXAP1/sms", headers=KEY, json={"to": "+16505550002", "sender": "S", "body": "x",
                                                           "ref": "r-1", "callback": json.loads(spec)})
    await _wait(lambda: len(callbacks.got) == 1)
    await client.fake.clock.advance(2.0)
    await _wait(lambda: len(callbacks.got) == 2)
    assert [("POST", "/cb", {"id": "k1-1", "status": "Sent", "to": "+16505550002", "sender": "S", "ref": "r-1",
                             "created_at": "0.0"}, {"X-Token": "t"}),
            ("POST", "/cb", {"id": "k1-1", "status": "Failed", "to": "+16505550002", "sender": "S", "ref": "r-1",
                             "created_at": "2.0"}, {"X-Token": "t"})] == callbacks.got


async def test_profile_url_and_pluggable_field_names(aiohttp_client, callbacks):
    """Without a callback in the request the profile URL is used, with the configured field names and format."""
    url = str(callbacks.server.make_url("/profile"))
    client = await _client(aiohttp_client, rest={"callback_url": url, "callback_format": "form",
                                                 "sent_callback": False,
                                                 "fields": {"id": "message_id", "status": "dlr_status"},
                                                 "statuses": {"delivered": "DELIVRD"}})
    await client.post("/v1/HXAP1/messages", headers=KEY, data={"to": "+16505550001", "sender": "S", "body": "x"})
    await client.fake.clock.advance(2.0)
    await _wait(lambda: callbacks.got)
    method, path, body, _ = callbacks.got[0]
    assert ("POST", "/profile", "k1-1", "DELIVRD") == (method, path, body["message_id"], body["dlr_status"])


async def test_get_callback_uses_the_query_string(aiohttp_client, callbacks):
    """A callback object with method GET is called with the fields in the query string."""
    client = await _client(aiohttp_client, rest={"sent_callback": False})
    url = str(callbacks.server.make_url("/get"))
    await client.post("/v1/HXAP1/messages", headers=KEY, data={
        "to": "+16505550001", "sender": "S", "body": "x", "callback": json.dumps({"url": url, "method": "GET"})})
    await client.fake.clock.advance(2.0)
    await _wait(lambda: callbacks.got)
    assert ("GET", "Delivered") == (callbacks.got[0][0], callbacks.got[0][2]["status"])


async def test_bad_callback_is_refused(aiohttp_client):
    """A callback that is neither an http(s) URL nor a valid object is a 400 naming 'callback'."""
    client = await _client(aiohttp_client)
    resp = await client.post("/v1/HXAP1/messages", headers=KEY, data={"to": "+16505550001", "sender": "S",
                                                                       "body": "x", "callback": "ftp://x"})
    assert (400, ["callback"]) == (resp.status, list((await resp.json())["error"]))


SMS_OK = {"to": "+16505550001", "sender": "KLRHXA", "body": "hi"}


@pytest.mark.parametrize(("data", "field"), [
    (json.dumps(SMS_OK).replace('"hi"', '"x\\ud800"').encode(), ""),
    (b"[" * 1000, ""),
    (b'{"to": "+16505550001", "sender": "KLRHXA", "body": "hi", "n": ' + b"9" * 5000 + b"}", ""),
    (b'{"to": "+16505550001", "sender": "KLRHXA", "body": "hi", "n": NaN}', ""),
    (json.dumps({**SMS_OK, "sender": None}).encode(), "sender"),
    (json.dumps({**SMS_OK, "sender": 1}).encode(), "sender"),
    (json.dumps({**SMS_OK, "sender": [1]}).encode(), "sender"),
    (json.dumps({**SMS_OK, "sender": {}}).encode(), "sender"),
], ids=["surrogate", "deep", "huge-integer", "nan", "null-sender", "number-sender", "list-sender",
        "object-sender"])
async def test_sms_refuses_what_it_cannot_store_as_a_rest_error(aiohttp_client, data, field):
    """/sms answers a REST 400 for unencodable text, JSON it does not take and a sender that is not a string."""
    client = await _client(aiohttp_client)
    resp = await client.post("/v1/HXAP1/sms", headers=KEY | {"Content-Type": "application/json"}, data=data)
    body = await resp.json()
    assert (400, "E400") == (resp.status, body["code"])
    assert list(body["error"]) == ([field] if field else [])
    assert 0 == client.fake.capture.total


async def test_a_bogus_content_encoding_is_a_rest_400(aiohttp_client):
    """A body that says gzip and is not gets the REST error body, not a 500."""
    client = await _client(aiohttp_client)
    resp = await client.post("/v1/HXAP1/sms", headers=KEY | {"Content-Type": "application/json",
                                                             "Content-Encoding": "gzip"}, data=b"{}")
    assert (400, "E400") == (resp.status, (await resp.json())["code"])
    assert 0 == client.fake.capture.total
