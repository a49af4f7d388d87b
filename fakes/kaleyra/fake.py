"""The Kaleyra / mGage fake: DirectTEXT MT (HTTP and older XML API), MO and DR pushes, REST v1 mode.

Routes: ``GET|POST /a2w_preRouter/httpApiRouter`` (parameters in the query string or a form body, Basic
auth, as public DirectTEXT clients send them; Kaleyra's API guide is not public), ``POST
/a2w_preRouter/xmlApiRouter`` and ``/a2w_preRouter/a2w_xmlApiRouter`` (the older XML API, at both paths
since the clients disagree), and the REST mode's ``POST /v1/{sid}/messages`` and ``/v1/{sid}/sms``
(Kaleyra developer docs; in ``rest.py``). Refusals are ``<httpApiResponse>`` documents with a non-100
``<code>`` (JSON under ``/v1/``), made in ``error_response_for``, the fake's one conversion point.
"""

from __future__ import annotations

import base64
import hmac
import random
from typing import Any

from aiohttp import web

from fakes.common import (
    FORM,
    Captured,
    Clock,
    FakeBroker,
    InputError,
    MoRequest,
    Push,
    WireError,
    WireReason,
    check_basic,
    params,
    text_body,
)
from fakes.kaleyra import rest
from fakes.kaleyra.model import (
    Callback,
    DrForm,
    MessageIds,
    MtSubmission,
    PendingDr,
    dr_fields,
    dr_parts,
    mo_fields,
    parse_mt,
    rejected,
)
from fakes.kaleyra.settings import Code, KaleyraSettings
from fakes.kaleyra.xml import parse_router_api, render_response
from sim.core.types import DeliveryState

__all__ = ["HTTP_API_PATH", "XML_API_PATHS", "KaleyraFake"]

HTTP_API_PATH = "/a2w_preRouter/httpApiRouter"
XML_API_PATHS = ("/a2w_preRouter/xmlApiRouter", "/a2w_preRouter/a2w_xmlApiRouter")


