"""The lab's control API under ``/_smslab/`` (issue 5 §3): the one control plane every client drives.

JSON in and out. Every refusal is ``{"error": "..."}`` with a 4xx status saying what was wrong (an unknown
broker names the known ones, a bad mode lists the modes, bad JSON says so; a POST that is not
``application/json``, even an empty one, is a 415, so no HTML form or bare ``fetch`` from a browser page can
switch the pair over or reset the lab); a component that cannot be
reached is a 502 naming it. The routes are one table, ``ROUTES``, which ``scenarios.lab.openapi`` documents; a
test keeps the two equal.

The API is a thin layer over the components' own APIs, the same in process and in ``--processes`` mode:
broker routes go to the fake's inspection API (``/_smslab/messages``, ``/_smslab/mo``), sends and
interactions to the active node's control API, faults, restores and switchovers to the pair runtime.

With an external pair (``scenarios.lab.external_pair``) a send fills the active member's MT template, a
fault runs the member's own action, and ``GET /_smslab/nodes/{name}/received`` lists what reached the
member's capture sink. What that pair cannot do answers 501 saying why (the interactions, a manual
switchover, a fault its lab file does not define, a send's CIC-only fields), which the scenario runner
turns into a skipped step.

What the API needs of the lab it serves is described here, as ``ControlledLab``; ``scenarios.lab.assembly``
builds the lab and imports this module to serve it, so this module never imports the lab back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from aiohttp import web

from scenarios.lab import console
from scenarios.lab.events import EventHub
from scenarios.lab.metrics import LabMetrics
from scenarios.lab.nexus_control import LAB_KEY as NEXUS_LAB
from scenarios.lab.nexus_control import NEXUS_ROUTES
from scenarios.lab.openapi import FAIL_MODES, document
from scenarios.lab.spec import NODE_NAMES
from sim.core.errors import InputError, UsageError
from sim.serving import json_response, read_json

if TYPE_CHECKING:
    from scenarios.lab.external import ExternalServer
    from scenarios.lab.external_pair import ExternalPair
    from scenarios.lab.sink import Sink
    from sim.cic.pair import PairRuntime

__all__ = ["ROUTES", "ControlServer", "ControlledLab", "control_app"]


class ControlledLab(Protocol):
    """What the control API reads and asks of a running lab (``scenarios.lab.assembly.Lab`` is one)."""

    @property
    def url(self) -> str:
        """The control API's own base URL."""

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The lab's client session, trusting its components' certificates."""

    @property
    def fake_urls(self) -> Mapping[str, str]:
        """Each running fake broker's URL, by name."""

    @property
    def pair(self) -> PairRuntime | ExternalPair | None:
        """The switchover pair's runtime, or the external pair's (faults, restores, switchovers, the
        timeline)."""

    @property
    def events(self) -> EventHub:
        """The lab's live event stream (``scenarios.lab.events``)."""

    @property
    def metrics(self) -> LabMetrics:
        """The lab's Prometheus metrics (``scenarios.lab.metrics``)."""

    @property
    def errors(self) -> list[BaseException]:
        """Where the API records an unexpected error it answered with a 500."""

    @property
    def external(self) -> Mapping[str, ExternalServer]:
        """The external members by name (empty when the pair is simulated)."""

    @property
    def sink(self) -> Sink | None:
        """The capture sink of the external members' callbacks (``None`` when the pair is simulated)."""

    def brokers(self) -> list[dict[str, str]]:
        """Every fake broker: name, kind, URL."""

    def active_control_url(self) -> str | None:
        """The control API of the active node (``None`` while no node is active)."""

    async def health(self) -> dict[str, Any]:
        """Components, node states, farm reports and the switchover status."""

    async def fail(self, name: str, mode: str) -> None:
        """Inject a fault into node ``name``."""

    async def restore(self, name: str) -> None:
        """Undo node ``name``'s fault."""

    async def reset(self) -> dict[str, Any]:
        """Faults undone, the primary active again, captures and interactions forgotten."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LAB: web.AppKey[ControlledLab] = web.AppKey("lab")
_SEND_KEYS = ("to", "text", "from", "account", "classification", "interaction_id")
_FILTERS = ("kind", "to", "from", "limit", "after")  # a fake checks them (fakes.common.inspect)


_answer = json_response


async def _json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's ``application/json`` object body (``{}`` when ``optional`` and empty).

    Raises:
        InputError: 415 for another Content-Type, 400 when the body is not JSON (``sim.serving.read_json``)
            or not an object.
    """
    data = await read_json(request, empty={} if optional else None)
    if not isinstance(data, dict):
        raise InputError(f"the body must be a JSON object (got {type(data).__name__})")
    return data


