"""Tests for fakes.common.push: push values, the retry policy and the pusher against a real sink."""

import asyncio
import random
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from fakes.common.clock import ManualClock, RealClock
from fakes.common.faults import FaultHook, read_faults
from fakes.common.push import Push, Pusher, PushMethod, RetryPolicy


def test_a_form_push_sent_as_get_carries_the_same_bytes_in_the_query():
    """push.method GET moves a form body to the query string byte for byte; no body, no content type."""
    push = Push.form("mo", "http://gw/mo?smsc=a", [("from", "+1650"), ("text", "ça va")], message_id="m1")
    get = push.sent_as(PushMethod.GET)
    assert ("GET", "http://gw/mo?smsc=a&" + push.body.decode(), b"", "", "m1") == (
        get.method, get.url, get.body, get.content_type, get.message_id)
    assert [("smsc", "a"), ("from", "+1650"), ("text", "ça va")] == parse_qsl(get.url.partition("?")[2])
    assert push is push.sent_as(None)
    assert push is push.sent_as(PushMethod.POST)


def test_a_json_push_sent_as_get_puts_each_member_in_the_query():
    """A JSON object's members become query fields: strings as they are, other values as JSON, no nulls."""
    push = Push.json("dlr", "http://gw/dr", {"messageId": "m", "status": "delivered", "n": 2,
                                            "info": {"a": "b"}, "gone": None})
    url = push.sent_as(PushMethod.GET).url
    assert [("messageId", "m"), ("status", "delivered"), ("n", "2"), ("info", '{"a":"b"}')] == parse_qsl(
        url.partition("?")[2])


def test_a_get_push_sent_as_post_carries_its_query_as_a_form_body():
    """push.method POST turns a query-string GET into a form post of the same fields."""
    post = Push.query("dlr", "http://gw/cb", {"id": "k1", "status": "DELIVRD"}).sent_as(PushMethod.POST)
    assert ("POST", "http://gw/cb", b"id=k1&status=DELIVRD", "application/x-www-form-urlencoded") == (
        post.method, post.url, post.body, post.content_type)


def test_kaleyra_default_policy_retries_every_minute_for_two_days():
    """The fixed policy retries every interval until the total is used up (60 s for 48 h: 2880 retries)."""
    policy = RetryPolicy(interval=60.0, total=48 * 3600.0)
    delays = [policy.delay(n) for n in range(1, 2882)]
    assert (60.0, 60.0, None) == (delays[0], delays[2879], delays[2880])


def test_backoff_list_wins_and_then_gives_up():
    """An explicit backoff list is used in order, then the push is given up."""
    policy = RetryPolicy(backoff=(1.0, 5.0, 30.0))
    assert [1.0, 5.0, 30.0, None] == [policy.delay(n) for n in range(1, 5)]


def test_no_retry_policy():
    """total=0 never retries."""
    assert RetryPolicy(total=0).delay(1) is None


def test_push_encodings():
    """Form, JSON and query pushes encode their fields as UTF-8 on the wire."""
    form = Push.form("mo", "http://h/mo", {"message": "héllo & bye", "n": "1"}, auth=("u", "p"))
    body = Push.json("dlr", "http://h/cb", {"status": "Délivré"})
    query = Push.query("dlr", "http://h/cb?x=1", [("id", "m 1")])
    assert (b"message=h%C3%A9llo+%26+bye&n=1", "application/x-www-form-urlencoded", ("u", "p")) == (
        form.body, form.content_type, form.auth)
    assert ('{"status":"Délivré"}'.encode(), "application/json") == (body.body, body.content_type)
    assert ("http://h/cb?x=1&id=m+1", "GET", b"") == (query.url, query.method, query.body)


class Sink:
    """A loopback receiver answering a scripted list of statuses, recording what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[str, dict[str, str], str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        self.got.append((request.method, dict(parse_qsl(body)), request.headers.get("Authorization", "")))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)


async def _sink(aiohttp_server, statuses: list[int]) -> tuple[Sink, str]:
    sink = Sink(statuses)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", sink.handle)
    server = await aiohttp_server(app)
    return sink, str(server.make_url("/dr"))


async def _until(condition, timeout: float = 5.0) -> None:
    """Wait for real socket I/O to finish (loopback), polling; fails the test on timeout."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


async def test_retries_on_non_2xx_then_delivers_and_records_each_attempt(aiohttp_server):
    """A 500 then a 503 are retried on the manual clock's schedule; every attempt is in the log."""
    sink, url = await _sink(aiohttp_server, [500, 503, 200])
    clock = ManualClock(start=1000.0)
    pusher = Pusher(clock, RetryPolicy(backoff=(10.0, 20.0)), FaultHook(random.Random(1)))
    await pusher.start()
    pusher.submit(Push.form("dlr", url, {"message_id": "m1"}, auth=("user", "pw"), message_id="m1"))
    await _until(lambda: len(pusher.attempts) == 1)
    await clock.advance(10.0)
    await _until(lambda: len(pusher.attempts) == 2)
    await clock.advance(20.0)
    await _until(lambda: len(pusher.attempts) == 3)
    await pusher.stop()
    assert [(1, 1000.0, 500, "retry"), (2, 1010.0, 503, "retry"), (3, 1030.0, 200, "delivered")] == [
        (a.attempt, a.at, a.status, a.outcome) for a in pusher.attempts]
    assert ("POST", {"message_id": "m1"}, "Basic dXNlcjpwdw==") == sink.got[0]
    assert (1, 0) == (pusher.counts["delivered"], pusher.pending)


