"""Tests for fakes.common.wirelog and GET /_smslab/messages/{seq}: what was on the wire for a captured record."""

import asyncio
import base64

from aiohttp import web

from fakes.common import ManualClock
from fakes.common.push import Push
from fakes.common.wirelog import Exchange, WireLog
from fakes.kaleyra import HTTP_API_PATH, KaleyraFake, read_settings

AUTH = {"Authorization": "Basic " + base64.b64encode(b"acme:s3cret").decode()}


async def _fake(aiohttp_client, aiohttp_server):
    got: list[bytes] = []

    async def sink(request: web.Request) -> web.Response:
        got.append(await request.read())
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/{tail:.*}", sink)
    server = await aiohttp_server(app)
    settings = read_settings({"accounts": [{"username": "acme", "password": "s3cret"}], "message_ids": "counter",
                              "dlr": {"delay": {"seconds": 5}}, "mo_url": str(server.make_url("/mo"))}, "fakes.k1")
    fake = KaleyraFake("k1", settings, clock=ManualClock(start=1000.0))
    client = await aiohttp_client(fake.app())
    return client, fake, got


async def test_an_mt_record_shows_the_exact_request_and_answer(aiohttp_client, aiohttp_server):
    """GET /_smslab/messages/{seq} of an MT: the client's method, path and query, headers and body, and the
    fake's status, headers and body, byte for byte as text."""
    client, _, _ = await _fake(aiohttp_client, aiohttp_server)
    body = "reply_to=55555&recipient=%2B16505550001&body=H%C3%A9llo+%3Cb%3E"
    resp = await client.post(HTTP_API_PATH + "?trace=1", data=body, headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded", "X-Test": "<x>"})
    answer = await resp.text()
    detail = await (await client.get("/_smslab/messages/1")).json()
    assert ("mt", "Héllo <b>") == (detail["kind"], detail["text"])
    request = detail["wire"]["request"]
    assert ("POST", HTTP_API_PATH + "?trace=1", body) == (request["method"], request["path"], request["body"])
    assert ["X-Test", "<x>"] in request["headers"]
    assert ["Authorization", AUTH["Authorization"]] in request["headers"]
    assert (200, answer) == (detail["wire"]["answer"]["status"], detail["wire"]["answer"]["body"])
    assert ["Content-Type", "text/xml; charset=utf-8"] in detail["wire"]["answer"]["headers"]


async def test_an_mo_record_shows_its_push_and_attempts(aiohttp_client, aiohttp_server):
    """An injected MO's record shows the push exactly as the receiver got it, and the attempt's outcome."""
    client, fake, got = await _fake(aiohttp_client, aiohttp_server)
    seq = (await (await client.post("/_smslab/mo", json={"from": "+16505550001", "to": "55555",
                                                         "text": "<script>"})).json())["seq"]
    for _ in range(400):
        if fake.pusher.attempts:
            break
        await asyncio.sleep(0.005)
    wire = (await (await client.get(f"/_smslab/messages/{seq}")).json())["wire"]
    assert ("POST", got[0].decode()) == (wire["request"]["method"], wire["request"]["body"])
    assert wire["request"]["url"].endswith("/mo")
    assert ["Content-Type", "application/x-www-form-urlencoded"] in wire["request"]["headers"]
    assert [(1, 200, "delivered")] == [(a["attempt"], a["status"], a["outcome"]) for a in wire["attempts"]]


async def test_an_unknown_or_bad_seq_is_refused(aiohttp_client, aiohttp_server):
    """A seq not held is a 404 saying how many are kept; one that is not a number is a 400."""
    client, _, _ = await _fake(aiohttp_client, aiohttp_server)
    missing = await client.get("/_smslab/messages/7")
    bad = await client.get("/_smslab/messages/x1")
    assert (404, "no record 7 is held (the capture keeps the last 10000)") == (
        missing.status, (await missing.json())["error"])
    assert (400, "a record's seq is a whole number (got 'x1')") == (bad.status, (await bad.json())["error"])


def test_the_wire_log_is_a_bounded_ring() -> None:
    """Past its limit the oldest exchange and push are forgotten; the newest are kept."""
    log = WireLog(limit=2)
    for seq in range(1, 4):
        log.exchange([seq], Exchange("POST", "/", (), b"", 200, (), b""))
        log.push(Push("mo", "http://x/", message_id=str(seq)))
    assert [None, "/", "/"] == [e.path if e else None for e in map(log.exchange_of, (1, 2, 3))]
    assert [None, "2", "3"] == [p.message_id if p else None for p in (log.push_of("mo", m) for m in "123")]
    log.clear()
    assert (None, None) == (log.exchange_of(3), log.push_of("mo", "3"))
