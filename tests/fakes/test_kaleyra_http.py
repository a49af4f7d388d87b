"""Tests for fakes.kaleyra.fake: the DirectTEXT HTTP API, MO and DR pushes, field by field on the wire."""

import asyncio
import base64
import xml.etree.ElementTree as ET

import pytest
from aiohttp import web

from fakes.common import ManualClock
from fakes.kaleyra import HTTP_API_PATH, KaleyraFake, read_settings

AUTH = {"Authorization": "Basic " + base64.b64encode(b"acme:s3cret").decode()}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Sink:
    """A loopback customer endpoint recording form posts (MO and DR)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, list[tuple[str, str]], str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        fields = list((await request.post()).items())
        self.got.append((request.path, fields, request.headers.get("Authorization", "")))
        return web.Response(text="OK")


@pytest.fixture
async def sink(aiohttp_server):
    s = Sink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", s.handle)
    s.server = await aiohttp_server(app)
    return s


def _settings(sink: Sink | None = None, **extra):
    data = {"accounts": [{"username": "acme", "password": "s3cret"}], "message_ids": "counter",
            "dlr": {"delay": {"seconds": 5}}, **extra}
    if sink is not None:
        data |= {"dr_url": str(sink.server.make_url("/dr")), "mo_url": str(sink.server.make_url("/mo"))}
    return read_settings(data, "fakes.k1")


async def _client(aiohttp_client, settings):
    fake = KaleyraFake("k1", settings, clock=ManualClock(start=1000.0))
    client = await aiohttp_client(fake.app())
    client.fake = fake
    return client


def _xml(text: str) -> tuple[str, str, list[tuple[str, str]]]:
    root = ET.fromstring(text)
    assert "httpApiResponse" == root.tag
    recipients = [(r.findtext("mobileNumber"), r.findtext("messageId")) for r in root.iter("recipient")]
    return root.findtext("code"), root.findtext("description"), recipients


async def _wait(condition) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met over loopback within 2 s")


async def test_form_post_is_accepted_with_exact_xml(aiohttp_client):
    """A form POST gets 200 text/xml <httpApiResponse> with code 100 and one recipient per number."""
    client = await _client(aiohttp_client, _settings())
    resp = await client.post(HTTP_API_PATH, headers=AUTH, data=[
        ("reply_to", "55555"), ("recipient", "+16505550001"), ("recipient", "+16505550002,+16505550003"),
        ("body", "Héllo & welcome"), ("reporting_key1", "rk-1"), ("reporting_key2", "rk-2")])
    body = await resp.read()
    assert (200, "text/xml", "utf-8") == (resp.status, resp.content_type, resp.charset)
    assert body == (b"<?xml version='1.0' encoding='utf-8'?>\n<httpApiResponse><code>100</code>"
                    b"<description>Message(s) accepted</description><recipients>"
                    b"<recipient><mobileNumber>+16505550001</mobileNumber><messageId>k1-1</messageId></recipient>"
                    b"<recipient><mobileNumber>+16505550002</mobileNumber><messageId>k1-2</messageId></recipient>"
                    b"<recipient><mobileNumber>+16505550003</mobileNumber><messageId>k1-3</messageId></recipient>"
                    b"</recipients></httpApiResponse>")
    records = client.fake.capture.query(kind="mt")
    assert [("55555", "+16505550001", "Héllo & welcome", "k1-1", "accepted")] == [
        (r.sender, r.recipient, r.text, r.message_id, r.status) for r in records[:1]]
    assert {"reply_to": "55555", "recipient": ["+16505550001", "+16505550002,+16505550003"],
            "body": "Héllo & welcome", "reporting_key1": "rk-1", "reporting_key2": "rk-2"} == records[0].fields


async def test_query_string_and_get_are_accepted(aiohttp_client):
    """Parameters in the query string of a POST, or a GET, are read the same way (public clients do all three)."""
    client = await _client(aiohttp_client, _settings())
    query = {"reply_to": "55555", "recipient": "+16505550001", "body": "a+b c"}
    post = await client.post(HTTP_API_PATH, headers=AUTH, params=query)
    get = await client.get(HTTP_API_PATH, headers=AUTH, params=query)
    assert [("100", [("+16505550001", "k1-1")]), ("100", [("+16505550001", "k1-2")])] == [
        (c, r) for c, _, r in [_xml(await post.text()), _xml(await get.text())]]
    assert ["a+b c", "a+b c"] == [r.text for r in client.fake.capture.query(kind="mt")]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic " + base64.b64encode(b"acme:nope").decode()},
                                     {"Authorization": "Bearer x"}])
async def test_bad_credentials_get_401_with_www_authenticate(aiohttp_client, headers):
    """Missing or wrong Basic credentials: 401, WWW-Authenticate, code 401 in XML, nothing captured."""
    client = await _client(aiohttp_client, _settings())
    resp = await client.post(HTTP_API_PATH, headers=headers, data={"reply_to": "1", "recipient": "+16505550001",
                                                                   "body": "x"})
    assert (401, 'Basic realm="DirectTEXT"') == (resp.status, resp.headers["WWW-Authenticate"])
    assert ("401", "Authentication failed", []) == _xml(await resp.text())
    assert 0 == client.fake.capture.total


@pytest.mark.parametrize(("data", "code", "description"), [
    ({"recipient": "+16505550001", "body": "x"}, "101", "Missing parameter: reply_to"),
    ({"reply_to": "1", "body": "x"}, "101", "Missing parameter: recipient"),
    ({"reply_to": "1", "recipient": "+16505550001", "body": ""}, "101", "Missing parameter: body"),
    ({"reply_to": "1", "recipient": "+1650555000x", "body": "x"}, "102",
     "Invalid parameter: recipient ('+1650555000x' is not a mobile number)"),
    ({"reply_to": "1", "recipient": "+16505550001", "body": "x", "channel": "fax"}, "102",
     "Invalid parameter: channel ('fax' is not one of sms, multimedia)"),
    ({"reply_to": "1", "recipient": "+16505550001", "body": "x", "channel": "multimedia"}, "101",
     "Missing parameter: content_url"),
])
async def test_missing_or_invalid_parameter_gets_a_non_100_code(aiohttp_client, data, code, description):
    """A missing or invalid parameter is named in the description, HTTP 200, nothing captured."""
    client = await _client(aiohttp_client, _settings())
    resp = await client.post(HTTP_API_PATH, headers=AUTH, data=data)
    assert (200, code, description) == (resp.status, *_xml(await resp.text())[:2])
    assert 0 == client.fake.capture.total


async def test_bad_bodies_are_refused_in_the_xml_format(aiohttp_client):
    """Wrong content type, invalid UTF-8 and an oversized body: DirectTEXT XML errors, nothing captured."""
    client = await _client(aiohttp_client, _settings(client_max_size=2048))
    wrong = await client.post(HTTP_API_PATH, headers=AUTH | {"Content-Type": "application/json"}, data=b"{}")
    utf8 = await client.post(HTTP_API_PATH, headers=AUTH | FORM, data=b"reply_to=1&recipient=%2B16505550001&body=%C3")
    big = await client.post(HTTP_API_PATH, headers=AUTH, data={"body": "x" * 4096})
    got = [(r.status, _xml(await r.text())[0]) for r in (wrong, utf8, big)]
    assert [(415, "105"), (400, "104"), (413, "106")] == got
    assert 0 == client.fake.capture.total
    ok = await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "recipient": "+16505550001",
                                                              "body": "still serving"})
    assert "100" == _xml(await ok.text())[0]


async def test_codes_and_rejects_are_settings(aiohttp_client):
    """Tests inject other codes: the code table and per-recipient rejects come from the settings."""
    client = await _client(aiohttp_client, _settings(
        codes={"missing": {"code": "E7", "description": "need {field}", "http_status": 400}},
        rejects=[{"pattern": "^\\+1555", "code": "107", "description": "Insufficient credit"}]))
    missing = await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "body": "x"})
    rejected = await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "recipient": "+15550001",
                                                                    "body": "x"})
    assert (400, ("E7", "need recipient", [])) == (missing.status, _xml(await missing.text()))
    assert (200, ("107", "Insufficient credit", [])) == (rejected.status, _xml(await rejected.text()))
    assert 0 == client.fake.capture.total


async def test_dr_push_fields_exactly(aiohttp_client, sink):
    """When due, the DR is a form post with every field of the MMX router's DR fixture, in order."""
    client = await _client(aiohttp_client, _settings(sink, push={"auth": {"username": "cic", "password": "pw"}}))
    await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "55555", "recipient": "+16505550001",
                                                         "body": "hi", "reporting_key1": "corr-9"})
    await client.fake.clock.advance(5.0)
    await _wait(lambda: sink.got)
    assert [("/dr", [("carrier", "tmobile"), ("channel", "sms"), ("client_message_id", "corr-9"),
                     ("device_address", "+16505550001"), ("inbound_address", "55555"), ("message_id", "k1-1"),
                     ("message_subid", "0"), ("router", "MMX"), ("smscid", "smslab"),
                     ("status", "Carrier Success"), ("status_code", "200")],
             "Basic " + base64.b64encode(b"cic:pw").decode())] == sink.got
    dlr = client.fake.capture.query(kind="dlr")[0]
    assert ("k1-1", "Carrier Success/200", "delivered", 1005.0) == (dlr.message_id, dlr.status, dlr.state, dlr.at)