async def test_connection_error_is_retried_then_given_up():
    """A refused connection is recorded with its error and retried until the policy gives up."""
    clock = ManualClock()
    pusher = Pusher(clock, RetryPolicy(backoff=(1.0,)), FaultHook(random.Random(1)), timeout=2.0)
    await pusher.start()
    pusher.submit(Push.form("mo", "http://127.0.0.1:9/mo", {"a": "b"}))  # port 9 (discard): refused
    await _until(lambda: len(pusher.attempts) == 1)
    await clock.advance(1.0)
    await _until(lambda: len(pusher.attempts) == 2)
    await pusher.stop()
    outcomes = [(a.status, a.outcome) for a in pusher.attempts]
    assert [(None, "retry"), (None, "gave_up")] == outcomes
    assert pusher.attempts[0].error.startswith("ConnectionRefusedError: ")
    assert 1 == pusher.counts["gave_up"]


async def test_time_scale_shrinks_retry_delays(aiohttp_server):
    """With time_scale 0.001 a 60 s retry happens after 60 ms of real time."""
    _, url = await _sink(aiohttp_server, [500])
    pusher = Pusher(RealClock(), RetryPolicy(interval=60.0, total=3600.0), FaultHook(random.Random(1)),
                    time_scale=0.001)
    await pusher.start()
    pusher.submit(Push.form("dlr", url, {"a": "1"}))
    await _until(lambda: pusher.counts["delivered"] == 1)
    await pusher.stop()
    first, second = pusher.attempts
    assert 0.05 <= second.at - first.at < 2.0


async def test_drop_dlr_fault_is_checked_in_submit(aiohttp_server):
    """A drop_dlr fault stops one DLR push, logged as dropped; the next one goes out."""
    sink, url = await _sink(aiohttp_server, [])
    faults = FaultHook(random.Random(1), read_faults([{"kind": "drop_dlr", "count": 1}]))
    pusher = Pusher(RealClock(), RetryPolicy(total=0), faults)
    await pusher.start()
    assert [False, True] == [pusher.submit(Push.form("dlr", url, {"n": str(i)})) for i in range(2)]
    await _until(lambda: len(sink.got) == 1)
    await pusher.stop()
    assert [{"n": "1"}] == [g[1] for g in sink.got]
    assert ["dropped", "delivered"] == [a.outcome for a in pusher.attempts]


async def test_duplicate_mo_fault_pushes_twice(aiohttp_server):
    """A duplicate_mo fault delivers the same MO body twice."""
    sink, url = await _sink(aiohttp_server, [])
    faults = FaultHook(random.Random(1), read_faults([{"kind": "duplicate_mo", "count": 1}]))
    pusher = Pusher(RealClock(), RetryPolicy(total=0), faults)
    await pusher.start()
    pusher.submit(Push.form("mo", url, {"message_id": "mo1"}))
    await _until(lambda: len(sink.got) == 2)
    await pusher.stop()
    assert [{"message_id": "mo1"}] * 2 == [g[1] for g in sink.got]


async def test_reorder_dlr_fault_lets_the_next_dlr_overtake(aiohttp_server):
    """A reorder_dlr fault holds one DLR back so the one after it arrives first."""
    sink, url = await _sink(aiohttp_server, [])
    clock = ManualClock()
    faults = FaultHook(random.Random(1), read_faults([{"kind": "reorder_dlr", "count": 1, "delay": 5}]))
    pusher = Pusher(clock, RetryPolicy(total=0), faults, concurrency=1)
    await pusher.start()
    for n in ("first", "second"):
        pusher.submit(Push.form("dlr", url, {"n": n}))
    await _until(lambda: len(sink.got) == 1)
    await clock.advance(5.0)
    await _until(lambda: len(sink.got) == 2)
    await pusher.stop()
    assert ["second", "first"] == [g[1]["n"] for g in sink.got]


async def test_pending_pushes_are_bounded():
    """Beyond max_pending a push is refused, counted and logged; the attempt log is bounded too."""
    pusher = Pusher(ManualClock(), RetryPolicy(total=0), FaultHook(random.Random(1)), max_pending=2,
                    attempts_limit=1)
    results = [pusher.submit(Push.form("dlr", "http://127.0.0.1:9/", {})) for _ in range(4)]
    assert ([True, True, False, False], 2, 1) == (results, pusher.counts["overflow"], len(pusher.attempts))
    assert "over 2 pushes pending" in pusher.attempts[0].error


@pytest.mark.parametrize("status", [300, 404, 429])
async def test_only_2xx_counts_as_delivered(aiohttp_server, status):
    """3xx and 4xx answers are failures (given up here, with no retries)."""
    _, url = await _sink(aiohttp_server, [status])
    pusher = Pusher(ManualClock(), RetryPolicy(total=0), FaultHook(random.Random(1)))
    await pusher.start()
    pusher.submit(Push.form("dlr", url, {}))
    await _until(lambda: len(pusher.attempts) == 1)
    await pusher.stop()
    assert "gave_up" == pusher.attempts[0].outcome