class KaleyraFake(FakeBroker):
    """A fake Kaleyra / mGage broker.

    Args:
        name: the fake's name.
        settings: its settings (``read_settings``).
        clock: the clock (a real one when omitted).
        rng: the generator (``random.Random(settings.common.seed)`` when omitted).
    """

    kind = "kaleyra"

    def __init__(self, name: str, settings: KaleyraSettings, *, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        super().__init__(name, settings.common, clock=clock, rng=rng)
        self.ks = settings
        self.ids = MessageIds(settings.message_ids, self.rng, prefix=f"{name}-")
        self._dr_form = DrForm(settings)
        self._basic = tuple("Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
                            for user, secret in settings.accounts.items())
        self._answer_type = {"Content-Type": f"{settings.content_type}; charset=utf-8"}

    # -- routes -------------------------------------------------------------------------------------------

    def wire_routes(self) -> list[web.AbstractRouteDef]:
        """The DirectTEXT routes, the XML API (unless ``xml_api: false``) and the REST mode."""
        routes: list[web.AbstractRouteDef] = [web.get(HTTP_API_PATH, self.http_api, allow_head=False),
                                              web.post(HTTP_API_PATH, self.http_api)]
        if self.ks.xml_api:
            routes += [web.post(path, self.xml_api) for path in XML_API_PATHS]
        return routes + rest.routes(self)

    async def http_api(self, request: web.Request) -> web.StreamResponse:
        """MT through the HTTP API: authenticate, read query and form parameters, accept."""
        self.authenticate(request)
        return self.xml_answer(*self.submit(await params(request)))

    async def xml_api(self, request: web.Request) -> web.StreamResponse:
        """MT through the older XML API (``Content-Type: text/xml``)."""
        self.authenticate(request)
        text = await text_body(request, "text/xml", "application/xml")
        return self.xml_answer(*self.submit(parse_router_api(text)))

    def authenticate(self, request: web.Request) -> None:
        """Require Basic credentials of a configured account (as every public DirectTEXT client sends them).

        Raises:
            WireError: UNAUTHORIZED.
        """
        given = request.headers.get("Authorization", "")
        # The header as clients write it, compared whole in constant time, spares the general parse.
        if given.isascii() and any(hmac.compare_digest(given, known) for known in self._basic):
            return
        if not any(check_basic(request, user, secret) for user, secret in self.ks.accounts.items()):
            raise WireError("authentication failed", WireReason.UNAUTHORIZED)

    # -- the model's use --------------------------------------------------------------------------------

    def submit(self, wire: Any) -> tuple[Code, list[tuple[str, str]]]:
        """Accept one MT's parameters: capture one record per recipient and schedule its DRs.

        Returns:
            The result code and ``(number, message_id)`` per accepted recipient.

        Raises:
            WireError: a missing or invalid parameter (nothing is captured).
        """
        mt = parse_mt(wire, self.ks)
        code = rejected(mt.recipients, self.ks)
        if code is not None:
            return code, []
        self.carrier_admits(list(mt.recipients), mt.reply_to)
        accepted = [(number, self.accept(mt, number)) for number in mt.recipients]
        return self.ks.codes["success"], accepted

    def accept(self, mt: MtSubmission, number: str, callback: Callback | None = None) -> str:
        """Capture the MT to ``number``, schedule its DR(s) and return its message id."""
        message_id = self.ids.next()
        self.capture.add("mt", self.clock.now(), sender=mt.reply_to, recipient=number, text=mt.body,
                         message_id=message_id, fields=mt.fields or {}, status="accepted")
        # One DR per part for a long message (Acoustic, "Process SMS messages and universal behavior
        # events"); subid 0 for a single part.
        subids = [0] if (parts := dr_parts(mt.body, self.ks.dr.per_segment)) == 1 else range(1, parts + 1)
        if self.carrier is not None:
            def deliver(state: DeliveryState) -> None:
                for subid in subids:
                    self.deliver_dlr(PendingDr(mt, number, message_id, state, subid, callback))
            self.to_carrier(number, mt.reply_to, mt.body, message_id,
                            deliver if self.settings.dlr_enabled else None)
            return message_id
        if not self.settings.dlr_enabled:
            return message_id
        state, delay = self.settings.dlr.plan(number, self.rng)
        for subid in subids:
            self.scheduler.schedule(delay, PendingDr(mt, number, message_id, state, subid, callback))
        return message_id

    def deliver_dlr(self, item: PendingDr) -> None:
        """Build, capture and push one due DR (a REST callback when the MT came through REST)."""
        if item.callback is not None:
            rest.deliver(self, item)
            return
        fields = dr_fields(item.mt, item.recipient, item.message_id, item.state, subid=item.subid,
                           settings=self.ks)
        self.capture.add("dlr", self.clock.now(), sender=item.mt.reply_to, recipient=item.recipient,
                         message_id=item.message_id, fields=fields,
                         status=f"{fields['status']}/{fields['status_code']}", state=item.state.value)
        if self.settings.dr_url:
            body = self._dr_form.body(item.mt, item.recipient, item.message_id, item.state, subid=item.subid)
            self.push(Push("dlr", self.settings.dr_url, body, FORM, auth=self.settings.push.auth,
                           message_id=item.message_id))

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Push an MO form post (Acoustic's fields) to the MO URL, captured first."""
        url = self.mo_target(mo)
        fields = mo_fields(mo, self.ids.next(), self.ks)
        record = self.capture.add("mo", self.clock.now(), sender=mo.sender, recipient=mo.recipient,
                                  text=mo.text, message_id=fields["message_id"], fields=fields,
                                  status=f"{fields['status']}/{fields['status_code']}")
        self.push(Push.form("mo", url, fields, auth=self.settings.push.auth, message_id=record.message_id))
        return record

    # -- answers ------------------------------------------------------------------------------------------

    def xml_answer(self, code: Code, recipients: list[tuple[str, str]], status: int = 0,
                   message: str = "", field: str = "") -> web.Response:
        """An ``<httpApiResponse>`` answer with ``code`` (its description's placeholders filled)."""
        description = code.description.replace("{field}", field).replace("{message}", message)
        return web.Response(status=code.http_status or status or 200,
                            body=render_response(code.code, description, recipients),
                            headers=self._answer_type)

    def error_response(self, error: InputError) -> web.StreamResponse:
        """A refused DirectTEXT request: a non-100 ``<code>`` by reason, from the ``codes`` table."""
        reason = error.reason if isinstance(error, WireError) else WireReason.OTHER
        field = error.field if isinstance(error, WireError) else ""
        response = self.xml_answer(self.ks.codes[reason.value], [], error.status, str(error), field)
        if reason is WireReason.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = f'Basic realm="{self.ks.realm}"'
        return response

    def error_response_for(self, request: web.Request, error: InputError) -> web.StreamResponse:
        """JSON under ``/v1/`` (the REST mode), ``<httpApiResponse>`` elsewhere."""
        if request.path.startswith("/v1/"):
            return rest.error_response(error)
        return self.error_response(error)

    def health(self) -> dict[str, Any]:
        """The shared health, plus the assumptions this fake runs on (the variant of each disputed fact)."""
        out = super().health()
        out["assumptions"] = {"mo_status": self.ks.mo.variant, "content_type": self.ks.content_type,
                              "message_ids": self.ks.message_ids, "dr_per_segment": self.ks.dr.per_segment,
                              "xml_api": list(XML_API_PATHS) if self.ks.xml_api else []}
        return out
