"""What the control port serves besides the JSON API: the web console, the live event stream, the metrics.

- ``GET /``: the console, one HTML page; its script and style come from ``GET /_smslab/console/{file}``
  (files of ``scenarios/lab/static``, nothing from another host). The page reads the lab through the
  control API and updates from the event stream; its buttons and forms call the control API's own routes
  (fail, restore, switchover, reset, inject an MO, send an MT), so nothing is done twice.
- ``GET /_smslab/events``: server-sent events from the lab's ``EventHub`` (``scenarios.lab.events``);
  ``?kinds=message,timeline`` keeps only those kinds; ``Last-Event-ID`` replays what the hub still holds.
- ``GET /metrics``: the lab's Prometheus metrics (``scenarios.lab.metrics``), state gauges refreshed from the
  lab's health view first.

The handlers take the lab as an argument; ``scenarios.lab.control`` binds them into its route table.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from scenarios.lab.events import EVENT_KINDS, EventHub, stream
from scenarios.lab.metrics import CONTENT_TYPE, LabMetrics
from sim.core.errors import InputError

__all__ = ["STATIC_FILES", "Observed", "console_file", "console_page", "events", "metrics"]

#: The console's files, served as they are, with their content types.
STATIC_FILES = {"console.js": "text/javascript", "console.css": "text/css"}
_PAGE = "console.html"
# The page loads nothing from elsewhere and runs only the lab's own script; no frame may embed it.
_SECURITY = {"Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; "
                                        "frame-ancestors 'none'",
             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


class Observed(Protocol):
    """What these handlers need of the lab."""

    @property
    def events(self) -> EventHub:
        """The lab's event stream."""

    @property
    def metrics(self) -> LabMetrics:
        """The lab's metrics."""

    async def health(self) -> dict[str, Any]:
        """Components, node states, farm reports and the switchover status."""


def _static(name: str) -> bytes:
    return resources.files("scenarios.lab").joinpath("static", name).read_bytes()


async def console_page(request: web.Request, lab: Observed) -> web.StreamResponse:
    """``GET /``: the console's page."""
    return web.Response(body=_static(_PAGE), content_type="text/html", charset="utf-8", headers=_SECURITY)


async def console_file(request: web.Request, lab: Observed) -> web.StreamResponse:
    """``GET /_smslab/console/{file}``: the console's script or style."""
    name = request.match_info["file"]
    if name not in STATIC_FILES:
        raise InputError(f"no console file {name[:60]!r}; the files are {', '.join(STATIC_FILES)}", 404)
    return web.Response(body=_static(name), content_type=STATIC_FILES[name], charset="utf-8",
                        headers=_SECURITY)


async def events(request: web.Request, lab: Observed) -> web.StreamResponse:
    """``GET /_smslab/events``: the live event stream.

    Raises:
        InputError: 400 for a kind that is not one of ``EVENT_KINDS``.
    """
    kinds = [k for k in request.query.get("kinds", "").split(",") if k]
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown:
        raise InputError(f"unknown event kind(s) {', '.join(u[:40] for u in unknown)}; the kinds are "
                         f"{', '.join(EVENT_KINDS)}")
    return await stream(request, lab.events, kinds)


async def metrics(request: web.Request, lab: Observed) -> web.StreamResponse:
    """``GET /metrics``: Prometheus text format (a component that cannot be reached leaves its gauges as
    they were: the counters are served all the same)."""
    with contextlib.suppress(InputError, aiohttp.ClientError, OSError, TimeoutError):
        lab.metrics.refresh(await lab.health())
    return web.Response(body=lab.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
