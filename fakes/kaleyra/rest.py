"""Kaleyra REST v1 mode (Kaleyra developer docs): ``POST /v1/{sid}/messages`` and ``/v1/{sid}/sms``.

Auth is the ``api-key`` header (the SMS docs' spelling; the video docs write ``apikey``), checked against
``rest.accounts``. A send answers 202 with ``data[].id`` (all that public clients read) plus
``rest.response``; status callbacks go to the request's ``callback`` (a URL, or a JSON object
``{url, method, header}``) or else ``rest.callback_url`` (a callback profile), with ``Sent`` at once
(``rest.sent_callback``) and the final status when the DLR falls due. Callback field names and the error
body are GAP, hence ``rest.fields`` and ``error_response``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Protocol

from aiohttp import web
from multidict import MultiDict

from fakes.common import (
    InputError,
    Push,
    WireError,
    WireReason,
    json_body,
    json_response,
    params,
)
from fakes.common.capture import CaptureStore
from fakes.common.clock import Clock
from fakes.common.settings import CommonSettings
from fakes.kaleyra.model import Callback, MessageIds, MtSubmission, PendingDr, wire_fields
from fakes.kaleyra.settings import KaleyraSettings
from sim.core.body import BodyError, loads

__all__ = ["RestFake", "deliver", "error_response", "routes"]

_TYPES = ("MKT", "TXN", "OTP", "DEFAULT")  # the `type` values of /messages ("send-your-first-sms")


class RestFake(Protocol):
    """What the REST routes need of the Kaleyra fake (``fakes.kaleyra.fake.KaleyraFake`` is one).

    The fake serves these routes beside its XML and HTTP APIs, so it imports this module; the routes see
    it through this view and import nothing back.
    """

    ks: KaleyraSettings
    ids: MessageIds
    capture: CaptureStore
    clock: Clock
    settings: CommonSettings

    def accept(self, mt: MtSubmission, number: str, callback: Callback | None = None) -> str:
        """Accept one recipient of an MT; its message id (the DR follows from the scheduler)."""

    def push(self, push: Push) -> bool:
        """Queue a push (an MO or a DR) to the customer's URL; whether it was queued."""

    def carrier_admits(self, recipients: list[str], sender: str) -> None:
        """Refuse (THROTTLED) what the carrier model would throttle, before anything is captured."""


def routes(fake: RestFake) -> list[web.AbstractRouteDef]:
    """The REST routes bound to ``fake``."""

    async def send(request: web.Request) -> web.StreamResponse:
        return await _send(fake, request)

    return [web.post("/v1/{sid}/messages", send), web.post("/v1/{sid}/sms", send)]


def error_response(error: InputError) -> web.StreamResponse:
    """The REST error body (GAP: ours): ``{"code", "message", "data": [], "error": {field: message}}``."""
    field = error.field if isinstance(error, WireError) else ""
    body = {"code": f"E{error.status}", "message": str(error), "data": [],
            "error": {field: str(error)} if field else {}}
    return json_response(body, error.status)


# Fields that are text in the form encoding and must be JSON strings too (a callback may be an object).
_TEXT_FIELDS = ("to", "sender", "body", "type")


async def _fields(request: web.Request) -> MultiDict[str]:
    # /messages is form-encoded; /sms's encoding is not stated, so JSON is accepted too.
    if request.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return await params(request)
    data = await json_body(request)
    if not isinstance(data, dict):
        raise WireError("the body must be a JSON object", WireReason.MALFORMED)
    out: MultiDict[str] = MultiDict()
    for key, value in data.items():
        if key in _TEXT_FIELDS and not isinstance(value, str):
            raise WireError(f"'{key}' must be a string (got {json.dumps(value)[:40]})", WireReason.INVALID,
                            key)
        out.add(key, value if isinstance(value, str) else json.dumps(value))
    return out


