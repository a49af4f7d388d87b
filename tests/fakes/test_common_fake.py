"""Tests for fakes.common.fake and fakes.common.inspect: the shell every fake shares."""

import asyncio
import json
import ssl

import aiohttp
import pytest
import trustme
from aiohttp import web

from fakes.common import (
    FORM,
    Captured,
    CommonSettings,
    FakeBroker,
    InputError,
    ManualClock,
    MoRequest,
    Push,
    WireError,
    WireReason,
    form_fields,
    read_common,
    read_faults,
)
from sim.core.schema import Reader


class EchoFake(FakeBroker):
    """A minimal broker: POST /send (form: to, text) captures an MT and schedules a DLR."""

    kind = "echo"

    def wire_routes(self):
        return [web.post("/send", self.send), web.get("/boom", self.boom)]

    def error_response(self, error: InputError) -> web.StreamResponse:
        reason = error.reason.value if isinstance(error, WireError) else "other"
        return web.json_response({"err": reason, "msg": str(error)}, status=error.status)

    async def send(self, request: web.Request) -> web.StreamResponse:
        fields = await form_fields(request)
        if not fields.get("to"):
            raise WireError("'to' is required", WireReason.MISSING, "to")
        record = self.capture.add("mt", self.clock.now(), recipient=fields["to"], text=fields.get("text", ""),
                                  message_id=f"m{self.capture.total + 1}", fields=dict(fields))
        state, delay = self.settings.dlr.plan(record.recipient, self.rng)
        self.scheduler.schedule(delay, (record, state))
        return web.json_response({"id": record.message_id})

    async def boom(self, request: web.Request) -> web.StreamResponse:
        raise KeyError("bug inside the fake")

    def deliver_dlr(self, item) -> None:
        record, state = item
        self.capture.add("dlr", self.clock.now(), recipient=record.recipient, message_id=record.message_id,
                         state=state.value)

    async def inject_mo(self, mo: MoRequest) -> Captured:
        if set(mo.extra) - {"carrier"}:
            raise InputError(f"unknown fields {sorted(mo.extra)}")
        url = self.mo_target(mo)
        record = self.capture.add("mo", self.clock.now(), sender=mo.sender, recipient=mo.recipient,
                                  text=mo.text, message_id="mo1", fields={"url": url, **mo.extra})
        self.push(Push.form("mo", url, {"from": mo.sender, "text": mo.text}))
        return record


def _fake(data: dict | None = None, clock=None) -> EchoFake:
    r = Reader(data or {}, "fakes.echo")
    settings = read_common(r)
    r.done()
    r.raise_if_problems()
    return EchoFake("echo", settings, clock=clock)


@pytest.fixture
async def client(aiohttp_client):
    fake = _fake({"dlr": {"delay": {"seconds": 2}}, "client_max_size": 2048}, clock=ManualClock(start=0.0))
    c = await aiohttp_client(fake.app())
    c.fake = fake
    yield c
    fake.check()


async def test_mt_is_captured_and_dlr_delivered_on_the_clock(client):
    """An accepted MT is listed by the inspection API; its DLR appears when the clock reaches it."""
    resp = await client.post("/send", data={"to": "+1555", "text": "hi"})
    assert (200, {"id": "m1"}) == (resp.status, await resp.json())
    await client.fake.clock.advance(2.0)
    listed = await (await client.get("/_smslab/messages")).json()
    assert [("mt", "+1555", 0.0, ""), ("dlr", "+1555", 2.0, "delivered")] == [
        (m["kind"], m["to"], m["at"], m["state"]) for m in listed]


async def test_messages_filters_and_bad_filters(client):
    """kind/to/since/limit filter the list; a bad filter is a JSON 400 naming it."""
    for to in ("+1", "+2", "+1"):
        await client.post("/send", data={"to": to})
    query = {"kind": "mt", "to": "+1", "limit": "1"}
    got = await (await client.get("/_smslab/messages", params=query)).json()
    assert ["m1"] == [m["message_id"] for m in got]
    bad = await client.get("/_smslab/messages", params={"kind": "fax"})
    assert (400, "'kind' must be one of mt, mo, dlr (got 'fax')") == (bad.status, (await bad.json())["error"])
    bad = await client.get("/_smslab/messages", params={"since": "yesterday"})
    assert 400 == bad.status


