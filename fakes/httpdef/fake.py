"""The definition-driven fake broker: the thin aiohttp shell around ``accept_mt`` and ``HttpDefModel``.

Order of checks on an MT (each refusal is the definition's failure answer, and nothing is captured):
rate (per client IP), reading the request, credentials, message rules, opt-out, credit. An accepted MT is
captured once per recipient with its new message id, and a DR is scheduled for each when the definition
has a DR push; it goes to the per-message DR URL when the MT carried one, else to the ``dr_url`` setting
(SMS Technical Reference, "Configure Broker Message Originated settings": the Delivery Receipt URL is set
in the broker's portal or passed with each MT).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from fakes.common import (
    Captured,
    Clock,
    CommonSettings,
    FakeBroker,
    MoRequest,
    Push,
    WireError,
    WireReason,
    read_body,
)
from fakes.httpdef.model import HttpDefModel, HttpDefSettings
from sim.brokerdef.answer import failure_answer, success_answer
from sim.brokerdef.broker import (
    MtRefused,
    ReceivedMt,
    accept_mt,
    check_auth,
    check_text,
    render_dr,
    render_mo,
)
from sim.brokerdef.definition import Failure
from sim.brokerdef.definition import Push as PushSpec
from sim.brokerdef.push import push_fields
from sim.brokerdef.wire import HttpAnswer, HttpRequest, join_url
from sim.core.errors import InputError
from sim.core.types import DeliveryState, InboundSms

__all__ = ["DrItem", "HttpDefFake"]

# Wire problems that are the client's malformed request, answered with the bad_request failure.
_BAD_REQUEST = {WireReason.MISSING, WireReason.INVALID, WireReason.MALFORMED, WireReason.ENCODING,
                WireReason.MEDIA_TYPE, WireReason.TOO_LARGE, WireReason.NOT_FOUND, WireReason.METHOD,
                WireReason.OTHER}


_KEEP_STATUS = {WireReason.NOT_FOUND, WireReason.METHOD}


@dataclass(frozen=True)
class DrItem:
    """A DR waiting in the scheduler: which message, to whom, what outcome, where to push it."""

    message_id: str
    recipient: str
    state: DeliveryState
    url: str
    correlation: str = ""


class HttpDefFake(FakeBroker):
    """A fake broker whose wire format is a broker definition.

    Args:
        name: the fake's name.
        common: the shared settings.
        settings: the fake's own settings (with its definition).
        clock: the clock (``RealClock`` when omitted).
        rng: the random generator (``random.Random(common.seed)`` when omitted).
    """

    kind = "http-broker"

    def __init__(self, name: str, common: CommonSettings, settings: HttpDefSettings, *,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        super().__init__(name, common, clock=clock, rng=rng)
        self.definition = settings.definition
        self.own = settings
        self.model = HttpDefModel(settings, self.rng)

    def wire_routes(self) -> list[web.AbstractRouteDef]:
        """One route per MT path and accepted method."""
        methods = sorted(m.value for m in self.definition.mt.accept_methods)
        return [web.route(m, path, self._mt) for path in self.own.paths for m in methods]

    def error_response(self, error: InputError) -> web.StreamResponse:
        """The definition's failure answer for ``error`` (the one conversion point)."""
        answer = failure_answer(self.definition, _failure_of(error))
        status = answer.status
        if type(error) is InputError or (isinstance(error, WireError) and error.reason in _KEEP_STATUS):
            # An injected error fault or a crash inside the fake keeps its status, and no broker answers
            # a wrong path or method with its success status; the body is still the broker's.
            status = error.status
        return _response(HttpAnswer(status, answer.headers, answer.body))

    async def _mt(self, request: web.Request) -> web.StreamResponse:
        self.model.admit(request.remote or "", self.clock.now())
        body = await read_body(request)
        wire = HttpRequest(request.method, request.raw_path, tuple(request.headers.items()), body)
        received = accept_mt(self.definition, wire)
        account = check_auth(self.definition, wire, received, self.own.accounts)
        check_text(self.definition.text_rules, received.text, self.own.max_length)
        self.carrier_admits(list(received.recipients), received.get("from"))
        ids = self.model.take(received)
        for recipient, message_id in zip(received.recipients, ids, strict=True):
            self._capture_mt(received, recipient, message_id, account.id if account else "")
            self._plan_dr(received, recipient, message_id)
        return _response(success_answer(self.definition, received.recipients, ids))

    def _capture_mt(self, mt: ReceivedMt, recipient: str, message_id: str, account: str) -> Captured:
        return self.capture.add("mt", self.clock.now(), sender=mt.get("from"), recipient=recipient,
                                text=mt.text, message_id=message_id, fields=mt.fields,
                                status=f"accepted by account {account}" if account else "accepted")

    def _plan_dr(self, mt: ReceivedMt, recipient: str, message_id: str) -> None:
        wanted = self.definition.dr is not None and self.settings.dlr_enabled
        # A per-message DR URL is used as given; the dr_url setting gets the definition's path when it
        # names a host only (the broker is given http://<CIC server>:<port><path>).
        path = self.definition.dr.push.path if self.definition.dr is not None else ""
        url = mt.dr_url or _with_path(self.settings.dr_url, path)
        correlation = mt.get("correlation")
        if self.carrier is not None:
            self.to_carrier(recipient, mt.get("from"), mt.text, message_id, (lambda state: self.deliver_dlr(
                DrItem(message_id, recipient, state, url, correlation))) if wanted else None)
            return
        if not wanted:
            return
        state, delay = self.settings.dlr.plan(recipient, self.rng)
        self.scheduler.schedule(delay, DrItem(message_id, recipient, state, url, correlation))

    def deliver_dlr(self, item: DrItem) -> None:
        """Capture the DR that fell due and push it when it has somewhere to go."""
        dr = self.definition.dr
        assert dr is not None  # only scheduled when the definition has a DR push
        request = render_dr(self.definition, item.url, item.message_id, item.state,
                            recipient=item.recipient, correlation=item.correlation)
        entry = dr.entry_for(item.state)
        status = "/".join(w for w in (entry.status, entry.code) if w) if entry else ""
        self.capture.add("dlr", self.clock.now(), recipient=item.recipient, message_id=item.message_id,
                         fields=_fields_of(dr.push, request), status=status, state=item.state.value)
        if item.url:
            self.push(_push_of("dlr", request, self.settings.push.auth, item.message_id))

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Push an MO in the definition's format; the extra field ``message_id`` sets its id.

        Raises:
            InputError: 409 without an MO push or URL; 400 for an unknown extra field.
        """
        if self.definition.mo is None:
            raise InputError(f"definition {self.definition.name!r} has no mo section", 409)
        unknown = sorted(set(mo.extra) - {"message_id"})
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(unknown)} (this fake takes message_id)")
        message_id = str(mo.extra.get("message_id") or self.model.new_id())
        sms = InboundSms(self.name, mo.sender, mo.recipient, mo.text, message_id)
        request = render_mo(self.definition, sms, _with_path(self.mo_target(mo), self.definition.mo.path))
        record = self.capture.add("mo", self.clock.now(), sender=mo.sender, recipient=mo.recipient,
                                  text=mo.text, message_id=message_id,
                                  fields=_fields_of(self.definition.mo, request))
        self.push(_push_of("mo", request, self.settings.push.auth, message_id))
        return record

    def reset(self) -> None:
        """Forget captures, pending DRs and pushes; restore the credit."""
        super().reset()
        self.model.reset()


def _with_path(url: str, path: str) -> str:
    """``url``, or ``url`` plus the definition's default ``path`` when the URL names no path."""
    if url and urlsplit(url).path in ("", "/"):
        return join_url(url, path)
    return url


def _failure_of(error: InputError) -> Failure:
    if isinstance(error, MtRefused):
        return error.kind
    if isinstance(error, WireError):
        if error.reason is WireReason.UNAUTHORIZED:
            return Failure.AUTH
        if error.reason is WireReason.THROTTLED:
            return Failure.RATE_LIMITED
        if error.reason in _BAD_REQUEST:
            return Failure.BAD_REQUEST
    return Failure.UNKNOWN if error.status >= 500 else Failure.BAD_REQUEST


def _response(answer: HttpAnswer) -> web.Response:
    response = web.Response(status=answer.status, body=answer.body)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def _fields_of(push: PushSpec, request: HttpRequest) -> dict[str, Any]:
    """A push's wire fields by name, as the capture store keeps them."""
    return dict(push_fields(push, request.query, request.header("Content-Type"), request.body))


def _push_of(kind: str, request: HttpRequest, auth: tuple[str, str] | None, message_id: str) -> Push:
    return Push(kind, request.url, request.body, request.header("Content-Type"), request.method,
                auth=auth, message_id=message_id)