async def test_failure_outcomes_by_trigger_with_configured_status(aiohttp_client, sink):
    """A trigger forces an outcome; its DR status and code come from dr.statuses."""
    client = await _client(aiohttp_client, _settings(
        sink, dlr={"delay": {"seconds": 1}, "triggers": [{"pattern": "0002$", "outcome": "undeliverable"}]},
        dr={"statuses": {"undeliverable": {"status": "Rejected", "code": "4001"}}}))
    await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "recipient": "+16505550001,+16505550002",
                                                         "body": "x"})
    await client.fake.clock.advance(1.0)
    await _wait(lambda: len(sink.got) == 2)
    statuses = sorted((dict(f)["device_address"], dict(f)["status"], dict(f)["status_code"]) for _, f, _ in sink.got)
    assert [("+16505550001", "Carrier Success", "200"), ("+16505550002", "Rejected", "4001")] == statuses


async def test_one_dr_per_segment_when_asked(aiohttp_client):
    """With dr.per_segment a 161-character GSM text gets two DRs, subids 1 and 2."""
    client = await _client(aiohttp_client, _settings(dr={"per_segment": True}))
    await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "recipient": "+16505550001",
                                                         "body": "x" * 161})
    await client.fake.clock.advance(5.0)
    assert [("k1-1", "1"), ("k1-1", "2")] == [(r.message_id, r.fields["message_subid"])
                                              for r in client.fake.capture.query(kind="dlr")]


