"""The lab's live events: one bounded publish point, and the server-sent-event stream that reads it.

Theory of operation. Hooks on what the lab already has (each fake's capture store and pusher, each node's
committed interactions, the proxies' farm health, the pair's timeline: ``scenarios.lab.watch``) call
``EventHub.publish`` with a kind and a JSON-ready payload. ``publish`` never waits and never grows memory
with the number of events: it stamps the event with a running ``id``, keeps it in a ring of the last
``history`` events (for a client that reconnects with ``Last-Event-ID``), and appends it to each
subscriber's own queue, a deque of at most ``queue_limit`` events. A subscriber that does not keep up
loses its oldest events, counted; the next event it reads is a ``lagged`` event saying how many, so a
console can re-read the lab's state instead of trusting a gap. However many slow clients there are, memory
is bounded by ``subscribers x queue_limit``.

``stream`` serves one subscriber as ``text/event-stream`` (the WHATWG HTML "Server-sent events" format:
``id:``, ``event:``, ``data:`` lines, a blank line between events, ``:`` comment lines as heartbeats). A
client that goes away mid-stream ends its handler with a connection error, which unsubscribes it; nothing
else notices. ``close`` ends every stream (the lab stopping), so the server's shutdown never waits on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["EVENT_KINDS", "EventHub", "Subscription", "encode", "stream"]

#: Every kind of event the stream carries (``lagged`` is made per subscriber, never published).
EVENT_KINDS = ("message", "push", "interaction", "delivery", "farm", "timeline", "control", "lagged")

QUEUE_LIMIT = 256  # events queued per subscriber before its oldest are dropped
HISTORY = 512  # events kept for a client reconnecting with Last-Event-ID
HEARTBEAT = 15.0  # seconds of silence after which a comment line keeps proxies from closing the stream


@dataclass(eq=False)  # each subscription is its own: hashed by identity, kept in a set
class Subscription:
    """One client's queue: at most ``limit`` events, the oldest dropped (and counted) when full."""

    limit: int
    kinds: frozenset[str] = frozenset()
    queue: deque[dict[str, Any]] = field(init=False)
    dropped: int = 0
    closed: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = deque(maxlen=self.limit)

    def offer(self, event: dict[str, Any]) -> None:
        """Queue ``event`` (if of a kind this subscriber asked for), dropping the oldest when full."""
        if self.kinds and event["event"] not in self.kinds:
            return
        if len(self.queue) == self.limit:
            self.dropped += 1
        self.queue.append(event)
        self._ready.set()

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event, a ``lagged`` event after drops, or ``None`` after ``timeout`` s of silence or once
        closed."""
        if not self.queue and not self.closed:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            return {"event": "lagged", "id": None, "data": {"dropped": dropped}}
        return self.queue.popleft() if self.queue else None

    def close(self) -> None:
        """End the subscription: ``next`` answers ``None`` from now on."""
        self.closed = True
        self.queue.clear()
        self._ready.set()


class EventHub:
    """The publish point: a running id, a history ring and the subscribers' bounded queues.

    Args:
        queue_limit: events queued per subscriber.
        history: events kept for ``Last-Event-ID`` replays.
        wall: the clock events are stamped with (epoch seconds).
    """

    def __init__(self, *, queue_limit: int = QUEUE_LIMIT, history: int = HISTORY,
                 wall: Any = time.time) -> None:
        self.queue_limit = queue_limit
        self.history: deque[dict[str, Any]] = deque(maxlen=history)
        self.subscribers: set[Subscription] = set()
        self.published = 0
        self._ids = itertools.count(1)
        self._wall = wall
        self.closed = False

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Stamp and hand an event to every subscriber; never waits."""
        if self.closed:
            return
        event = {"event": kind, "id": next(self._ids), "data": {"at": round(self._wall(), 6), **data}}
        self.published += 1
        self.history.append(event)
        for subscriber in self.subscribers:
            subscriber.offer(event)

    def subscribe(self, kinds: Iterable[str] = (), after: int | None = None) -> Subscription:
        """A new subscriber; with ``after``, the events after that id still held are queued first."""
        subscription = Subscription(self.queue_limit, frozenset(kinds))
        if after is not None:
            for event in self.history:
                if event["id"] > after:
                    subscription.offer(event)
        if self.closed:
            subscription.close()
        else:
            self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscriber (safe to call twice)."""
        self.subscribers.discard(subscription)
        subscription.close()

    def close(self) -> None:
        """End every subscription and take no more events."""
        self.closed = True
        for subscription in list(self.subscribers):
            self.unsubscribe(subscription)

    def stats(self) -> dict[str, Any]:
        """Subscribers, the longest queue and what was published (for tests and the health view)."""
        longest = max((len(s.queue) for s in self.subscribers), default=0)
        return {"subscribers": len(self.subscribers), "longest_queue": longest,
                "queue_limit": self.queue_limit, "published": self.published}


def encode(event: dict[str, Any]) -> bytes:
    """One event as server-sent-event lines. JSON keeps every byte of message text inside one ``data:``
    line (a newline in a text is ``\\n`` in JSON), so no text can end an event or forge another."""
    head = f"id: {event['id']}\n" if event["id"] is not None else ""
    data = json.dumps(event["data"], ensure_ascii=False, default=str, separators=(",", ":"))
    return f"{head}event: {event['event']}\ndata: {data}\n\n".encode()


async def stream(request: web.Request, hub: EventHub, kinds: Iterable[str] = (),
                 heartbeat: float = HEARTBEAT) -> web.StreamResponse:
    """Serve ``hub`` to one client as ``text/event-stream`` until it goes away or the hub closes."""
    last = request.headers.get("Last-Event-ID", "")
    subscription = hub.subscribe(kinds, int(last) if last.isdigit() else None)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n: smslab events\n\n")
        while True:
            event = await subscription.next(heartbeat)
            if event is None and subscription.closed:
                break
            await response.write(encode(event) if event is not None else b": keep-alive\n\n")
    except ConnectionError:
        pass  # the client went away mid-stream: nothing to tell anyone
    finally:
        hub.unsubscribe(subscription)
    return response
