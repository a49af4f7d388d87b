"""The inspection API every fake serves under ``/_smslab/``: list and reset what it received, inject, fault.

Routes (JSON in and out; errors are ``{"error": ..., "problems": [{path, value, reason}]}``)::

    GET    /_smslab/messages?kind=&to=&from=&since=&until=&limit=&message_id=&after=   captured records,
                                      oldest first: at most ``limit`` (default 1000, at most 10000) after
                                      the record numbered ``after``; when more follow, a
                                      ``Link: <...after=N>; rel="next"`` header says where
    GET    /_smslab/messages/{seq}    one record with what was on the wire for it: the request and answer
                                      (an MT), or the push and its attempts (an MO, a DLR)
    DELETE /_smslab/messages          forget captured records, pending DLRs and pushes
    POST   /_smslab/mo                {"from", "to", "text", ["url"], ...broker extras} -> 202 record
    GET    /_smslab/faults            active faults
    PUT    /_smslab/faults            replace them (a list, or one fault object)
    POST   /_smslab/faults            add to them (a list, or one fault object)
    DELETE /_smslab/faults            remove them all
    GET    /_smslab/pushes?kind=&limit=&after=   push attempts, oldest first (after: an attempt's seq)
    GET    /_smslab/health            name, kind, url and counters
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from multidict import MultiMapping

from fakes.common.capture import KINDS, Captured, CaptureStore
from fakes.common.faults import FaultHook, read_faults
from fakes.common.push import Pusher
from fakes.common.wire import json_body
from sim.core.errors import ConfigError, InputError
from sim.core.fields import check_address
from sim.serving import json_response

__all__ = ["MAX_PAGE_LIMIT", "PAGE_LIMIT", "Inspected", "MoRequest", "inspect_routes", "json_response"]

PAGE_LIMIT = 1000  # records per GET /_smslab/messages unless ``limit`` says otherwise (issue 20)
MAX_PAGE_LIMIT = 10_000  # the default capture holds this many: one page can still read it all

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class MoRequest:
    """An MO to inject (``POST /_smslab/mo``): the handset ``sender`` texts ``recipient``.

    Attributes:
        sender: the handset number (``from``).
        recipient: the short or long code it was sent to (``to``).
        text: the message text.
        url: push to this URL instead of the configured MO URL, when not empty.
        extra: any other fields given; each broker documents which it uses (others are refused).
    """

    sender: str
    recipient: str
    text: str
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _errors_as_json(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ConfigError as exc:
            problems = [{"path": p.path, "value": p.value, "reason": p.reason} for p in exc.problems]
            return json_response({"error": str(exc), "problems": problems}, exc.status)
        except InputError as exc:
            return json_response({"error": str(exc), "problems": []}, exc.status)
    return wrapped


def _number(query: MultiMapping[str], key: str) -> float | None:
    if key not in query:
        return None
    try:
        return float(query[key])
    except ValueError:
        raise InputError(f"'{key}' must be a number of seconds (got {query[key]!r})") from None


def _limit(query: MultiMapping[str]) -> int | None:
    if "limit" not in query:
        return None
    value = query["limit"]
    if not value.isdigit():
        raise InputError(f"'limit' must be a whole number, at least 0 (got {value!r})")
    return int(value)


def _page_limit(query: MultiMapping[str]) -> int:
    value = query.get("limit", str(PAGE_LIMIT))
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE_LIMIT:
        raise InputError(f"'limit' must be a whole number from 1 to {MAX_PAGE_LIMIT} (got {value[:60]!r})")
    return int(value)


def _after(query: MultiMapping[str]) -> int:
    value = query.get("after", "0")
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InputError(f"'after' must be a record's seq, a whole number (got {value[:60]!r})")
    return int(value)


class Inspected(Protocol):
    """What the inspection routes need of a fake: its capture, fault hook and pusher, and three actions.

    ``fakes.common.fake.FakeBroker`` is one; the routes are built from this view rather than from that
    class, so the fake imports the routes and nothing imports back.
    """

    capture: CaptureStore
    faults: FaultHook
    pusher: Pusher

    def reset(self) -> None:
        """Forget what was captured (and what the fake's model holds)."""

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Push ``mo`` to the MO URL in the broker's own format; the captured record."""

    def health(self) -> dict[str, Any]:
        """The fake, its settings in effect and the variants chosen."""

    def wire_of(self, record: Captured) -> dict[str, Any]:
        """What was on the wire for a captured record (``fakes.common.wirelog``)."""


def inspect_routes(fake: Inspected) -> list[web.RouteDef]:
    """The inspection routes bound to ``fake``."""

    async def messages(request: web.Request) -> web.StreamResponse:
        q = request.query
        kind = q.get("kind")
        if kind is not None and kind not in KINDS:
            raise InputError(f"'kind' must be one of {', '.join(KINDS)} (got {kind!r})")
        limit = _page_limit(q)
        found = fake.capture.query(kind=kind, to=q.get("to"), from_=q.get("from"), since=_number(q, "since"),
                                   until=_number(q, "until"), limit=limit + 1, message_id=q.get("message_id"),
                                   after=_after(q))
        response = json_response([r.to_json() for r in found[:limit]])
        if len(found) > limit:  # one more than the page: say where the next one starts
            following = request.rel_url.update_query(after=str(found[limit - 1].seq))
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response

    async def message(request: web.Request) -> web.StreamResponse:
        seq = request.match_info["seq"]
        if not (seq.isascii() and seq.isdigit()) or len(seq) > 18:
            raise InputError(f"a record's seq is a whole number (got {seq[:60]!r})")
        found = fake.capture.query(after=int(seq) - 1, limit=1) if int(seq) > 0 else []
        if not found or found[0].seq != int(seq):
            held = fake.capture.limit
            raise InputError(f"no record {seq} is held (the capture keeps the last {held})", 404)
        return json_response({**found[0].to_json(), "wire": fake.wire_of(found[0])})

    async def reset(request: web.Request) -> web.StreamResponse:
        held = len(fake.capture)
        fake.reset()
        return json_response({"cleared": held})

    async def inject(request: web.Request) -> web.StreamResponse:
        data = await json_body(request)
        if not isinstance(data, dict):
            raise InputError("the body must be a JSON object with 'from', 'to' and 'text'")
        missing = [k for k in ("from", "to", "text") if not isinstance(data.get(k), str)]
        if missing:
            raise InputError(f"{', '.join(repr(k) for k in missing)} must be given as strings")
        check_address(data["from"], "from")
        check_address(data["to"], "to")
        url = data.get("url", "")
        if not isinstance(url, str):
            raise InputError(f"'url' must be a string (got {url!r})")
        extra = {k: v for k, v in data.items() if k not in ("from", "to", "text", "url")}
        record = await fake.inject_mo(MoRequest(data["from"], data["to"], data["text"], url, extra))
        return json_response(record.to_json(), 202)

    async def get_faults(request: web.Request) -> web.StreamResponse:
        return json_response([f.to_json() for f in fake.faults.active()])

    async def put_faults(request: web.Request) -> web.StreamResponse:
        fake.faults.set(read_faults(await json_body(request), "faults"))
        return await get_faults(request)

    async def add_faults(request: web.Request) -> web.StreamResponse:
        for fault in read_faults(await json_body(request), "faults"):
            fake.faults.add(fault)
        return await get_faults(request)

    async def clear_faults(request: web.Request) -> web.StreamResponse:
        fake.faults.clear()
        return json_response([])

    async def pushes(request: web.Request) -> web.StreamResponse:
        kind, limit, after = request.query.get("kind"), _limit(request.query), _after(request.query)
        found = [a.to_json() for a in fake.pusher.attempts
                 if (kind is None or a.kind == kind) and a.seq > after]
        return json_response(found[:limit] if limit is not None else found)

    async def health(request: web.Request) -> web.StreamResponse:
        return json_response(fake.health())

    p = "/_smslab"
    table: list[tuple[str, str, Handler]] = [
        ("GET", "messages", messages), ("GET", "messages/{seq}", message), ("DELETE", "messages", reset),
        ("POST", "mo", inject),
        ("GET", "faults", get_faults), ("PUT", "faults", put_faults), ("POST", "faults", add_faults),
        ("DELETE", "faults", clear_faults), ("GET", "pushes", pushes), ("GET", "health", health),
    ]
    return [web.route(method, f"{p}/{path}", _errors_as_json(h)) for method, path, h in table]
