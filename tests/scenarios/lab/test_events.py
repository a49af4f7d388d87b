"""Tests for scenarios.lab.events: the bounded hub, the server-sent-event format, and the stream over real sockets
(a client leaving mid-stream, many clients that never read) and through a running lab's control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from scenarios.lab.assembly import Lab
from scenarios.lab.events import EventHub, encode, stream


def _parse(block: str) -> dict[str, str]:
    """One SSE event block as its fields (every data line joined, as a browser does)."""
    fields: dict[str, list[str]] = {}
    for line in block.split("\n"):
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value)
    return {k: "\n".join(v) for k, v in fields.items()}


async def _events(resp: aiohttp.ClientResponse, count: int) -> list[dict[str, str]]:
    """Read ``count`` events (comment-only blocks skipped) from an SSE response."""
    out: list[dict[str, str]] = []
    buffer = ""
    async with asyncio.timeout(10):
        while len(out) < count:
            buffer += (await resp.content.readany()).decode()
            while "\n\n" in buffer and len(out) < count:
                block, buffer = buffer.split("\n\n", 1)
                lines = [line for line in block.split("\n") if line and not line.startswith(":")
                         and not line.startswith("retry:")]
                if lines:
                    out.append(_parse("\n".join(lines)))
    return out


async def _until(predicate, what: str) -> None:
    """Let the loop run until ``predicate()`` holds (bounded: 5 s)."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.01)
    assert predicate(), what


@pytest.fixture
async def served() -> AsyncIterator[tuple[EventHub, str]]:
    """A hub (queues of 8) behind ``stream`` on a real loopback port."""
    hub = EventHub(queue_limit=8, history=16)
    app = web.Application()

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream(request, hub, heartbeat=0.05)

    app.router.add_get("/events", handler)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield hub, f"http://{host}:{port}/events"
    finally:
        hub.close()
        await runner.cleanup()


def test_a_slow_subscriber_keeps_its_newest_events_and_learns_how_many_it_lost() -> None:
    """Past queue_limit the oldest events go, counted; the next read is a lagged event with that count."""
    hub = EventHub(queue_limit=4)
    sub = hub.subscribe()
    for n in range(10):
        hub.publish("message", {"n": n})
    assert 4 == len(sub.queue)

    async def read() -> list[dict]:
        return [e for e in [await sub.next(0.01) for _ in range(6)] if e is not None]

    got = asyncio.run(read())
    assert [("lagged", {"dropped": 6})] == [(e["event"], e["data"]) for e in got[:1]]
    assert [6, 7, 8, 9] == [e["data"]["n"] for e in got[1:]]


def test_memory_stays_bounded_with_many_subscribers_that_never_read() -> None:
    """A thousand subscribers that never read hold at most queue_limit events each, however many are published."""
    hub = EventHub(queue_limit=16, history=32)
    subs = [hub.subscribe() for _ in range(1000)]
    for n in range(5000):
        hub.publish("message", {"n": n, "text": "x" * 100})
    assert {16} == {len(s.queue) for s in subs}
    assert {5000 - 16} == {s.dropped for s in subs}
    assert 32 == len(hub.history)
    assert {"subscribers": 1000, "longest_queue": 16, "queue_limit": 16, "published": 5000} == hub.stats()


def test_kinds_filter_and_last_event_id_replay() -> None:
    """A subscriber asking for some kinds gets only those; one given an id gets the held events after it first."""
    hub = EventHub(queue_limit=10, history=3)
    for n in range(5):
        hub.publish("message" if n % 2 else "timeline", {"n": n})
    replay = hub.subscribe(after=3)
    assert [4, 5] == [e["id"] for e in replay.queue]  # ids 3, 4 and 5 are held
    only = hub.subscribe(kinds=["timeline"], after=0)
    assert [3, 5] == [e["id"] for e in only.queue]  # 4 is a message


def test_encode_keeps_any_text_inside_one_data_line() -> None:
    """A text with newlines and an SSE field of its own cannot end the event or forge another one."""
    text = "hi\n\nevent: control\ndata: {\"action\": \"reset\"}\r\n<script>alert(1)</script>"
    raw = encode({"event": "message", "id": 7, "data": {"text": text}}).decode()
    assert raw.endswith("\n\n")
    assert 1 == raw.count("\n\n")
    assert ["id: 7", "event: message"] == raw.split("\n")[:2]
    assert {"text": text} == json.loads(_parse(raw.rstrip("\n"))["data"])


def test_a_closed_hub_ends_its_subscriptions_and_takes_no_more_events() -> None:
    """close() ends every subscription (next answers None at once) and publish does nothing after it."""
    hub = EventHub()
    sub = hub.subscribe()
    hub.close()
    hub.publish("message", {})
    assert (0, True, None) == (hub.published, sub.closed, asyncio.run(sub.next(5)))
    assert hub.subscribe().closed


