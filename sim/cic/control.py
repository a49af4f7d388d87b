"""The node's control API (the pair, the lab and tests drive a node through it; JSON in and out).

Routes, all under ``/_smslab/`` (errors are ``{"error": "..."}`` with a 4xx; a body is read by
``sim.serving.read_json``, so it must be ``application/json``, else 415)::

    GET  /_smslab/node              name, role, fault, sms_urls, dr_urls, bound_ports, interactions (count),
                                    core (in process, or over HTTP: url, calls, failures, last_error)
    GET  /_smslab/node/ts-ping      200 {"ok": true}; a hung node never answers
    POST /_smslab/node/role         {"role": "active"|"backup"|"down"}
    POST /_smslab/node/fault        {"mode": "none"|"hang"|"slow"|"partition"|"crash-on-mo"}
    POST /_smslab/node/mirror       a mirror record, or {"records": [...]} for a full sync
    POST /_smslab/node/peer         {"url": peer control URL or ""}: mirror to that node over HTTP
    GET  /_smslab/node/full-sync    {"records": [...], "next": seq or null}: one chunk of mirror records;
                                    query after (a seq, default 0), limit (default 200, at most 1000)
    POST /_smslab/node/recover      {"recovered": n}
    POST /_smslab/node/reset-core   {}
    POST /_smslab/node/reset        {}
    POST /_smslab/agent/send        {"to", "text", ["from", "account", "classification", "interaction_id",
                                    "party"]} -> 202 the send's outcome
    GET  /_smslab/interactions      {"interactions": [...], "next": cursor or null}: one page, oldest first;
                                    query limit (default 100, at most 1000), cursor, customer, state,
                                    since (``sim.cic.paging``)
    GET  /_smslab/node/log          {"log": [...]}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from sim.cic.listeners import Binding
from sim.cic.paging import MAX_LIMIT, parse_query, whole
from sim.cic.records import CHUNK, Records
from sim.cic.roles import NodeFault, Role
from sim.core.errors import InputError
from sim.serving import json_response, read_json

__all__ = ["ControlBinding", "ControlledNode", "PeerMirror", "control_routes", "fetch_interactions"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SEND_FIELDS = {"to", "text", "from", "account", "classification", "interaction_id", "party"}


async def _body(request: web.Request) -> dict[str, Any]:
    data = await read_json(request, empty={})
    if not isinstance(data, dict):
        raise InputError("the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise InputError(f"'{name}' must be a {'non-empty ' if required else ''}string (got {value!r})")
    return value


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InputError as exc:
        status = exc.status if 400 <= exc.status < 600 else 400
        return json_response({"error": str(exc)}, status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_response({"error": exc.reason}, exc.status)


class ControlledNode(Protocol):
    """What the control API drives: a node's role, fault, peer and log, and its ``records``."""

    @property
    def records(self) -> Records:
        """The node's interactions, store and mirror."""
        ...

    @property
    def log(self) -> Iterable[dict[str, Any]]:
        """The node's log entries, oldest first."""
        ...

    @property
    def fault(self) -> NodeFault:
        """The fault in effect."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ``GET /_smslab/node`` answers."""
        ...

    def ts_ping(self) -> bool:
        """The TsServer's answer to the peer's ping."""
        ...

    async def wait_change(self) -> None:
        """Wait for the next role or fault change."""
        ...

    def set_role(self, role: Role) -> None:
        """Give the node a role."""
        ...

    def set_fault(self, fault: NodeFault) -> None:
        """Inject a fault (``NONE`` clears it)."""
        ...

    async def settled(self) -> None:
        """Wait until every scheduled reopening of sockets has happened."""
        ...

    async def set_peer_url(self, url: str) -> None:
        """Mirror to the node whose control API is at ``url`` (``""``: mirror nowhere)."""
        ...

    async def reset(self) -> None:
        """Forget interactions, store rows, the mirror and the log."""
        ...


