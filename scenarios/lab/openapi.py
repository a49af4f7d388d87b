"""The OpenAPI 3.1 document of the lab's control API, served at ``/_smslab/openapi.json``.

It sits next to the routes (``scenarios.lab.control.ROUTES``) and a test checks that both name the same
operations, so the document cannot drift from what the server answers.
"""

from __future__ import annotations

from typing import Any

from fakes.common.inspect import MAX_PAGE_LIMIT, PAGE_LIMIT
from scenarios.lab.events import EVENT_KINDS
from scenarios.lab.nexus_control import NEXUS_PATHS
from sim.cic.paging import DEFAULT_LIMIT, MAX_LIMIT, STATES

__all__ = ["FAIL_MODES", "document", "operations"]

#: The node faults the control API takes (issue 5 §3; crash-on-mo from issue 4 §6; isolate: the backup's
#: NetTest fails). The same as ``sim.cic.pair.FAULT_MODES`` (a test keeps them equal).
FAIL_MODES = ("kill", "hang", "slow", "partition", "crash-on-mo", "isolate")

_ERROR = {"description": "What was wrong", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _strings(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required),
            "properties": {n: {"type": "string"} for n in names}}


def _list_of(key: str, ref: str = "") -> dict[str, Any]:
    items = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": items}}}


_BROKER = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "a fake broker of the lab (GET /_smslab/brokers lists them)"}
_NODE = {"name": "name", "in": "path", "required": True,
         "schema": {"type": "string", "enum": ["primary", "backup"]}}
_FILTERS = [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in (
    ("kind", {"type": "string", "enum": ["mt", "mo", "dlr"]}, "only records of this kind"),
    ("to", {"type": "string"}, "exact recipient"),
    ("from", {"type": "string"}, "exact sender"),
    ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT, "default": PAGE_LIMIT},
     "at most this many records on the page"),
    ("after", {"type": "integer", "minimum": 0}, "the 'next' of the previous page: a record's seq"))]
_MESSAGES = {"type": "object", "required": ["messages", "next"], "properties": {
    "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Captured"}},
    "next": {"type": ["integer", "null"], "description": "ask after this seq for the page after; null on the "
                                                         "last"}}}
#: The query of GET /_smslab/interactions, as ``sim.cic.paging.parse_query`` checks it (issue 20).
_PAGING = [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in (
    ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
     "at most this many interactions on the page"),
    ("cursor", {"type": "string"}, "the 'next' of the previous page's answer (opaque)"),
    ("customer", {"type": "string"}, "only this customer number, exact (send a + as %2B)"),
    ("state", {"type": "string", "enum": list(STATES)}, "only interactions in this state"),
    ("since", {"type": "number"}, "only interactions updated at or after this time (seconds, the node's "
                                  "clock, as their updated_at)"))]
_PAGE = {"type": "object", "required": ["interactions", "next"], "properties": {
    "interactions": {"type": "array", "items": {"$ref": "#/components/schemas/Interaction"}},
    "next": {"type": ["string", "null"], "description": "the cursor of the page after; null on the last"}}}

