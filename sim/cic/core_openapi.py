"""The OpenAPI 3.1 document of the SMS core over HTTP, at ``GET /openapi.json`` of ``smslab serve core``.

It is built from ``sim.core.remote.CALLS`` (a test checks each call has its operation), so the document
names every call the server answers and each call's fields.
"""

from __future__ import annotations

from typing import Any

from sim.core.remote import CALLS, IDS_PER_CALL

__all__ = ["document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(name: str) -> dict[str, Any]:
    return {"oneOf": [_ref(name), {"type": "null"}]}


_ERROR = {"description": "What was wrong", "content": {"application/json": {"schema": _ref("Error")}}}

#: call field -> its schema in a call's body.
_FIELDS: dict[str, dict[str, Any]] = {
    "sms": _ref("InboundSms"), "message": _ref("OutboundSms"), "receipt": _ref("DeliveryReceipt"),
    "now": {"type": "number", "description": "seconds on the caller's clock (the core never reads one)"},
    "interaction_id": {"type": "string"}, "state": {"enum": ["active", "idle", "disconnected"]},
    "snapshot": _ref("Snapshot"),
}

#: call -> (summary, the schema of its answer's own fields).
_ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "receive": ("Route an inbound SMS and add it to its interaction",
                {"required": ["received"], "properties": {"received": _ref("Received")}}),
    "send": ("Route, format, consolidate and segment an outbound SMS",
             {"oneOf": [{"required": ["sent"], "properties": {"sent": _ref("Sent")}},
                        {"required": ["refused"], "properties": {"refused": _ref("Refused")}}]}),
    "due": ("MT requests whose consolidation window has passed",
            {"required": ["requests"],
             "properties": {"requests": {"type": "array", "items": _ref("MtRequest")}}}),
    "next_due": ("When due will next have something",
                 {"required": ["next_due"], "properties": {"next_due": {"type": ["number", "null"]}}}),
    "delivery_receipt": ("Record a delivery receipt", {}),
    "interaction": ("The interaction with that id, or null",
                    {"required": ["interaction"], "properties": {"interaction": _nullable("Interaction")}}),
    "set_state": ("Put one interaction in a state; the new copy, or null for an unknown id",
                  {"required": ["interaction"], "properties": {"interaction": _nullable("Interaction")}}),
    "forget": ("Let go of an ended interaction; whether the core held it",
               {"required": ["forgotten"], "properties": {"forgotten": {"type": "boolean"}}}),
    "interactions": ("Every interaction the core holds, oldest first",
                     {"required": ["interactions"],
                      "properties": {"interactions": {"type": "array", "items": _ref("Interaction")}}}),
    "snapshot": ("The core's recoverable state", {"required": ["snapshot"],
                                                  "properties": {"snapshot": _ref("Snapshot")}}),
    "restore": ("Take over the state of a snapshot", {}),
}


def _strings(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "required": list(required),
            "properties": {n: {"type": "string"} for n in names}}