class PeerMirror:
    """Mirrors records to a peer node's control API over HTTP (``POST /_smslab/node/mirror``)."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/") + "/_smslab/node/mirror"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, record: dict[str, Any]) -> None:
        """Send one record; a non-2xx answer raises."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=self.timeout)
        async with self.session.post(self.url, json=record) as response:
            if response.status >= 300:
                raise RuntimeError(f"peer answered {response.status}: {(await response.text())[:200]}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self.session is not None:
            await self.session.close()


def control_routes(node: ControlledNode) -> list[web.RouteDef]:
    """The routes of the module docstring, bound to ``node``."""

    async def describe(request: web.Request) -> web.Response:
        return json_response(node.describe())

    async def ts_ping(request: web.Request) -> web.Response:
        while not node.ts_ping():
            if node.fault is not NodeFault.HANG:
                return json_response({"ok": False}, 503)
            await node.wait_change()
        return json_response({"ok": True})

    async def role(request: web.Request) -> web.Response:
        value = _text(await _body(request), "role", required=True)
        try:
            node.set_role(Role(value))
        except ValueError as exc:
            raise InputError(f"role must be one of active, backup, down (got {value!r})") from exc
        await node.settled()
        return json_response(node.describe())

    async def fault(request: web.Request) -> web.Response:
        value = _text(await _body(request), "mode", required=True)
        try:
            node.set_fault(NodeFault(value))
        except ValueError as exc:
            modes = ", ".join(f.value for f in NodeFault)
            raise InputError(f"mode must be one of {modes} (got {value!r})") from exc
        await node.settled()
        return json_response(node.describe())

    async def mirror(request: web.Request) -> web.Response:
        data = await _body(request)
        records = data.get("records", [data])
        if not isinstance(records, list):
            raise InputError("'records' must be a list of mirror records")
        node.records.accept_mirrors(records)
        return json_response({"accepted": len(records)})

    async def peer(request: web.Request) -> web.Response:
        url = _text(await _body(request), "url")
        await node.set_peer_url(url)
        return json_response({"peer": url})

    async def full_sync(request: web.Request) -> web.Response:
        after = whole(request.query.get("after", "0"), "after", 0, 2**63 - 1)
        limit = whole(request.query.get("limit", str(CHUNK)), "limit", 1, MAX_LIMIT)
        records, following = node.records.full_sync_page(after, limit)
        return json_response({"records": records, "next": following})

    async def recover(request: web.Request) -> web.Response:
        return json_response({"recovered": await node.records.recover()})

    async def reset_core(request: web.Request) -> web.Response:
        await node.records.reset_core()
        return json_response({})

    async def reset(request: web.Request) -> web.Response:
        await node.reset()
        return json_response({})

    async def send(request: web.Request) -> web.Response:
        data = await _body(request)
        unknown = sorted(set(data) - SEND_FIELDS)
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(unknown)}")
        answer = await node.records.send(
            _text(data, "to", required=True), _text(data, "text", required=True), sender=_text(data, "from"),
            account=_text(data, "account"), classification=_text(data, "classification"),
            interaction_id=_text(data, "interaction_id"), party=_text(data, "party") or "agent")
        return json_response(answer, 202)

    async def interactions(request: web.Request) -> web.Response:
        query = parse_query(request.query.items())
        page = node.records.page(query)
        return json_response({"interactions": list(page.items), "next": page.next})

    async def log(request: web.Request) -> web.Response:
        return json_response({"log": list(node.log)})

    return [
        web.get("/_smslab/node", describe), web.get("/_smslab/node/ts-ping", ts_ping),
        web.post("/_smslab/node/role", role), web.post("/_smslab/node/fault", fault),
        web.post("/_smslab/node/mirror", mirror), web.post("/_smslab/node/peer", peer),
        web.get("/_smslab/node/full-sync", full_sync), web.post("/_smslab/node/recover", recover),
        web.post("/_smslab/node/reset-core", reset_core), web.post("/_smslab/node/reset", reset),
        web.post("/_smslab/agent/send", send), web.get("/_smslab/interactions", interactions),
        web.get("/_smslab/node/log", log),
    ]


async def fetch_interactions(session: aiohttp.ClientSession, base_url: str,
                             **filters: str) -> list[dict[str, Any]]:
    """Every interaction ``GET /_smslab/interactions`` lists at ``base_url``, following ``next`` to the end.

    The node's control API and the lab's answer that route alike, so either URL will do.

    Args:
        session: the client session to ask with.
        base_url: the control API's base URL.
        filters: ``customer``, ``state``, ``since`` or ``limit``, as query values.

    Raises:
        RuntimeError: an answer was not a 200.
    """
    found: list[dict[str, Any]] = []
    query = dict(filters)
    while True:
        async with session.get(f"{base_url.rstrip('/')}/_smslab/interactions", params=query) as resp:
            if resp.status != 200:
                raise RuntimeError(f"GET /_smslab/interactions answered {resp.status}: "
                                   f"{(await resp.text())[:200]}")
            page = await resp.json()
        found.extend(page["interactions"])
        if page.get("next") is None:
            return found
        query["cursor"] = page["next"]


class ControlBinding(Binding):
    """The control API's socket (closed while the node is down, like every other socket of it)."""

    def __init__(self, node: ControlledNode, host: str, port: int) -> None:
        super().__init__(host, port)
        self.node = node

    def make_app(self) -> web.Application:
        """The control application."""
        app = web.Application(middlewares=[_errors], client_max_size=64 * 1024 * 1024)
        app.add_routes(control_routes(self.node))
        return app