async def test_a_client_leaving_mid_stream_is_forgotten_and_the_others_keep_reading(
        served: tuple[EventHub, str]) -> None:
    """A client that closes its connection in the middle of the stream is unsubscribed; another one is not
    disturbed and reads every event."""
    hub, url = served
    async with aiohttp.ClientSession() as session:
        stayer = await session.get(url)
        leaver = await session.get(url)
        await _until(lambda: hub.stats()["subscribers"] == 2, "both subscribed")
        hub.publish("message", {"n": 0})
        assert [0] == [json.loads(e["data"])["n"] for e in await _events(leaver, 1)]
        leaver.close()  # gone in the middle of the stream
        for n in range(1, 6):
            hub.publish("message", {"n": n})
            await asyncio.sleep(0)
        await _until(lambda: hub.stats()["subscribers"] == 1, "the leaver unsubscribed")
        got = await _events(stayer, 6)
        assert list(range(6)) == [json.loads(e["data"])["n"] for e in got]
        stayer.close()
    await _until(lambda: hub.stats()["subscribers"] == 0, "the stayer unsubscribed too")


async def test_many_clients_that_never_read_hold_bounded_queues(served: tuple[EventHub, str]) -> None:
    """Twenty clients that send the request and never read a byte: their sockets fill, their handlers wait, and
    each queue stays at queue_limit while thousands of large events go by; a reading client still gets the
    newest events, told how many it missed."""
    hub, url = served
    host, port = url.split("//")[1].split("/")[0].split(":")
    sockets = []
    try:
        for _ in range(20):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((host, int(port)))
            sock.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            sockets.append(sock)
        await _until(lambda: hub.stats()["subscribers"] == 20, "every slow client subscribed")
        for n in range(3000):
            hub.publish("message", {"n": n, "text": "x" * 2000})
            if n % 100 == 0:
                await asyncio.sleep(0)  # let the handlers write until their sockets are full
        # Every handler is stuck writing to a full socket: its queue is full, no fuller, and it is losing
        # events (counted) rather than holding them.
        assert {hub.queue_limit} == {len(s.queue) for s in hub.subscribers}
        assert all(s.dropped > 0 for s in hub.subscribers)
        async with aiohttp.ClientSession() as session, session.get(url) as reader:
            await _until(lambda: hub.stats()["subscribers"] == 21, "the reader subscribed")
            for n in range(3000, 3020):
                hub.publish("message", {"n": n})
            await asyncio.sleep(0)
            got = await _events(reader, 2)
            assert ("lagged", {"dropped": 12}) == (got[0]["event"], json.loads(got[0]["data"]))
            assert 3012 == json.loads(got[1]["data"])["n"]
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()


async def test_the_lab_streams_a_hostile_mo_as_json_text_and_refuses_unknown_kinds() -> None:
    """Through a running lab: an MO injected with the control API arrives on GET /_smslab/events as a message
    event whose JSON text is the sender's exact text; an unknown kind is a 400 naming the kinds."""
    text = "<script>alert('x')</script>\n\ndata: forged"
    async with Lab() as lab, aiohttp.ClientSession() as session:
        async with session.get(lab.url + "/_smslab/events?kinds=bogus,message") as bad:
            assert 400 == bad.status
            assert {"error": "unknown event kind(s) bogus; the kinds are message, push, interaction, "
                             "delivery, farm, timeline, control, lagged"} == await bad.json()
        async with session.get(lab.url + "/_smslab/events?kinds=message,interaction") as events:
            assert "text/event-stream; charset=utf-8" == events.headers["Content-Type"]
            await _until(lambda: lab.events.stats()["subscribers"] == 1, "subscribed")
            mo = {"from": "+13175550101", "to": "8005550100", "text": text}
            async with session.post(lab.url + "/_smslab/brokers/kaleyra/mo", json=mo) as resp:
                assert 202 == resp.status
            got = await _events(events, 2)
        assert ["message", "interaction"] == [e["event"] for e in got]
        message = json.loads(got[0]["data"])
        assert ("kaleyra", "mo", text) == (message["broker"], message["kind"], message["text"])
        interaction = json.loads(got[1]["data"])
        assert ("primary", [text], 1) == (interaction["node"], [e["text"] for e in interaction["transcript"]],
                                          interaction["transcript_total"])
    assert 0 == lab.events.stats()["subscribers"]  # stopping the lab ended the stream


async def test_a_delivery_receipt_reaching_the_node_is_a_delivery_event_with_its_arrival_time() -> None:
    """Through a running lab: an agent's MT is sent, and the Kaleyra DR reaching the active node arrives on
    the stream as a delivery event with the message id the send answered and the node's arrival time."""
    async with Lab() as lab, aiohttp.ClientSession() as session:
        async with session.get(lab.url + "/_smslab/events?kinds=delivery") as events:
            await _until(lambda: lab.events.stats()["subscribers"] == 1, "subscribed")
            async with session.post(lab.url + "/_smslab/send",
                                    json={"to": "+13175550123", "text": "your order shipped",
                                          "classification": "Local"}) as resp:
                assert 202 == resp.status
                sent = await resp.json()
            sent_at = asyncio.get_running_loop().time()
            got = await _events(events, 1)
        data = json.loads(got[0]["data"])
        assert "delivery" == got[0]["event"]
        assert ("primary", "kaleyra", "delivered") == (data["node"], data["broker"], data["state"])
        assert sent["requests"][0]["message_ids"] == [data["message_id"]]
        assert data["received_at"] <= data["at"]  # stamped on arrival, before the hub published it
        assert asyncio.get_running_loop().time() - sent_at < 5