def _callback(fake: RestFake, raw: str, ref: str) -> Callback | None:
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            spec = loads(raw)
        except BodyError as exc:
            raise WireError(f"not a JSON object: {exc}", WireReason.INVALID, "callback") from None
        if not isinstance(spec, dict):
            raise WireError("must be a URL or a JSON object", WireReason.INVALID, "callback")
        url, headers = spec.get("url", ""), spec.get("header", {})
        method = str(spec.get("method", "POST")).upper()
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) \
                or not isinstance(headers, dict):
            raise WireError("needs an http(s) 'url' and a 'header' map", WireReason.INVALID, "callback")
        return Callback(url, method, tuple((str(k), str(v)) for k, v in headers.items()), ref)
    if raw:
        if not raw.startswith(("http://", "https://")):
            raise WireError(f"{raw!r} is not an http(s) URL", WireReason.INVALID, "callback")
        return Callback(raw, ref=ref)
    url = fake.ks.rest.callback_url
    return Callback(url, ref=ref) if url else None


def _authenticate(fake: RestFake, request: web.Request) -> None:
    expected = fake.ks.rest.accounts.get(request.match_info["sid"])
    given = request.headers.get("api-key", "")
    if expected is None or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WireError("invalid or missing api-key", WireReason.UNAUTHORIZED, "api-key")


async def _send(fake: RestFake, request: web.Request) -> web.StreamResponse:
    _authenticate(fake, request)
    fields = await _fields(request)
    for name in ("to", "sender", "body"):
        if not fields.get(name, "").strip():
            raise WireError(f"'{name}' is required", WireReason.MISSING, name)
    numbers = [n.strip() for v in fields.getall("to") for n in v.split(",") if n.strip()]
    for number in numbers:
        if not fake.ks.recipient_pattern.fullmatch(number):
            raise WireError(f"{number!r} is not a mobile number", WireReason.INVALID, "to")
    if fields.get("type") and fields["type"] not in _TYPES:
        raise WireError(f"must be one of {', '.join(_TYPES)}", WireReason.INVALID, "type")
    callback = _callback(fake, fields.get("callback", ""), fields.get("ref", ""))
    wire = {**wire_fields(fields), "sid": request.match_info["sid"]}
    mt = MtSubmission(fields["sender"], tuple(numbers), fields["body"], fields.get("ref", ""),
                      fields.get("ref1", ""), "sms", "", wire)
    fake.carrier_admits(numbers, mt.reply_to)
    data = []
    for number in numbers:
        message_id = fake.accept(mt, number, callback or Callback("", ref=mt.reporting_key1))
        data.append({"id": message_id, "to": number, "status": fake.ks.rest.accepted_status})
        if callback is not None and fake.ks.rest.sent_callback:
            _call(fake, callback, mt, number, message_id, status=fake.ks.rest.statuses["sent"])
    return json_response({**fake.ks.rest.response, "id": fake.ids.next(), "data": data}, 202)


def deliver(fake: RestFake, item: PendingDr) -> None:
    """Capture the final status of a REST send and call it back (when there is a callback URL)."""
    status = fake.ks.rest.statuses[item.state.value]
    fake.capture.add("dlr", fake.clock.now(), sender=item.mt.reply_to, recipient=item.recipient,
                     message_id=item.message_id, fields={"status": status}, status=status,
                     state=item.state.value)
    if item.callback is not None and item.callback.url:
        _call(fake, item.callback, item.mt, item.recipient, item.message_id, status=status)


def _call(fake: RestFake, cb: Callback, mt: MtSubmission, number: str, message_id: str, *,
          status: str) -> None:
    names = fake.ks.rest.fields
    values: dict[str, Any] = {"id": message_id, "status": status, "to": number, "sender": mt.reply_to,
                              "ref": cb.ref, "at": str(fake.clock.now())}
    payload = {names[k]: v for k, v in values.items()}
    fmt = "query" if cb.method == "GET" else fake.ks.rest.callback_format
    kw: dict[str, Any] = {"headers": cb.headers, "message_id": message_id, "auth": fake.settings.push.auth}
    if fmt == "json":
        fake.push(Push.json("dlr", cb.url, payload, **kw))
    elif fmt == "form":
        fake.push(Push.form("dlr", cb.url, payload, **kw))
    else:
        fake.push(Push.query("dlr", cb.url, payload, **kw))
