"""The Portico fake's aiohttp shell: the sans-IO ``Portico`` service behind the shared ``FakeBroker``.

The shell reads the raw request (the shared body limit answers 413), hands it to the service with the
clock's ``now``, captures each accepted MT, plans its DR through the shared planner and scheduler, and
pushes DRs and injected MOs through the shared pusher with the number's ``webhookUsername`` and
``webhookPassword`` as HTTP Basic credentials. Every refusal, from the service or from the shared
shell, is answered as the platform's ``ErrorBody`` by ``error_response``.
"""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from fakes.common import (
    Captured,
    Clock,
    CommonSettings,
    FakeBroker,
    Fault,
    InputError,
    MoRequest,
    Push,
    query_fields,
    read_body,
)
from fakes.portico.errors import (
    ApiError,
    as_api_error,
    as_oauth_error,
    render_api_error,
    render_oauth_error,
    too_many_requests,
)
from fakes.portico.messages import Webhook, wants_receipt
from fakes.portico.service import Portico, Reply, Request, Sent
from fakes.portico.settings import PorticoSettings

__all__ = ["TOKEN_PATH", "PorticoFake"]

TOKEN_PATH = "/oauth/token"  # on the login host (Option 3); the fake serves both hosts at once


class PorticoFake(FakeBroker):
    """A fake Genesys Cloud organisation with the SMS aggregation product.

    Args:
        name: the fake's name.
        settings: the shared fake settings.
        portico: the Portico settings (clients, numbers, GAP choices).
        clock: the clock; a ``RealClock`` when omitted.
        rng: the random generator; ``random.Random(settings.seed)`` when omitted.
    """

    kind = "portico"

    def __init__(self, name: str, settings: CommonSettings, portico: PorticoSettings, *,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        super().__init__(name, settings, clock=clock, rng=rng)
        self.model = Portico(portico, self.rng, seed=settings.seed, body_limit=settings.client_max_size,
                             started=self.clock.now())
        if self.carrier is not None:
            carrier = self.carrier
            self.model.admits = lambda sms: carrier.admits([sms.destination], sms.sender)

    def wire_routes(self) -> list[web.AbstractRouteDef]:
        """The login service and the whole ``/api/v2`` tree; the service does the routing."""
        return [web.route("*", TOKEN_PATH, self._handle),
                web.route("*", "/api/v2/{tail:.*}", self._handle)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request)
        query = dict(reversed(list(query_fields(request).items())))  # a repeated name: the first wins
        reply = self.model.handle(Request(request.method, request.path, dict(request.headers), query, body),
                                  self.clock.now())
        for sent in reply.sent:
            self._accepted(sent)
        return _response(reply)

    def _accepted(self, sent: Sent) -> None:
        """Capture an accepted MT and plan its receipt."""
        sms = sent.sms
        self.capture.add("mt", sent.at, sender="+" + sms.sender, recipient=sms.destination, text=sms.message,
                         message_id=sent.message_id, fields=sent.fields, status="accepted")
        wanted = self.settings.dlr_enabled and wants_receipt(sms, self.model.settings)
        if self.carrier is not None:
            self.to_carrier(sms.destination, sms.sender, sms.message, sent.message_id,
                            (lambda state: self.deliver_dlr((sent, state))) if wanted else None)
            return
        if not wanted:
            return
        state, delay = self.settings.dlr.plan(sms.destination, self.rng)
        self.scheduler.schedule(delay, (sent, state))

    def deliver_dlr(self, item: Any) -> None:
        """Push the DR of a message that fell due to the number's ``drUrl`` (else the shared ``dr_url``)."""
        sent, state = item
        now = self.clock.now()
        hook = self.model.receipt(sent, state.value, now)
        if hook is None:  # the number was deleted since the send
            return
        self.capture.add("dlr", now, sender="+" + sent.sms.sender, recipient=sent.sms.destination, text="",
                         message_id=sent.message_id, fields=hook.payload,
                         status=str(hook.payload.get(self.model.settings.dr_fields["status"], "")),
                         state=state.value)
        self._push("dlr", hook.url or self.settings.dr_url, hook, sent.message_id)

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Push an MO from ``mo.sender`` to the number ``mo.recipient``'s ``moUrl`` (or ``mo.url``).

        Raises:
            InputError: an unknown extra field (none are used), a number not active here, a handset not
                in E.164, or no URL to push to (409).
        """
        if mo.extra:
            raise InputError(f"unknown field(s) {', '.join(sorted(mo.extra))}; portico uses none", 400)
        now = self.clock.now()
        message_id, hook = self.model.inbound(mo.recipient, mo.sender, mo.text, now)
        url = mo.url or hook.url or self.settings.mo_url
        if not url:
            raise InputError(f"number {mo.recipient} has no moUrl and the request gave no 'url'", 409)
        record = self.capture.add("mo", now, sender=mo.sender, recipient="+" + mo.recipient.lstrip("+"),
                                  text=mo.text, message_id=message_id, fields=hook.payload, status="pushed")
        self._push("mo", url, hook, message_id)
        return record

    def _push(self, kind: str, url: str, hook: Webhook, message_id: str) -> None:
        if url:
            self.push(Push(kind, url, hook.body, hook.content_type, auth=hook.auth, message_id=message_id))

    def error_response(self, error: InputError) -> web.StreamResponse:
        """Every refusal as the platform's ``ErrorBody``."""
        return _response(_rendered(as_api_error(error), self.model.new_id()))

    def error_response_for(self, request: web.Request, error: InputError) -> web.StreamResponse:
        """Refusals on the login path in the login service's form, others as ErrorBody."""
        if request.path.rstrip("/") != TOKEN_PATH:
            return self.error_response(error)
        status, body, headers = render_oauth_error(as_oauth_error(error))
        return _response(Reply(status, body, {"Content-Type": "application/json", **headers}))

    def throttle_response(self, fault: Fault, request: web.Request | None = None) -> web.StreamResponse:
        """A throttle fault answered like the real rate limit on any path: 429 ErrorBody, ``Retry-After``
        and the ``inin-ratelimit-*`` headers (the window is full: count and allowed are one past and the
        limit; reset is the fault's ``retry_after``)."""
        s = self.model.settings
        headers = {"inin-ratelimit-count": str(s.rate_requests + 1),
                   "inin-ratelimit-allowed": str(s.rate_requests),
                   "inin-ratelimit-reset": str(fault.retry_after)}
        error = too_many_requests(s.rate_message.value, fault.retry_after, s.rate_requests, s.rate_window,
                                  headers)
        return _response(_rendered(error, self.model.new_id()))

    def health(self) -> dict[str, Any]:
        """The shared health, plus the GAP choices in effect (the variant of each disputed fact)."""
        s = self.model.settings
        return {**super().health(), "variants": {
            "invalid_client_status": s.invalid_client_status, "rate_message": s.rate_message.value,
            "receipts": s.receipts.value}}


def _rendered(error: ApiError, context: str) -> Reply:
    status, body, headers = render_api_error(error, context)
    return Reply(status, body, {"Content-Type": "application/json", **headers})


def _response(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body or None, headers=dict(reply.headers))
