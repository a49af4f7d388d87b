"""The Portico fake as a sans-IO service: a ``Request`` and ``now`` in, a ``Reply`` out.

Theory of operation: ``handle`` finds the route (404 or 405 otherwise), then for ``/api/v2`` checks the
bearer token (401), counts the request against the token's rate window (429), checks the endpoint's
permission (403), and calls the handler. Handlers raise ``ApiError``/``OAuthError``; this module is the
one place that turns them into status, body and headers. An accepted send lists its messages in
``Reply.sent``, so the shell can capture them and schedule their receipts; a rejected request lists none.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fakes.portico import routing
from fakes.portico import settings as perm
from fakes.portico.auth import Authority, Token
from fakes.portico.errors import (
    ApiError,
    OAuthError,
    invalid_value,
    render_api_error,
    render_oauth_error,
    too_many_requests,
)
from fakes.portico.inventory import parse_search, search
from fakes.portico.messages import (
    E164,
    SmsRequest,
    Webhook,
    dr_webhook,
    mo_webhook,
    parse_sms,
    wants_receipt,
)
from fakes.portico.numbers import NumberBook
from fakes.portico.settings import NumberKind, PorticoSettings
from fakes.portico.wire import dumps, parse_form, parse_json

__all__ = ["Portico", "Reply", "Request", "Sent"]

KINDS = {"tollfreenumbers": NumberKind.TOLLFREE, "longcodes": NumberKind.LONGCODE}
_P = "/api/v2/messaging/sms/provisioning"
_K = "(?P<kind>tollfreenumbers|longcodes)"


@dataclass(frozen=True)
class Request:
    """An HTTP request as the service sees it; header names are matched case-insensitively."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        """A header's value, ``""`` when absent."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")


@dataclass(frozen=True)
class Sent:
    """A message accepted for sending: its id, the request and when."""

    message_id: str
    sms: SmsRequest
    at: float
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What to answer, and the messages the request had accepted."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    sent: tuple[Sent, ...] = ()


@dataclass
class _Call:
    request: Request
    now: float
    params: dict[str, str]
    token: Token


_Handler = Callable[["Portico", _Call], tuple[int, object, tuple[Sent, ...]]]
_ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [  # method, path, handler name, permission
    ("POST", re.compile(r"/api/v2/messaging/sms"), "_send", perm.SEND),
    ("POST", re.compile(r"/api/v2/messaging/sms/bulk"), "_bulk", perm.SEND),
    ("GET", re.compile(rf"{_P}/{_K}"), "_list", perm.VIEW),
    ("GET", re.compile(rf"{_P}/{_K}/available"), "_available", perm.VIEW),
    ("POST", re.compile(rf"{_P}/{_K}"), "_order", perm.ADD),
    ("POST", re.compile(rf"{_P}/{_K}/portin"), "_portin", perm.ADD),
    ("PATCH", re.compile(rf"{_P}/{_K}/(?P<code>\+?\d+)"), "_patch", perm.EDIT),
    ("DELETE", re.compile(rf"{_P}/{_K}/(?P<code>\+?\d+)"), "_delete", perm.DELETE),
    ("GET", re.compile(rf"{_P}/orders/(?P<id>[^/]+)"), "_get_order", perm.VIEW),
    # the public Genesys Cloud SMS API (fakes.portico.routing)
    ("GET", re.compile(r"/api/v2/routing/sms/availablephonenumbers"), "_sms_available", perm.VIEW),
    ("GET", re.compile(routing.PHONE_NUMBERS), "_sms_numbers", perm.VIEW),
    ("POST", re.compile(routing.PHONE_NUMBERS), "_sms_provision", perm.ADD),
    ("GET", re.compile(rf"{routing.PHONE_NUMBERS}/(?P<id>[^/]+)"), "_sms_number", perm.VIEW),
    ("POST", re.compile(routing.AGENTLESS), "_agentless", perm.SEND),
]