async def test_messages_come_in_pages_with_a_link_to_the_next(client):
    """limit=2 over five MTs: pages of 2, 2 and 1, each but the last with a Link rel=next carrying after=<seq>."""
    for n in range(5):
        await client.post("/send", data={"to": f"+{n}"})
    pages, links, url = [], [], "/_smslab/messages?kind=mt&limit=2"
    while url:
        resp = await client.get(url)
        pages.append([m["to"] for m in await resp.json()])
        link = resp.headers.get("Link", "")
        links.append(link)
        url = link[1:link.index(">")] if link else ""
    assert [["+0", "+1"], ["+2", "+3"], ["+4"]] == pages
    assert ['</_smslab/messages?kind=mt&limit=2&after=2>; rel="next"',
            '</_smslab/messages?kind=mt&limit=2&after=4>; rel="next"', ""] == links


@pytest.mark.parametrize(("query", "error"), [
    ({"limit": "0"}, "'limit' must be a whole number from 1 to 10000 (got '0')"),
    ({"limit": "10001"}, "'limit' must be a whole number from 1 to 10000 (got '10001')"),
    ({"after": "last"}, "'after' must be a record's seq, a whole number (got 'last')"),
])
async def test_a_bad_page_bound_is_a_400_naming_it(client, query, error):
    """A limit out of 1..10000 or an after that is not a seq: the JSON 400 names the parameter and value."""
    resp = await client.get("/_smslab/messages", params=query)
    assert (400, error) == (resp.status, (await resp.json())["error"])


async def test_delete_messages_resets(client):
    """DELETE /_smslab/messages forgets captured records and pending DLRs."""
    await client.post("/send", data={"to": "+1"})
    resp = await client.delete("/_smslab/messages")
    assert ({"cleared": 1}, 0) == (await resp.json(), client.fake.scheduler.stats()["pending"])
    assert [] == await (await client.get("/_smslab/messages")).json()


async def test_bad_input_gets_the_broker_format_and_nothing_is_stored(client):
    """Missing field, wrong type, invalid UTF-8, oversize, unknown path: own format, nothing captured."""
    cases = [
        (client.post("/send", data={"text": "x"}), 400, "missing"),
        (client.post("/send", data=b'{"to":"+1"}', headers={"Content-Type": "application/json"}), 415,
         "media_type"),
        (client.post("/send", data=b"to=%FF%FE", headers={"Content-Type": FORM}), 400, "encoding"),
        (client.post("/send", data={"to": "+1", "text": "x" * 5000}), 413, "too_large"),
        (client.get("/nowhere"), 404, "not_found"),
        (client.get("/send"), 405, "method"),
    ]
    for request, status, reason in cases:
        resp = await request
        assert (status, reason) == (resp.status, (await resp.json())["err"])
    assert 0 == client.fake.capture.total
    ok = await client.post("/send", data={"to": "+1"})  # and it keeps serving
    assert 200 == ok.status


async def test_unexpected_error_is_answered_and_reraised_by_check(client):
    """A bug inside a handler is answered 500 in the broker's format and re-raised by check()."""
    resp = await client.get("/boom")
    assert (500, "other") == (resp.status, (await resp.json())["err"])
    with pytest.raises(KeyError, match="bug inside the fake"):
        client.fake.check()
    client.fake.errors.clear()


async def test_faults_api_round_trip_and_validation(client):
    """PUT/POST/GET/DELETE /_smslab/faults manage the list; a bad fault is a JSON 400 with its path."""
    put = await client.put("/_smslab/faults", json=[{"kind": "error", "status": 503, "count": 2}])
    added = await client.post("/_smslab/faults", json={"kind": "reset", "path": "^/send"})
    assert [{"kind": "error", "count": 2, "probability": 1.0, "status": 503, "body": "",
             "content_type": "text/plain"}] == await put.json()
    assert ["error", "reset"] == [f["kind"] for f in await added.json()]
    bad = await client.put("/_smslab/faults", json=[{"kind": "error", "status": "x"}])
    body = await bad.json()
    assert (400, "faults[0].status") == (bad.status, body["problems"][0]["path"])
    assert [] == await (await client.delete("/_smslab/faults")).json()
    assert [] == await (await client.get("/_smslab/faults")).json()


async def test_error_fault_uses_broker_format_or_given_body(client):
    """An error fault answers the broker's error body, or the configured body, and captures nothing."""
    client.fake.faults.set(read_faults([{"kind": "error", "status": 503, "count": 1},
                                        {"kind": "error", "status": 502, "body": "<b>", "content_type":
                                         "text/html", "count": 1}]))
    first = await client.post("/send", data={"to": "+1"})
    second = await client.post("/send", data={"to": "+1"})
    assert (503, {"err": "other", "msg": "fault injected"}) == (first.status, await first.json())
    assert (502, "<b>", "text/html") == (second.status, await second.text(), second.content_type)
    assert 0 == client.fake.capture.total


