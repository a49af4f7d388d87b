"""The control API's Digital Channels routes: ``/_smslab/nexus/...``, forwarded to the lab's Nexus.

=============================================  ================================================
``GET /_smslab/nexus``                         Nexus's health (404 when the lab has no Nexus)
``GET /_smslab/nexus/interactions``            its chat interactions (``?kind=``, ``?section=``)
``GET /_smslab/nexus/interactions/{id}``       one interaction, its messages and their states
``POST /_smslab/nexus/interactions/{id}/reply``  an agent's reply ``{"text"}``, through the provider
``GET /_smslab/nexus/attempts``                every hand-over to a provider, with its answer
``POST /_smslab/nexus/campaigns``              a CX Contact campaign (``sim.nexus.campaigns``)
``GET /_smslab/nexus/campaigns[/{id}]``        campaigns and each recipient's state
=============================================  ================================================

Nexus answers in its envelope ``{"status", "data"}``; these routes hand on its ``data`` (and, for a
refusal, ``{"error": <status.message>}`` with Nexus's status), in the control API's own form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from sim.core.errors import InputError

__all__ = ["LAB_KEY", "NEXUS_PATHS", "NEXUS_ROUTES"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The lab under control, set by ``scenarios.lab.control.control_app``.
LAB_KEY: web.AppKey[Any] = web.AppKey("nexus-lab")


def _base(request: web.Request) -> tuple[Any, str]:
    lab = request.app[LAB_KEY]
    nexus = getattr(lab, "nexus", None)
    if nexus is None:
        raise InputError("this lab has no Digital Channels (add a nexus: section to the lab file)", 404)
    return lab, str(nexus.url)


async def _forward(request: web.Request, path: str, method: str = "GET", body: Any = None) -> web.Response:
    lab, base = _base(request)
    url = f"{base}/_smslab/{path}"
    try:
        async with lab.session.request(method, url, json=body, params=dict(request.query)) as resp:
            answer = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"nexus at {url} cannot be reached: {type(exc).__name__}", 502) from None
    if status >= 400:
        return web.json_response({"error": answer["status"]["message"]}, status=status)
    return web.json_response(answer.get("data"), status=status)


async def health(request: web.Request) -> web.StreamResponse:
    """Nexus's health."""
    return await _forward(request, "health")


async def interactions(request: web.Request) -> web.StreamResponse:
    """Nexus's interactions."""
    return await _forward(request, "interactions")


async def interaction(request: web.Request) -> web.StreamResponse:
    """One interaction."""
    return await _forward(request, f"interactions/{request.match_info['id']}")


async def reply(request: web.Request) -> web.StreamResponse:
    """An agent's reply in a chat."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise InputError(f"the body is not JSON: {exc}", 400) from None
    return await _forward(request, f"interactions/{request.match_info['id']}/reply", "POST", body)


async def attempts(request: web.Request) -> web.StreamResponse:
    """Every attempt at handing a message to a provider."""
    return await _forward(request, "attempts")


async def start_campaign(request: web.Request) -> web.StreamResponse:
    """A CX Contact campaign, sent through its section's provider."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise InputError(f"the body is not JSON: {exc}", 400) from None
    return await _forward(request, "campaigns", "POST", body)


async def campaigns(request: web.Request) -> web.StreamResponse:
    """Every campaign."""
    return await _forward(request, "campaigns")


async def campaign(request: web.Request) -> web.StreamResponse:
    """One campaign, each recipient's state."""
    return await _forward(request, f"campaigns/{request.match_info['id']}")


NEXUS_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/_smslab/nexus", health),
    ("GET", "/_smslab/nexus/interactions", interactions),
    ("GET", "/_smslab/nexus/interactions/{id}", interaction),
    ("POST", "/_smslab/nexus/interactions/{id}/reply", reply),
    ("GET", "/_smslab/nexus/attempts", attempts),
    ("POST", "/_smslab/nexus/campaigns", start_campaign),
    ("GET", "/_smslab/nexus/campaigns", campaigns),
    ("GET", "/_smslab/nexus/campaigns/{id}", campaign),
)

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERR = {"description": "What was wrong (404: no Nexus in the lab, or no such interaction)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_REQUIRED = ["id", "section", "endpoint", "kind", "messages"]
_INTERACTION = {"type": "object", "required": _REQUIRED, "properties": {
    "id": {"type": "string"}, "ccid": {"type": "string"}, "section": {"type": "string"},
    "endpoint": {"type": "string"}, "channel_id": {"type": "string"}, "customer": {"type": "string"},
    "provider": {"type": "string", "enum": ["Portico", "mGage", "Async"]},
    "kind": {"type": "string", "enum": ["chat", "campaign_response"]}, "messages": {"type": "array"}}}
_RECIPIENT = {"type": "object", "required": ["number"],
              "properties": {"number": {"type": "string"}, "fields": {"type": "object"}}}
#: The OpenAPI entries of these routes (``scenarios.lab.openapi`` merges them into its document).
NEXUS_PATHS: dict[str, Any] = {
    "/_smslab/nexus": {"get": {"summary": "Digital Channels' health", "responses": {
        "200": _ok("Counts and the settings in effect", {"type": "object"}), "404": _ERR}}},
    "/_smslab/nexus/interactions": {"get": {
        "summary": "Chat interactions made from inbound SMS (cxcOnly ones as campaign responses)",
        "parameters": [{"name": "kind", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["chat", "campaign_response"]}},
                       {"name": "section", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": _ok("Interactions, oldest first", {"type": "array", "items": _INTERACTION}),
                      "404": _ERR}}},
    "/_smslab/nexus/interactions/{id}": {"get": {"summary": "One interaction", "parameters": [_ID],
                                                 "responses": {"200": _ok("The interaction", _INTERACTION),
                                                               "404": _ERR}}},
    "/_smslab/nexus/interactions/{id}/reply": {"post": {
        "summary": "An agent's reply, sent through the section's provider", "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
        "responses": {"202": _ok("The outbound message (pending until the provider accepts it)",
                                 {"type": "object"}), "400": _ERR, "404": _ERR, "409": _ERR}}},
    "/_smslab/nexus/attempts": {"get": {"summary": "Every hand-over to a provider", "responses": {
        "200": _ok("Attempts with status and outcome", {"type": "array"}), "404": _ERR}}},
    "/_smslab/nexus/campaigns": {
        "post": {"summary": "Start a CX Contact campaign through a sender section's provider",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["section", "template", "recipients"], "properties": {
                         "section": {"type": "string"}, "template": {"type": "string"},
                         "rate": {"type": "number", "default": 10, "description": "messages per second"},
                         "recipients": {"type": "array", "items": _RECIPIENT}}}}}},
                 "responses": {"202": _ok("The campaign, its recipients pending", {"type": "object"}),
                               "400": _ERR, "404": _ERR, "409": _ERR}},
        "get": {"summary": "Every campaign", "responses": {"200": _ok("Campaigns", {"type": "array"}),
                                                         "404": _ERR}}},
    "/_smslab/nexus/campaigns/{id}": {"get": {"summary": "One campaign with each recipient's state",
                                              "parameters": [_ID],
                                              "responses": {"200": _ok("The campaign", {"type": "object"}),
                                                            "404": _ERR}}},
}