def _strings(data: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, str]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise InputError(f"{', '.join(repr(k) for k in missing)} must be given")
    wrong = [k for k, v in data.items() if not isinstance(v, str)]
    if wrong:
        raise InputError(f"{', '.join(repr(k) for k in wrong)} must be strings")
    return data


def _node(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in NODE_NAMES:
        raise InputError(f"unknown node {name!r}; the nodes are {', '.join(NODE_NAMES)}", 404)
    return name


def _fake_url(request: web.Request) -> tuple[str, str]:
    lab, name = request.app[_LAB], request.match_info["name"]
    if name not in lab.fake_urls:
        known = ", ".join(sorted(lab.fake_urls)) or "none"
        raise InputError(f"unknown broker {name!r}; the brokers are {known}", 404)
    return name, lab.fake_urls[name]


async def _call(lab: ControlledLab, what: str, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """One request to a component; (status, decoded JSON). Unreachable: ``InputError`` 502 naming it."""
    status, body, _ = await _request(lab, what, method, url, **kwargs)
    return status, body


def _pair(lab: ControlledLab) -> PairRuntime | ExternalPair:
    """The lab's pair, or a 503 while the lab is still starting."""
    if lab.pair is None:
        raise InputError("the lab is still starting: its pair is not up yet", 503)
    return lab.pair


def _session(lab: ControlledLab) -> aiohttp.ClientSession:
    """The lab's client session, or a 503 while the lab is still starting."""
    if lab.session is None:
        raise InputError("the lab is still starting: it has no client session yet", 503)
    return lab.session


async def _request(lab: ControlledLab, what: str, method: str, url: str,
                   **kwargs: Any) -> tuple[int, Any, Mapping[str, str]]:
    """``_call`` with the answer's headers too."""
    try:
        timeout = aiohttp.ClientTimeout(total=kwargs.pop("timeout", 15.0))
        async with _session(lab).request(method, url, timeout=timeout, **kwargs) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else {}, resp.headers
            except ValueError:
                return resp.status, {"error": text.strip() or resp.reason}, resp.headers
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        why = f"{type(exc).__name__} {exc}".strip()
        raise InputError(f"{what} at {url} cannot be reached: {why}", 502) from None


# -- handlers -------------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.StreamResponse:
    lab = request.app[_LAB]
    return _answer(await lab.health())


async def brokers(request: web.Request) -> web.StreamResponse:
    return _answer({"brokers": request.app[_LAB].brokers()})


async def messages(request: web.Request) -> web.StreamResponse:
    name, url = _fake_url(request)
    query = {k: v for k, v in request.query.items() if k in _FILTERS}
    status, body, headers = await _request(request.app[_LAB], f"broker {name}", "GET",
                                           f"{url}/_smslab/messages", params=query)
    if status >= 400:
        return _answer({"error": body.get("error", body) if isinstance(body, dict) else body}, status)
    more = 'rel="next"' in headers.get("Link", "") and bool(body)
    return _answer({"messages": body, "next": body[-1]["seq"] if more else None})


async def message(request: web.Request) -> web.StreamResponse:
    """One captured record with what was on the wire for it (the fake's ``GET /_smslab/messages/{seq}``)."""
    name, url = _fake_url(request)
    seq = request.match_info["seq"]
    if not (seq.isascii() and seq.isdigit()):
        raise InputError(f"a record's seq is a whole number (got {seq[:60]!r})")
    status, body = await _call(request.app[_LAB], f"broker {name}", "GET", f"{url}/_smslab/messages/{seq}")
    return _answer(body, status)


async def clear_messages(request: web.Request) -> web.StreamResponse:
    name, url = _fake_url(request)
    status, body = await _call(request.app[_LAB], f"broker {name}", "DELETE", f"{url}/_smslab/messages")
    return _answer(body, status)


async def inject_mo(request: web.Request) -> web.StreamResponse:
    name, url = _fake_url(request)
    data = _strings(await _json_object(request), ("from", "to", "text"), ("from", "to", "text"))
    status, body = await _call(request.app[_LAB], f"broker {name}", "POST", f"{url}/_smslab/mo", json=data)
    if status >= 400 and isinstance(body, dict):
        body = {"error": f"broker {name} refused the MO: {body.get('error', body)}"}
    return _answer(body, status)


def _active(lab: ControlledLab) -> str:
    url = lab.active_control_url()
    if url is None:
        raise InputError("no node is active (a switchover may be under way); try again shortly", 503)
    return url


#: What an external member's MT template is filled with (``scenarios.lab.external_spec.SEND_FIELDS``).
_EXTERNAL_SEND_KEYS = ("to", "text", "from", "account")
#: Why a lab whose pair is external has no interactions to list.
EXTERNAL_NO_INTERACTIONS = ("the pair is external: its members keep their own conversations, the lab sees "
                            "only what reaches their sink (GET /_smslab/nodes/{name}/received)")


async def _send_external(lab: ControlledLab, data: dict[str, Any]) -> web.StreamResponse:
    cic_only = sorted(set(data) & (set(_SEND_KEYS) - set(_EXTERNAL_SEND_KEYS)))
    if cic_only:  # the simulated node's outbound route choice and interaction: nothing a gateway is told
        raise InputError(f"the pair is external: {', '.join(cic_only)} only mean something to a simulated "
                         f"CIC node (its outbound route, its interaction); an external member's MT template "
                         f"takes {', '.join(_EXTERNAL_SEND_KEYS)}", 501)
    data = _strings(data, _EXTERNAL_SEND_KEYS, ("to", "text"))
    name = _pair(lab).active_name()
    if name is None:
        raise InputError("no external member is serving (the proxies find none healthy); try again shortly",
                         503)
    answer = await lab.external[name].send(data["to"], data["text"], data.get("from", ""),
                                           data.get("account", ""))
    return _answer(answer, 202)


async def send(request: web.Request) -> web.StreamResponse:
    lab = request.app[_LAB]
    if lab.external:
        return await _send_external(lab, await _json_object(request))
    data = _strings(await _json_object(request), _SEND_KEYS, ("to", "text"))
    url = f"{_active(lab)}/_smslab/agent/send"
    status, body = await _call(lab, "the active node", "POST", url, json=data)
    return _answer(body, status)


async def interactions(request: web.Request) -> web.StreamResponse:
    """One page of the active node's interactions: the query goes to the node as it came, and its answer
    (a 400 for a bad parameter included) comes back as it is (``sim.cic.paging``)."""
    lab = request.app[_LAB]
    if lab.external:
        raise InputError(EXTERNAL_NO_INTERACTIONS, 501)
    query = request.rel_url.raw_query_string
    url = f"{_active(lab)}/_smslab/interactions" + (f"?{query}" if query else "")
    status, body = await _call(lab, "the active node", "GET", url)
    return _answer(body, status)


async def fail(request: web.Request) -> web.StreamResponse:
    name = _node(request)
    data = await _json_object(request)
    mode = data.get("mode")
    if mode not in FAIL_MODES:
        raise InputError(f"'mode' must be one of {', '.join(FAIL_MODES)} (got {mode!r})")
    if set(data) - {"mode"}:
        raise InputError(f"unknown field(s) {', '.join(sorted(set(data) - {'mode'}))}; allowed: mode")
    lab = request.app[_LAB]
    await lab.fail(name, str(mode))
    return _answer({"node": name, "mode": mode, "switchover": _pair(lab).status()})


async def restore(request: web.Request) -> web.StreamResponse:
    name = _node(request)
    await _json_object(request, optional=True)
    lab = request.app[_LAB]
    await lab.restore(name)
    return _answer({"node": name, "switchover": _pair(lab).status()})


async def received(request: web.Request) -> web.StreamResponse:
    """What reached an external member's sink (its MO and DLR callbacks), oldest first."""
    name = _node(request)
    lab = request.app[_LAB]
    if lab.sink is None:
        raise InputError("the pair is simulated: its nodes have no sink (their interactions are at "
                         "GET /_smslab/interactions)", 501)
    return _answer({"received": lab.sink.received(name, request.query.get("kind", ""))})


async def switchover(request: web.Request) -> web.StreamResponse:
    await _json_object(request, optional=True)
    lab = request.app[_LAB]
    await _pair(lab).manual_switchover()
    return _answer({"switchover": _pair(lab).status()})


async def reset(request: web.Request) -> web.StreamResponse:
    await _json_object(request, optional=True)
    return _answer(await request.app[_LAB].reset())


async def timeline(request: web.Request) -> web.StreamResponse:
    return _answer({"timeline": list(_pair(request.app[_LAB]).timeline)})


async def openapi(request: web.Request) -> web.StreamResponse:
    return _answer(document(request.app[_LAB].url))


async def events(request: web.Request) -> web.StreamResponse:
    return await console.events(request, request.app[_LAB])


async def metrics(request: web.Request) -> web.StreamResponse:
    return await console.metrics(request, request.app[_LAB])


async def console_page(request: web.Request) -> web.StreamResponse:
    return await console.console_page(request, request.app[_LAB])


async def console_file(request: web.Request) -> web.StreamResponse:
    return await console.console_file(request, request.app[_LAB])


#: (METHOD, path, handler): the control API, documented one for one in ``scenarios.lab.openapi``.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/_smslab/health", health),
    ("GET", "/_smslab/brokers", brokers),
    ("GET", "/_smslab/brokers/{name}/messages", messages),
    ("GET", "/_smslab/brokers/{name}/messages/{seq}", message),
    ("DELETE", "/_smslab/brokers/{name}/messages", clear_messages),
    ("POST", "/_smslab/brokers/{name}/mo", inject_mo),
    ("POST", "/_smslab/send", send),
    ("GET", "/_smslab/interactions", interactions),
    ("POST", "/_smslab/nodes/{name}/fail", fail),
    ("POST", "/_smslab/nodes/{name}/restore", restore),
    ("GET", "/_smslab/nodes/{name}/received", received),
    ("POST", "/_smslab/switchover", switchover),
    ("POST", "/_smslab/reset", reset),
    ("GET", "/_smslab/timeline", timeline),
    ("GET", "/_smslab/openapi.json", openapi),
    ("GET", "/_smslab/events", events),  # the event stream, metrics and console: scenarios.lab.console
    ("GET", "/metrics", metrics),
    ("GET", "/", console_page),
    ("GET", "/_smslab/console/{file}", console_file),
    *NEXUS_ROUTES,
)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one place refusals become ``{"error": ...}`` answers."""
    try:
        return await handler(request)
    except InputError as exc:
        return _answer({"error": str(exc)}, exc.status)
    except UsageError as exc:  # the pair refusing an operation in its present state (e.g. no backup)
        return _answer({"error": str(exc)}, 409)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            text = f"no route {request.method} {request.path}; see /_smslab/openapi.json"
        elif exc.status == 405:
            text = f"{request.method} is not allowed on {request.path}; see /_smslab/openapi.json"
        else:
            text = exc.reason
        return _answer({"error": text}, exc.status)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a component failing oddly: say so, keep serving
        request.app[_LAB].errors.append(exc)
        return _answer({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)


def control_app(lab: ControlledLab) -> web.Application:
    """The control API application bound to ``lab``."""
    app = web.Application(middlewares=[_errors], client_max_size=1 << 20)
    app[_LAB] = lab
    app[NEXUS_LAB] = lab
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


class ControlServer:
    """The control API on a real port.

    Args:
        lab: the lab it controls.
    """

    def __init__(self, lab: ControlledLab) -> None:
        self.lab = lab
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port); returns the base URL with the real port."""
        self._runner = web.AppRunner(control_app(self.lab), handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0]
        return f"http://{bound[0]}:{bound[1]}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