_PATHS: dict[str, dict[str, dict[str, Any]]] = {
    "/_smslab/health": {"get": {
        "summary": "Components and their URLs, node roles, farm health and the switchover status",
        "responses": {"200": _ok("The lab's health", {"type": "object", "required": [
            "components", "nodes", "farm", "switchover"]})}}},
    "/_smslab/brokers": {"get": {
        "summary": "The fake brokers",
        "responses": {"200": _ok("Every broker", _list_of("brokers", "Component"))}}},
    "/_smslab/brokers/{name}/messages": {
        "get": {"summary": "A page of a broker's captured MT, MO and DLR records, oldest first",
                "description": "Follow 'next' (as 'after') until it is null to read every record the fake "
                               "still holds (its capture is a bounded ring).",
                "parameters": [_BROKER, *_FILTERS],
                "responses": {"200": _ok("One page", _MESSAGES),
                              "400": _ERROR, "404": _ERROR}},
        "delete": {"summary": "Forget a broker's captured records, pending DLRs and pushes",
                   "parameters": [_BROKER], "responses": {"200": _ok("How many were held"), "404": _ERROR}}},
    "/_smslab/brokers/{name}/messages/{seq}": {"get": {
        "summary": "One captured record with what was on the wire for it",
        "description": "'wire' holds, for an MT, the request the fake received (method, path, headers, body) "
                       "and its answer (status, headers, body); for an MO or a DLR, the push the fake made "
                       "(method, url, headers, body) and its attempts with their outcomes. A part the "
                       "fake's bounded wire log has forgotten is null.",
        "parameters": [_BROKER, {"name": "seq", "in": "path", "required": True,
                                 "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": _ok("The record and its wire", {"allOf": [
            {"$ref": "#/components/schemas/Captured"},
            {"type": "object", "required": ["wire"], "properties": {"wire": {"type": "object"}}}]}),
            "400": _ERROR, "404": _ERROR}}},
    "/_smslab/brokers/{name}/mo": {"post": {
        "summary": "The broker pushes this MO through the proxy to the active node",
        "parameters": [_BROKER], "requestBody": _body(_strings("from", "to", "text",
                                                              required=("from", "to", "text"))),
        "responses": {"202": _ok("The captured MO record", {"$ref": "#/components/schemas/Captured"}),
                      "400": _ERROR, "404": _ERROR, "409": _ERROR}}},
    "/_smslab/send": {"post": {
        "summary": "An agent sends an MT through the active node (an external member: its MT template)",
        "requestBody": _body(_strings("to", "text", "from", "account", "classification", "interaction_id",
                                      required=("to", "text"))),
        "responses": {"202": _ok("The node's answer: correlation, recipient and the broker requests"),
                      "400": _ERROR, "503": _ERROR}}},
    "/_smslab/interactions": {"get": {
        "summary": "A page of the interactions on the active node, oldest first, with their transcripts",
        "description": "Follow 'next' (as 'cursor') until it is null to read them all; interactions created "
                       "meanwhile come on later pages, none skipped or repeated. Filters and limit may "
                       "change from page to page.",
        "parameters": _PAGING,
        "responses": {"200": _ok("One page", _PAGE), "400": _ERROR, "501": _ERROR, "503": _ERROR}}},
    "/_smslab/nodes/{name}/fail": {"post": {
        "summary": "Inject a fault into a node (through the switchover pair)", "parameters": [_NODE],
        "requestBody": _body({"type": "object", "required": ["mode"], "additionalProperties": False,
                              "properties": {"mode": {"type": "string", "enum": list(FAIL_MODES)}}}),
        "responses": {"200": _ok("The fault applied and the switchover status"), "400": _ERROR,
                      "404": _ERROR, "409": _ERROR}}},
    "/_smslab/nodes/{name}/restore": {"post": {
        "summary": "Undo a node's fault (a killed node comes back as the backup)", "parameters": [_NODE],
        "responses": {"200": _ok("The switchover status"), "404": _ERROR, "409": _ERROR}}},
    "/_smslab/nodes/{name}/received": {"get": {
        "summary": "What reached an external member's capture sink ({sink}/<kind>: its MO and DLR callbacks)",
        "description": "Only a lab whose pair is external has a sink (501 otherwise); each record has seq, "
                       "member, kind (the path segment after {sink}/), at (epoch seconds), method and "
                       "fields (query and form fields).",
        "parameters": [_NODE, {"name": "kind", "in": "query", "required": False,
                               "schema": {"type": "string"}, "description": "only records of this kind"}],
        "responses": {"200": _ok("The records, oldest first", {"type": "object", "required": ["received"]}),
                      "404": _ERROR, "501": _ERROR}}},
    "/_smslab/switchover": {"post": {
        "summary": "A manual switchover (the Switchover Control Panel's button)",
        "responses": {"200": _ok("The switchover status"), "409": _ERROR}}},
    "/_smslab/reset": {"post": {
        "summary": "Captures, interactions and faults back to the start (the primary active)",
        "responses": {"200": _ok("What was reset")}}},
    "/_smslab/timeline": {"get": {
        "summary": "The pair's timeline: faults, watch transitions, promotions, recoveries",
        "responses": {"200": _ok("The events, oldest first", _list_of("timeline", "TimelineEntry"))}}},
    "/_smslab/openapi.json": {"get": {
        "summary": "This document", "responses": {"200": _ok("OpenAPI 3.1")}}},
    "/_smslab/events": {"get": {
        "summary": "The lab's live events, as server-sent events (text/event-stream)",
        "description": "Each event has an id, a kind (the SSE event name) and one JSON data line: message (a"
                       " captured MT, MO or DLR, the Captured shape), push (one push attempt and its "
                       "outcome), interaction (a record the active node committed, with its latest "
                       "transcript entries and transcript_total), delivery (a delivery receipt that reached "
                       "a node: node, broker, message_id, state, raw_status and received_at, the node's "
                       "clock when it arrived, epoch seconds), farm (a member's health flipped), timeline (a"
                       " timeline entry with both nodes' roles after it), control (a reset). A client that "
                       "falls behind loses its oldest events and then reads a lagged event with the number "
                       "dropped. Last-Event-ID replays the events the lab still holds after that id. Texts "
                       "and numbers are the senders' own: escape them before display.",
        "parameters": [{"name": "kinds", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "comma-separated kinds to keep: " + ", ".join(EVENT_KINDS)},
                       {"name": "Last-Event-ID", "in": "header", "required": False,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The stream, until the client or the lab goes away",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "400": _ERROR}}},
    "/metrics": {"get": {
        "summary": "Prometheus metrics of the lab (text format 0.0.4)",
        "responses": {"200": {"description": "The metrics",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/": {"get": {
        "summary": "The web console (HTML)",
        "responses": {"200": {"description": "The console's page",
                              "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/_smslab/console/{file}": {"get": {
        "summary": "The console's script and style",
        "parameters": [{"name": "file", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["console.js", "console.css"]}}],
        "responses": {"200": {"description": "The file",
                              "content": {"text/javascript": {"schema": {"type": "string"}},
                                          "text/css": {"schema": {"type": "string"}}}},
                      "404": _ERROR}}},
}

_EPOCH = {"type": "number", "description": "epoch seconds, UTC"}
_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Component": {"type": "object", "required": ["name", "kind", "url"], "properties": {
        "name": {"type": "string"}, "kind": {"type": "string"}, "url": {"type": "string"}}},
    "Captured": {"type": "object", "required": ["seq", "kind", "broker", "from", "to", "text", "message_id"],
                 "properties": {
                     "seq": {"type": "integer"}, "kind": {"type": "string", "enum": ["mt", "mo", "dlr"]},
                     "at": _EPOCH, "broker": {"type": "string"}, "from": {"type": "string"},
                     "to": {"type": "string"}, "text": {"type": "string"},
                     "message_id": {"type": "string"}, "fields": {"type": "object"},
                     "status": {"type": "string"}, "state": {"type": "string"}}},
    "TimelineEntry": {"type": "object", "required": ["at", "t", "event"], "properties": {
        "at": _EPOCH, "t": {"type": "number", "description": "seconds since the pair started"},
        "event": {"type": "string"}}},
    "Interaction": {"type": "object", "required": [
        "id", "customer", "local", "broker", "destination", "state", "created_at", "updated_at", "transcript",
        "deliveries"], "properties": {
            "id": {"type": "string"}, "customer": {"type": "string"}, "local": {"type": "string"},
            "broker": {"type": "string"}, "destination": {"type": "object", "properties": {
                "kind": {"type": "string"}, "name": {"type": "string"}}},
            "state": {"type": "string", "enum": list(STATES)}, "created_at": _EPOCH,
            "updated_at": _EPOCH, "transcript": {"type": "array", "items": {"type": "object"}},
            "deliveries": {"type": "array", "items": {"type": "object"}},
            "disconnect_reason": {"type": "string"}}},
}


def operations() -> set[tuple[str, str]]:
    """Every (METHOD, path) the document describes."""
    return {(method.upper(), path) for path, ops in {**_PATHS, **NEXUS_PATHS}.items() for method in ops}


def document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document (with ``server_url`` as its server when given)."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "smslab control API", "version": "1",
                 "description": "Inspect and reset captured messages, inject MOs, send MTs as an agent, "
                                "fail and restore the CIC nodes, read health and roles. Errors are "
                                '{"error": "..."} with a 4xx status. Every time in an answer (at, '
                                "created_at, updated_at, since) is epoch seconds, UTC, as a number; a "
                                "timeline entry's t is seconds since the pair started."},
        "paths": {**_PATHS, **NEXUS_PATHS},
        "components": {"schemas": _SCHEMAS},
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