@pytest.mark.parametrize("case", [
    ("mo_success", "MO Success", "100", [("router", "MMX")]),
    ("processing", "Processing", "10", []),
])
async def test_mo_push_fields_per_status_variant(aiohttp_client, sink, case):
    """An injected MO is a form post with Acoustic's fields; the status variant is selectable."""
    variant, status, code, router = case
    client = await _client(aiohttp_client, _settings(sink, mo={"status": variant}))
    resp = await client.post("/_smslab/mo", json={"from": "+16505550001", "to": "55555", "text": "STOP ça"})
    assert 202 == resp.status
    await _wait(lambda: sink.got)
    expected = [("device_address", "+16505550001"), ("inbound_address", "55555"), ("carrier", "tmobile"),
                ("channel", "sms"), ("message", "STOP ça"), ("message_orig", "STOP ça"), ("message_id", "k1-1"),
                ("message_subid", "0"), ("a2w_mo_ref_id", "k1-1"), *router, ("status", status),
                ("status_code", code), ("country_code", "1")]
    assert [("/mo", expected, "")] == sink.got
    health = await (await client.get("/_smslab/health")).json()
    assert variant == health["assumptions"]["mo_status"]


async def test_push_method_get_carries_the_mo_and_dr_fields_in_the_query(aiohttp_client, aiohttp_server):
    """With push.method GET (a gateway such as Kannel reads only the query) the MO and the DR are GETs
    whose query holds exactly the fields of the form posts, and no body."""
    got: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    async def record(request: web.Request) -> web.Response:
        got.append((request.method, request.path, list(request.query.items()), await request.read()))
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = await aiohttp_server(app)
    settings = read_settings({"accounts": [{"username": "acme", "password": "s3cret"}], "message_ids": "counter",
                              "dlr": {"delay": {"seconds": 5}}, "push": {"method": "GET"},
                              "mo_url": str(server.make_url("/mo")), "dr_url": str(server.make_url("/dr"))},
                             "fakes.k1")
    client = await _client(aiohttp_client, settings)
    await client.post("/_smslab/mo", json={"from": "+16505550001", "to": "55555", "text": "STOP ça"})
    await _wait(lambda: got)
    assert [("GET", "/mo", [("device_address", "+16505550001"), ("inbound_address", "55555"),
                            ("carrier", "tmobile"), ("channel", "sms"), ("message", "STOP ça"),
                            ("message_orig", "STOP ça"), ("message_id", "k1-1"), ("message_subid", "0"),
                            ("a2w_mo_ref_id", "k1-1"), ("router", "MMX"), ("status", "MO Success"),
                            ("status_code", "100"), ("country_code", "1")], b"")] == got
    await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "55555", "recipient": "+16505550001",
                                                         "body": "hi"})
    await client.fake.clock.advance(5.0)
    await _wait(lambda: len(got) == 2)
    method, path, query, body = got[1]
    assert ("GET", "/dr", b"", "Carrier Success") == (method, path, body, dict(query)["status"])
    assert ["carrier", "channel", "client_message_id", "device_address", "inbound_address", "message_id",
            "message_subid", "router", "smscid", "status", "status_code"] == [k for k, _ in query]