class Portico:
    """One fake Genesys Cloud organisation with the SMS aggregation product.

    Args:
        settings: the validated settings.
        rng: the source of every id and token (``random.Random(seed)``).
        seed: the seed of the number inventory (searches do not depend on how many ids were drawn).
        body_limit: the largest request body in bytes; larger ones get 413.
        started: the clock at start: when the numbers of the settings were created.
    """

    def __init__(self, settings: PorticoSettings, rng: random.Random, *, seed: int = 0,
                 body_limit: int = 1024 * 1024, started: float = 0.0) -> None:
        self.settings = settings
        self.seed = seed
        self.body_limit = body_limit
        self._rng = rng
        self.auth = Authority(settings, rng)
        self.numbers = NumberBook(settings, self.new_id, started)
        #: Whether the carriers take a message now (set by a fake running the carrier model); a message
        #: they would throttle gets the platform's 429 before it is accepted.
        self.admits: Callable[[SmsRequest], bool] | None = None

    def new_id(self) -> str:
        """A UUID drawn from the seeded generator."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, request: Request, now: float) -> Reply:
        """Answer one request at time ``now``."""
        path = request.path.rstrip("/") or "/"
        if path == "/oauth/token":
            return self._token(request, now)
        context = self.new_id()
        headers: dict[str, str] = {}
        try:
            handler, params, permission = self._route(request.method.upper(), path)
            token = self.auth.authenticate(request.header("Authorization"), now)
            headers.update(self.auth.admit(token, now))
            self.auth.require(token, permission)
            status, data, sent = handler(self, _Call(request, now, params, token))
        except ApiError as error:
            status, body, extra = render_api_error(error, context)
            return Reply(status, body, {"Content-Type": "application/json", **headers, **extra})
        headers["ININ-Correlation-Id"] = context
        if data is None:
            return Reply(status, b"", headers, sent)
        return Reply(status, dumps(data), {"Content-Type": "application/json", **headers}, sent)

    @staticmethod
    def _route(method: str, path: str) -> tuple[_Handler, dict[str, str], str]:
        allowed = []
        for verb, pattern, name, permission in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if verb == method:
                return getattr(Portico, name), match.groupdict(), permission
            allowed.append(verb)
        if allowed:
            raise ApiError(405, "method.not.allowed", f"{method} is not allowed on {path}.",  # code [I]
                           headers={"Allow": ", ".join(allowed)})
        raise ApiError(404, "not.found", f"No resource at {path}.")

    def _token(self, request: Request, now: float) -> Reply:
        try:
            if len(request.body) > self.body_limit:
                raise OAuthError(413, "invalid_request", "request body too large")
            form = parse_form(request.body, request.header("Content-Type"))
            client_auth = request.header("Authorization")
            if form is None:
                self.auth.client(client_auth)  # a bad client is reported first, as for a readable body
                raise OAuthError(400, "invalid_request",  # [I] RFC 6749 §5.2
                                 "the body must be application/x-www-form-urlencoded")
            body = self.auth.issue(client_auth, form, now)
        except OAuthError as error:
            status, data, headers = render_oauth_error(error)
            return Reply(status, data, {"Content-Type": "application/json", **headers})
        return Reply(200, dumps(body), {"Content-Type": "application/json", "Cache-Control": "no-store"})

    def _json(self, call: _Call) -> object:
        return parse_json(call.request.body, call.request.header("Content-Type"),
                          self.body_limit)

    # -- messaging --------------------------------------------------------------------------------

    def _accept(self, data: object, now: float, path: str = "") -> Sent:
        sms = parse_sms(data, self.settings, path)
        if self.numbers.active(sms.sender, now) is None:
            raise invalid_value(path + "sender", f"{path}sender +{sms.sender} is not an active number of "
                                                 f"this organization")
        if self.admits is not None and not self.admits(sms):
            s = self.settings
            raise too_many_requests(s.rate_message.value, 1, s.rate_requests, s.rate_window, {})
        return Sent(sms.message_id or self.new_id(), sms, now, dict(data) if isinstance(data, dict) else {})

    def _send(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        sent = self._accept(self._json(call), call.now)
        return 200, {"messageId": sent.message_id}, (sent,)

    def _bulk(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        """One ``SendMessagesResponse`` per element; a bad element gets ``count: 0`` and its error text."""
        data = self._json(call)
        if not isinstance(data, list) or not data or len(data) > self.settings.max_bulk:
            raise invalid_value("body", f"The body must be an array of 1 to {self.settings.max_bulk} "
                                        f"message requests.")
        answers: list[dict[str, object]] = []
        sent: list[Sent] = []
        for i, element in enumerate(data):
            try:
                one = self._accept(element, call.now, f"[{i}].")
            except ApiError as error:
                answers.append({"count": 0, "statusMessage": error.message})
                continue
            sent.append(one)
            answers.append({"messageId": one.message_id, "count": 1,
                            "statusMessage": self.settings.bulk_ok_message})
        return 200, answers, tuple(sent)

    # -- provisioning -----------------------------------------------------------------------------

    def _list(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        return 200, self.numbers.listing(KINDS[call.params["kind"]], call.now), ()

    def _available(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        query = parse_search(KINDS[call.params["kind"]], call.request.query)
        return 200, {"entities": search(query, self.seed, self.numbers.taken)}, ()

    def _order(self, call: _Call, *, portin: bool = False) -> tuple[int, object, tuple[Sent, ...]]:
        order = self.numbers.order(KINDS[call.params["kind"]], self._json(call), call.token.client.client_id,
                                   call.now, portin=portin)
        return 200, self.numbers.order_json(order, call.now, placed=True), ()

    def _portin(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        return self._order(call, portin=True)

    def _patch(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        kind = KINDS[call.params["kind"]]
        record = self.numbers.patch(kind, call.params["code"], self._json(call), call.now)
        return 200, self.numbers.number_json(record, call.now), ()

    def _delete(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        self.numbers.delete(KINDS[call.params["kind"]], call.params["code"])
        return 204, None, ()

    def _get_order(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        order = self.numbers.get_order(call.params["id"])
        return 200, self.numbers.order_json(order, call.now, placed=False), ()

    # -- the public SMS API ---------------------------------------------------------------------------

    def _sms_available(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        return 200, routing.available(call.request.query, self.seed, self.numbers), ()

    def _sms_numbers(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        return 200, routing.number_listing(self.numbers.records(), call.request.query, call.now), ()

    def _sms_number(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        record = routing.one_number(self.numbers.records(), call.params["id"])
        return 200, routing.phone_number_json(record, call.now), ()

    def _sms_provision(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        p = routing.parse_provision(self._json(call))
        details = {"comment": p.name, "phoneNumberType": p.type_name, "countryCode": p.country}
        record = self.numbers.provision(p.kind, p.code, details, call.token.client.client_id, call.now)
        return 200, routing.phone_number_json(record, call.now), ()

    def _agentless(self, call: _Call) -> tuple[int, object, tuple[Sent, ...]]:
        data = self._json(call)
        sms = routing.parse_agentless(data)
        if len(sms.message) > self.settings.max_length:
            raise invalid_value("textBody", f"textBody is {len(sms.message)} characters; the limit is "
                                            f"{self.settings.max_length}")
        if self.numbers.active(sms.sender, call.now) is None:
            raise invalid_value("fromAddress", f"fromAddress +{sms.sender} is not an active number of "
                                               f"this organization")
        sent = Sent(self.new_id(), sms, call.now, dict(data) if isinstance(data, dict) else {})
        reuse = bool(data.get("useExistingActiveConversation")) if isinstance(data, dict) else False
        body = routing.agentless(sent.message_id, self.new_id(), sms, owner=call.token.client.client_id,
                                 now=call.now, reuse=reuse)
        return 202, body, (sent,)

    # -- webhooks ---------------------------------------------------------------------------------

    def receipt(self, sent: Sent, state: str, now: float) -> Webhook | None:
        """The DR for an accepted message (its ``url`` may be ``""``), or None: no receipt is due, or
        the number has since been deleted."""
        record = self.numbers.active(sent.sms.sender, now)
        if record is None or not wants_receipt(sent.sms, self.settings):
            return None
        return dr_webhook(record, sent.message_id, sent.sms, state, now=now, settings=self.settings)

    def inbound(self, number: str, handset: str, text: str, now: float) -> tuple[str, Webhook]:
        """An MO from ``handset`` to one of the org's numbers: its new id and the push (``url`` maybe ``""``).

        Raises:
            ApiError: 404 for a number not active here, 400 for a handset that is not E.164.
        """
        record = self.numbers.active(number.lstrip("+"), now)
        if record is None:
            raise ApiError(404, "not.found", f"Number {number} is not an active number of this organization.")
        if E164.fullmatch(handset) is None:
            raise invalid_value("from", f"from must be an E.164 number (got '{handset}')")
        message_id = self.new_id()
        return message_id, mo_webhook(record, message_id, handset, text, now=now, settings=self.settings)