async def test_throttle_fault_answers_429_with_retry_after(client):
    """A throttle fault answers 429 with Retry-After in the broker's format."""
    client.fake.faults.set(read_faults([{"kind": "throttle", "retry_after": 30, "count": 1}]))
    resp = await client.post("/send", data={"to": "+1"})
    assert (429, "30", "throttled") == (resp.status, resp.headers["Retry-After"], (await resp.json())["err"])


async def test_malformed_fault_cuts_the_real_body_after_handling(client):
    """A malformed fault lets the request through (captured) and cuts the answer in half."""
    client.fake.faults.set(read_faults([{"kind": "malformed", "count": 1}]))
    resp = await client.post("/send", data={"to": "+1"})
    assert (200, '{"id":') == (resp.status, await resp.text())
    assert 1 == client.fake.capture.total


async def test_latency_fault_waits_on_the_fake_clock(client):
    """A latency fault holds the answer until the fake's clock has moved by its delay."""
    client.fake.faults.set(read_faults([{"kind": "latency", "delay": 3, "count": 1}]))
    pending = asyncio.ensure_future(client.post("/send", data={"to": "+1"}))
    for _ in range(50):  # the request travels over loopback before it sleeps on the manual clock
        await asyncio.sleep(0.005)
        if client.fake.clock.sleepers:
            break
    assert not pending.done()
    await client.fake.clock.advance(3.0)
    resp = await asyncio.wait_for(pending, 5)
    assert 200 == resp.status


async def test_reset_and_hang_faults_drop_the_connection(client):
    """reset drops at once; hang drops after its delay; neither captures anything."""
    client.fake.faults.set(read_faults([{"kind": "reset", "count": 1}, {"kind": "hang", "delay": 1}]))
    with pytest.raises(aiohttp.ClientError):
        await client.post("/send", data={"to": "+1"})
    pending = asyncio.ensure_future(client.post("/send", data={"to": "+1"}))
    for _ in range(50):
        await asyncio.sleep(0.005)
        if client.fake.clock.sleepers:
            break
    await client.fake.clock.advance(1.0)
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(pending, 5)
    assert 0 == client.fake.capture.total


async def test_inspection_routes_are_never_faulted(client):
    """Faults apply to wire routes only; /_smslab/ keeps answering."""
    client.fake.faults.set(read_faults([{"kind": "reset"}]))
    resp = await client.get("/_smslab/health")
    assert (200, 1) == (resp.status, (await resp.json())["faults"])


async def test_inject_mo_validation_and_missing_url(client):
    """POST /_smslab/mo needs from/to/text strings; without an MO URL it is a 409; bad JSON a 415/400."""
    missing = await client.post("/_smslab/mo", json={"from": "+1"})
    no_url = await client.post("/_smslab/mo", json={"from": "+1", "to": "555", "text": "hi"})
    not_json = await client.post("/_smslab/mo", data=b"{", headers={"Content-Type": "application/json"})
    wrong_type = await client.post("/_smslab/mo", data=b"a=b")
    assert [400, 409, 400, 415] == [r.status for r in (missing, no_url, not_json, wrong_type)]
    assert "'to', 'text' must be given as strings" == (await missing.json())["error"]
    assert 0 == client.fake.capture.total