async def test_mo_extras_override_and_unknown_are_refused(aiohttp_client, sink):
    """Known MO fields can be overridden per injection; unknown ones are a 400 and nothing is pushed."""
    client = await _client(aiohttp_client, _settings(sink))
    bad = await client.post("/_smslab/mo", json={"from": "+1", "to": "5", "text": "x", "colour": "red"})
    ok = await client.post("/_smslab/mo", json={"from": "+1", "to": "5", "text": "x", "carrier": "att",
                                                "message_id": "fixed-1"})
    record = await ok.json()
    assert (400, 202) == (bad.status, ok.status)
    assert ("att", "fixed-1", "fixed-1") == (record["fields"]["carrier"], record["message_id"],
                                             record["fields"]["a2w_mo_ref_id"])


async def test_dr_retries_every_interval_scaled(aiohttp_client):
    """A failing DR URL is retried on the Kaleyra schedule, scaled by time_scale, every attempt logged."""
    statuses = [503, 500, 200]

    async def flaky(request: web.Request) -> web.Response:
        return web.Response(status=statuses.pop(0))

    app = web.Application()
    app.router.add_post("/dr", flaky)
    from aiohttp.test_utils import TestServer
    server = TestServer(app)
    await server.start_server()
    try:
        client = await _client(aiohttp_client, _settings(dr_url=str(server.make_url("/dr")), time_scale=0.001,
                                                         dlr={"delay": {"seconds": 0}}))
        await client.post(HTTP_API_PATH, headers=AUTH, data={"reply_to": "1", "recipient": "+16505550001",
                                                             "body": "x"})
        await client.fake.clock.advance(0.0)
        for _ in range(2):
            await _wait(lambda: client.fake.pusher.attempts and client.fake.pusher.attempts[-1].outcome == "retry"
                        and client.fake.pusher.pending == 1 and client.fake.pusher.counts["in_flight"] == 0)
            await client.fake.clock.advance(0.06)  # 60 s x 0.001
        await _wait(lambda: client.fake.pusher.counts["delivered"] == 1)
        pushes = await (await client.get("/_smslab/pushes")).json()
        assert [(1, 503, "retry"), (2, 500, "retry"), (3, 200, "delivered")] == [
            (p["attempt"], p["status"], p["outcome"]) for p in pushes]
    finally:
        await server.close()