def _schemas() -> dict[str, Any]:
    integer, number, boolean = {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
    destination = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"enum": ["Chat", "Handler", "Queue", "Email"]}, "name": {"type": "string"}}}
    inbound = _strings("broker", "ani", "dnis", "body", "message_id", "account",
                       required=("broker", "ani", "dnis", "body"))
    inbound["properties"]["received_at"] = number
    mt = _strings("broker", "account", "sender", "recipient", "text", "encoding", "interaction_id",
                  "correlation", required=("broker", "account", "recipient", "text"))
    mt["properties"] |= {"part": integer, "parts": integer, "reference": {"type": ["integer", "null"]},
                         "options": {"type": "object", "additionalProperties": {"type": "string"}}}
    receipt = _strings("broker", "message_id", "raw_status", "recipient", required=("broker", "message_id",
                                                                                     "state"))
    receipt["properties"] |= {"state": {"enum": ["accepted", "sent", "delivered", "failed", "undeliverable",
                                                 "expired"]}, "at": number}
    entry = {"type": "object", "required": ["direction", "text", "at"], "properties": {
        "direction": {"enum": ["in", "out"]}, "text": {"type": "string"}, "at": number,
        "message_id": {"type": "string"}, "party": {"type": "string"}}}
    interaction = _strings("id", "customer", "local", "broker", required=(
        "id", "customer", "local", "broker", "destination", "state", "created_at", "updated_at",
        "transcript"))
    interaction["properties"] |= {"destination": destination, "state": _FIELDS["state"],
                                  "created_at": number, "updated_at": number,
                                  "transcript": {"type": "array", "items": entry}}
    part = {"type": "object",
            "properties": {"text": {"type": "string"}, "units": integer, "capacity": integer}}
    return {
        "Error": _strings("error", required=("error",)),
        "InboundSms": inbound,
        "OutboundSms": _strings("dnis", "text", "classification", "sender", "interaction_id",
                                required=("dnis", "text")),
        "DeliveryReceipt": receipt,
        "MtRequest": mt,
        "Interaction": interaction,
        "Snapshot": {"type": "object", "required": ["version", "interactions"], "properties": {
            "version": {"const": 1}, "interactions": {"type": "array", "items": _ref("Interaction")}}},
        "Received": {"type": "object", "required": ["interaction", "decision", "new"], "properties": {
            "interaction": _ref("Interaction"), "new": boolean, "duplicate": boolean,
            "decision": {"type": "object", "required": ["destination", "via"], "properties": {
                "destination": destination, "route_index": {"type": ["integer", "null"]},
                "via": {"enum": ["route", "default", "email", "restored"]}}}}},
        "Sent": {"type": "object", "required": ["decision", "recipient", "requests", "held", "segmentation",
                                                "correlation"], "properties": {
            "decision": {"type": "object", "required": ["route_index", "number"], "properties": {
                "route_index": {"type": "integer", "description": "index in sms.outbound_routes"},
                "number": {"type": "string"}}},
            "recipient": {"type": "string"}, "requests": {"type": "array", "items": _ref("MtRequest")},
            "held": boolean, "correlation": {"type": "string"}, "interaction_id": {"type": "string"},
            "segmentation": {"type": "object", "properties": {
                "mode": {"enum": ["none", "split", "truncate"]}, "encoding": {"enum": ["GSM-7", "UCS-2"]},
                "units": integer, "parts": {"type": "array", "items": part},
                "reference": {"type": ["integer", "null"]}, "truncated": boolean, "oversize": boolean}}}},
        "Refused": {"type": "object", "required": ["reason", "kind"], "properties": {
            "reason": {"type": "string"}, "kind": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599}}},
        "CallContext": {"type": "object", "properties": {
            "ids": {"type": "array", "items": {"type": "string"}, "maxItems": IDS_PER_CALL,
                    "description": "fresh ids the core takes from the front, in order"},
            "reference": {"type": "object", "required": ["next"], "properties": {
                "next": integer, "modulus": {"enum": [256, 65536]}},
                "description": "the concatenation references the core hands out: next, next+1, ... "
                               "modulo modulus"}}},
        "AnswerContext": {"type": "object", "properties": {
            "used_ids": {"type": "integer", "description": "how many of ids the core took"},
            "next_reference": {"type": "integer", "description": "the reference it would hand out next"}}},
    }


def _call_operation(call: str) -> dict[str, Any]:
    summary, answer = _ANSWERS[call]
    body = {"allOf": [_ref("CallContext"), {"type": "object", "required": list(CALLS[call]),
                                            "properties": {f: _FIELDS[f] for f in CALLS[call]}}]}
    return {"post": {
        "operationId": call, "summary": summary, "parameters": [
            {"name": "core", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "The call's result", "content": {"application/json": {"schema": {
                "allOf": [_ref("AnswerContext"), {"type": "object", **answer}]}}}},
            "400": _ERROR, "404": _ERROR, "500": _ERROR}}}


def document() -> dict[str, Any]:
    """The OpenAPI document of the core over HTTP."""
    paths: dict[str, Any] = {
        "/cores": {"post": {
            "operationId": "create", "summary": "Make a core from the CIC sections of a lab file",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["config"], "properties": {"config": {
                    "type": "object", "description": "sms, brokers, server_parameters, web_services"}}}}}},
            "responses": {"201": {"description": "The core's id", "content": {"application/json": {
                "schema": _strings("core", required=("core",))}}}, "400": _ERROR, "500": _ERROR}}},
        "/cores/{core}": {"delete": {
            "operationId": "delete", "summary": "Let a core go",
            "parameters": [{"name": "core", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Deleted"}, "404": _ERROR}}},
    }
    for call in CALLS:
        paths[f"/cores/{{core}}/{call}"] = _call_operation(call)
    return {"openapi": "3.1.0",
            "info": {"title": "smslab SMS core over HTTP", "version": "1",
                     "description": "The SmsCore protocol as JSON over HTTP "
                                    "(README, \"Your own core over HTTP\")."},
            "paths": paths, "components": {"schemas": _schemas()}}