async def test_inject_mo_pushes_to_the_given_url(client, aiohttp_server):
    """An injected MO is captured, pushed to the request's URL and listed in the push log."""
    got = []

    async def sink(request: web.Request) -> web.Response:
        got.append(dict(await request.post()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/mo", sink)
    server = await aiohttp_server(app)
    url = str(server.make_url("/mo"))
    resp = await client.post("/_smslab/mo", json={"from": "+1650", "to": "55555", "text": "héllo", "url": url,
                                                   "carrier": "att"})
    record = await resp.json()
    assert (202, "mo", {"url": url, "carrier": "att"}) == (resp.status, record["kind"], record["fields"])
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.005)
    assert [{"from": "+1650", "text": "héllo"}] == got
    pushes = await (await client.get("/_smslab/pushes", params={"kind": "mo"})).json()
    assert [(url, 200, "delivered")] == [(p["url"], p["status"], p["outcome"]) for p in pushes]


async def test_health_reports_counters(client):
    """GET /_smslab/health names the fake and carries the counters."""
    await client.post("/send", data={"to": "+1"})
    health = await (await client.get("/_smslab/health")).json()
    assert ("echo", "echo", "ok", 1, 1) == (health["name"], health["kind"], health["status"],
                                            health["captured"]["total"], health["dlr"]["pending"])


async def test_two_fakes_side_by_side_on_real_ports():
    """Two fakes run in one loop on their own real ports and keep their own state."""
    one, two = _fake(), _fake()
    urls = [await one.start(), await two.start()]
    try:
        async with aiohttp.ClientSession() as s, s.post(urls[0] + "/send", data={"to": "+1"}) as r:
            assert 200 == r.status
        assert urls[0] != urls[1]
        assert all(u.startswith("http://127.0.0.1:") and not u.endswith(":0") for u in urls)
        assert (1, 0) == (one.capture.total, two.capture.total)
    finally:
        await one.stop()
        await two.stop()


async def test_https_listener_with_a_given_certificate():
    """start(ssl=...) serves HTTPS with the given certificate, verified by a client trusting its CA."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    fake = _fake()
    url = await fake.start(ssl=server_ctx)
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "/_smslab/health",
                                                                   ssl=client_ctx) as resp:
            health = await resp.json()
        assert (True, url) == (url.startswith("https://127.0.0.1:"), health["url"])
    finally:
        await fake.stop()


def test_common_settings_defaults_are_documented_values():
    """With an empty mapping the shared settings take their documented defaults."""
    assert CommonSettings() == _fake().settings


MO = {"from": "+13175550101", "to": "8005550100", "text": "hi", "url": "http://127.0.0.1:9/mo"}


@pytest.mark.parametrize("data", [
    json.dumps(MO).replace('"hi"', '"x\\ud800"').encode(),
    json.dumps(MO).replace('"+13175550101"', '"+1317\\udfff"').encode(),
    b"[" * 100_000,
    b'{"from": ' + b"1" * 5000 + b"}",
    json.dumps(MO).replace('"hi"', "NaN").encode(),
    json.dumps({**MO, "from": ""}).encode(),
    json.dumps({**MO, "from": "+1317\x005550101"}).encode(),
    json.dumps({**MO, "to": "800\r\n5550100"}).encode(),
    json.dumps({**MO, "to": "8" * 1000}).encode(),
], ids=["surrogate-text", "surrogate-from", "deep", "huge-integer", "nan", "empty-from", "nul-from", "crlf-to",
        "long-to"])
async def test_an_mo_the_lab_cannot_take_is_refused_before_it_is_captured(aiohttp_client, data):
    """POST /_smslab/mo refuses text that cannot be encoded, bodies JSON lacks and bad numbers: 400, nothing kept."""
    fake = _fake({"client_max_size": 1 << 20})
    client = await aiohttp_client(fake.app())
    resp = await client.post("/_smslab/mo", data=data, headers={"Content-Type": "application/json"})
    assert (400, []) == (resp.status, (await resp.json())["problems"])
    assert 0 == fake.capture.total
    listed = await client.get("/_smslab/messages")
    assert (200, []) == (listed.status, await listed.json())


async def test_faults_refuse_non_finite_numbers(client):
    """NaN and Infinity are not JSON numbers: no fault firing always or hanging for ever is stored."""
    for data in (b'{"kind": "error", "probability": NaN}', b'{"kind": "hang", "delay": Infinity}',
                 b'[{"kind": "latency", "delay": 1e999}]'):
        resp = await client.post("/_smslab/faults", data=data, headers={"Content-Type": "application/json"})
        assert 400 == resp.status
    listed = await client.get("/_smslab/faults")
    assert (200, "[]") == (listed.status, await listed.text())


async def test_a_bogus_content_encoding_is_refused_in_each_format(client):
    """A body that says gzip and is not is the broker's 400 on its wire and a JSON 400 on /_smslab/, not a 500."""
    gz = {"Content-Encoding": "gzip"}
    wire = await client.post("/send", data=b"to=+1", headers={**gz, "Content-Type": FORM})
    inspect = await client.post("/_smslab/mo", data=json.dumps(MO).encode(),
                                headers={**gz, "Content-Type": "application/json"})
    assert (400, "malformed") == (wire.status, (await wire.json())["err"])
    assert 400 == inspect.status
    assert "cannot be read" in (await inspect.json())["error"]
    assert 0 == client.fake.capture.total


async def test_a_stored_surrogate_never_breaks_the_messages_view(client):
    """Whatever reached the capture, GET /_smslab/messages answers JSON (the surrogate as its escape)."""
    client.fake.capture.add("mt", 0.0, recipient="+1", text="x\ud800", fields={"text": "x\ud800"})
    resp = await client.get("/_smslab/messages")
    assert 200 == resp.status
    assert '"text": "x\\ud800"' in await resp.text()
