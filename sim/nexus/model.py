"""Digital Channels as a sans-IO model: a ``Request`` and ``now`` in, a ``Reply`` (and what to send) out.

Theory of operation. ``handle`` finds the route (404, or 405 with ``Allow``), refuses a body over
``max_body`` (413), checks who is calling, reads the body and calls the handler; every refusal is a
``NexusError`` turned into the envelope ``{"status": {"code", "message"}}`` here, in one place, and a
refused request changes nothing. Who is calling depends on the door:

* provisioning (``/nexus/v3/provisioning/...``): ``x-api-key`` (401 when missing or not a live key),
  ``x-ccid`` (400 when missing or not the path's ccid), then the key's tenant and permission (403);
* Genesys Cloud's number webhooks (``/nexus/v3/sms/message`` and ``/receipt``, the guide's ``moUrl`` and
  ``drUrl``): HTTP Basic ``webhookUsername:webhookPassword``, the ccid and an API key of that tenant
  with a ``messaging`` permission (the guide's "GMA key"), 401 otherwise;
* the Third-Party Messaging API (``/nexus/v3/channels/{channelId}/messages`` and ``/receipts``):
  ``x-ccid`` and ``X-Hub-Signature`` with the channel's ``api.secret`` over the raw body (401 missing,
  403 wrong), compared in constant time;
* Kaleyra's pushes (``/nexus/v3/mgage/message`` and ``/receipt``): none, or Basic with the tenant's
  ``mGageSMS`` credentials (``kaleyra.inbound_auth``).

An inbound SMS on a provisioned sender id becomes (or joins) a chat interaction; one for a channel no
section names is refused or parked (``unprovisioned``). An agent's reply is a ``Outbound`` in
``Reply.sends``: the shell sends it through the section's provider and reports back with ``accepted`` or
``failed``; receipts then move its state.
"""

from __future__ import annotations

import hmac
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.nexus.campaigns import Campaign, parse_campaign
from sim.nexus.errors import NexusError, bad_request, envelope, render_error
from sim.nexus.interactions import Interaction, InteractionBook, Message
from sim.nexus.keys import KeyRing
from sim.nexus.senders import Sender, SenderBook
from sim.nexus.services import AsyncChannel, Provider, ServiceStore
from sim.nexus.settings import KaleyraAuth, NexusSettings, Unprovisioned
from sim.nexus.wire import Request, basic, parse_form, parse_json, verify_signature

__all__ = ["KALEYRA_PATHS", "PORTICO_PATHS", "Nexus", "Outbound", "Reply"]

PORTICO_PATHS = ("/nexus/v3/sms/message", "/nexus/v3/sms/receipt")  # the guide's moUrl and drUrl
#: Where Kaleyra pushes MOs and DRs for Digital Channels is not public (GAP): these are the lab's.
KALEYRA_PATHS = ("/nexus/v3/mgage/message", "/nexus/v3/mgage/receipt")
_PROV = "/nexus/v3/provisioning"
_CCID = r"(?P<ccid>[^/]+)"


@dataclass(frozen=True)
class Outbound:
    """A message to send through a provider (our message id; the shell reports its fate back)."""

    message_id: str
    ccid: str
    provider: Provider
    channel_id: str
    to: str
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What to answer, and what to send."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    sends: tuple[Outbound, ...] = ()


Params = dict[str, str]
#: What a handler returns: status, the ``data`` of the envelope, what to send.
Result = tuple[int, object, tuple[Outbound, ...]]
_Route = tuple[str, "re.Pattern[str]", str]
_ROUTES: list[_Route] = [
    ("GET", re.compile(rf"{_PROV}/services/{_CCID}"), "_list_services"),
    ("POST", re.compile(rf"{_PROV}/services/{_CCID}/(?P<service>[^/]+)"), "_create_service"),
    ("GET", re.compile(rf"{_PROV}/services/{_CCID}/(?P<service>[^/]+)"), "_get_service"),
    ("PUT", re.compile(rf"{_PROV}/services/{_CCID}/(?P<service>[^/]+)"), "_replace_service"),
    ("DELETE", re.compile(rf"{_PROV}/services/{_CCID}/(?P<service>[^/]+)"), "_delete_service"),
    ("GET", re.compile(rf"{_PROV}/apikeys"), "_list_keys"),
    ("POST", re.compile(rf"{_PROV}/apikeys"), "_create_key"),
    ("GET", re.compile(rf"{_PROV}/apikeys/(?P<id>[^/]+)"), "_get_key"),
    ("PUT", re.compile(rf"{_PROV}/apikeys/(?P<id>[^/]+)"), "_update_key"),
    ("DELETE", re.compile(rf"{_PROV}/apikeys/(?P<id>[^/]+)"), "_delete_key"),
    ("GET", re.compile(rf"{_PROV}/senders/{_CCID}"), "_list_senders"),
    ("GET", re.compile(rf"{_PROV}/senders/{_CCID}/(?P<section>[^/]+)"), "_get_sender"),
    ("PUT", re.compile(rf"{_PROV}/senders/{_CCID}/(?P<section>[^/]+)"), "_put_sender"),
    ("DELETE", re.compile(rf"{_PROV}/senders/{_CCID}/(?P<section>[^/]+)"), "_delete_sender"),
    ("POST", re.compile(PORTICO_PATHS[0]), "_portico_mo"),
    ("POST", re.compile(PORTICO_PATHS[1]), "_portico_dr"),
    ("POST", re.compile(KALEYRA_PATHS[0]), "_kaleyra_mo"),
    ("POST", re.compile(KALEYRA_PATHS[1]), "_kaleyra_dr"),
    ("POST", re.compile(r"/nexus/v3/channels/(?P<channel>[^/]+)/messages"), "_async_mo"),
    ("POST", re.compile(r"/nexus/v3/channels/(?P<channel>[^/]+)/receipts"), "_async_dr"),
]


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{where}{name} must be a non-empty string (got {value!r})")
    return value


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_request(f"the {what} must be a JSON object")
    return data


class Nexus:
    """One Digital Channels deployment.

    Args:
        settings: the validated settings (keys, services, sender sections provisioned at start).
        rng: the source of every id (``random.Random(seed)``).
    """

    def __init__(self, settings: NexusSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random(0)
        self.keys = KeyRing(settings.api_keys, self.new_id)
        self.services = ServiceStore()
        for name, body in settings.services.items():
            self.services.create(settings.ccid, name, body)
        self.senders = SenderBook()
        for sender in settings.senders:
            self.senders.add(sender)
        self.interactions = InteractionBook(self.new_id, settings.interactions_limit)
        self.parked: list[dict[str, object]] = []
        self.campaigns: dict[str, Campaign] = {}
        self.refused = 0

    def new_id(self) -> str:
        """A UUID drawn from the seeded generator."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- dispatch ---------------------------------------------------------------------------------------

    def handle(self, request: Request, now: float) -> Reply:
        """Answer one request at time ``now``."""
        try:
            handler, params = self._route(request.method.upper(), request.path.rstrip("/") or "/")
            if len(request.body) > self.settings.max_body:
                raise NexusError(f"the body is {len(request.body)} bytes; the limit is "
                                 f"{self.settings.max_body}", 413)
            status, data, sends = handler(self, request, params, now)
        except NexusError as error:
            self.refused += 1
            status, body, headers = render_error(error)
            return Reply(status, body, {"Content-Type": "application/json", **headers})
        return Reply(status, envelope(data), {"Content-Type": "application/json"}, sends)

    @staticmethod
    def _route(method: str, path: str) -> tuple[Callable[..., tuple[int, object, tuple[Outbound, ...]]],
                                                 dict[str, str]]:
        allowed = []
        for verb, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if verb == method:
                return getattr(Nexus, name), match.groupdict()
            allowed.append(verb)
        if allowed:
            raise NexusError(f"{method} is not allowed on {path}", 405, {"Allow": ", ".join(allowed)})
        raise NexusError(f"no resource at {path}", 404)

    # -- who is calling ---------------------------------------------------------------------------------

    def _tenant(self, request: Request, ccid: str, permission: str, now: float) -> None:
        """The provisioning door: ``x-api-key``, ``x-ccid`` equal to the path's, then the key's rights."""
        key = request.header("x-api-key")
        if not key:
            raise NexusError("x-api-key is required", 401)
        given = request.header("x-ccid")
        if not given:
            raise bad_request("x-ccid is required")
        if given != ccid:
            raise bad_request(f"x-ccid {given} does not match the ccid of the path ({ccid})")
        self.keys.check(key, ccid, permission, now)

    def _cluster(self, request: Request, permission: str, now: float) -> str:
        """API-key management: ``x-api-key`` with the permission; ``x-ccid`` when given names the tenant."""
        key = self.keys.check(request.header("x-api-key"), request.header("x-ccid") or "*", permission, now)
        return key.tenant

    # -- provisioning: services -------------------------------------------------------------------------

    def _create_service(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:services", now)
        return 200, self.services.create(p["ccid"], p["service"], parse_json(request)).to_json(), ()

    def _replace_service(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:services", now)
        return 200, self.services.replace(p["ccid"], p["service"], parse_json(request)).to_json(), ()

    def _get_service(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:services", now)
        return 200, self.services.get(p["ccid"], p["service"]).to_json(), ()

    def _delete_service(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:services", now)
        self.services.delete(p["ccid"], p["service"])
        return 200, None, ()

    def _list_services(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:services", now)
        return 200, self.services.listing(p["ccid"]), ()

    # -- provisioning: API keys -------------------------------------------------------------------------

    def _create_key(self, request: Request, p: Params, now: float) -> Result:
        tenant = self._cluster(request, "nexus:provisioning:apikeys", now)
        body = parse_json(request)
        wanted = body.get("tenant") if isinstance(body, dict) else None
        if tenant not in ("*", wanted):
            raise NexusError(f"a key of tenant {tenant} can only create keys of that tenant", 403)
        return 200, self.keys.add(body).to_json(reveal=True), ()

    def _list_keys(self, request: Request, p: Params, now: float) -> Result:
        tenant = self._cluster(request, "nexus:provisioning:apikeys", now)
        return 200, [k for k in self.keys.listing() if tenant in ("*", k["tenant"])], ()

    def _own_key(self, request: Request, key_id: str, now: float) -> None:
        tenant = self._cluster(request, "nexus:provisioning:apikeys", now)
        if tenant not in ("*", self.keys.get(key_id).tenant):
            raise NexusError(f"no API key {key_id}", 404)

    def _get_key(self, request: Request, p: Params, now: float) -> Result:
        self._own_key(request, p["id"], now)
        return 200, self.keys.get(p["id"]).to_json(), ()

    def _update_key(self, request: Request, p: Params, now: float) -> Result:
        self._own_key(request, p["id"], now)
        return 200, self.keys.update(p["id"], parse_json(request)).to_json(), ()

    def _delete_key(self, request: Request, p: Params, now: float) -> Result:
        self._own_key(request, p["id"], now)
        self.keys.delete(p["id"])
        return 200, None, ()

    # -- provisioning: sender sections (the NexusServices transaction) ----------------------------------

    def _list_senders(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:senders", now)
        return 200, self.senders.listing(p["ccid"]), ()

    def _section(self, p: dict[str, str]) -> Sender:
        sender = self.senders.get(p["section"])
        if sender.ccid != p["ccid"]:
            raise NexusError(f"no sender section {p['section']}", 404)
        return sender

    def _get_sender(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:senders", now)
        return 200, self._section(p).to_json(), ()

    def _put_sender(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:senders", now)
        return 200, self.senders.put(p["ccid"], p["section"], parse_json(request)).to_json(), ()

    def _delete_sender(self, request: Request, p: Params, now: float) -> Result:
        self._tenant(request, p["ccid"], "nexus:provisioning:senders", now)
        self.senders.delete(self._section(p).section)
        return 200, None, ()

    # -- inbound ----------------------------------------------------------------------------------------

    def _deliver(self, channel: str, customer: str, text: str, *, provider_id: str, ccid: str | None,
                 provider: str, now: float) -> Result:
        """An inbound SMS on ``channel``: an interaction, or (no section names it) refused or parked."""
        sender = self.senders.by_channel(channel)
        if sender is not None and ccid is not None and sender.ccid != ccid:
            raise NexusError(f"sender id {channel} belongs to another tenant than {ccid}", 403)
        if sender is not None:
            interaction = self.interactions.inbound(sender, customer, text, provider_id, now)
            return 200, {"interactionId": interaction.id, "messageId": interaction.messages[-1].id}, ()
        if self.settings.unprovisioned is Unprovisioned.REFUSE:
            raise NexusError(f"channel {channel} is not a provisioned sender id (no chat.* section names it)",
                             404)
        parked: dict[str, object] = {"id": self.new_id(), "channel_id": channel, "customer": customer,
                                     "text": text, "provider": provider, "provider_message_id": provider_id,
                                     "ccid": ccid, "at": now}
        self.parked.append(parked)
        del self.parked[:-self.settings.interactions_limit]
        return 202, {"parked": parked["id"]}, ()

    def _gma(self, request: Request, now: float) -> str:
        """Basic ``ccid:GMA key`` on Genesys Cloud's webhooks; the ccid."""
        creds = basic(request)
        if creds is None:
            raise NexusError("Authorization: Basic webhookUsername:webhookPassword is required", 401,
                             {"WWW-Authenticate": 'Basic realm="nexus"'})
        try:
            self.keys.check(creds[1], creds[0], "nexus:messaging:inbound", now)
        except NexusError as exc:
            raise NexusError(f"the webhook credentials are refused: {exc}", 401,
                             {"WWW-Authenticate": 'Basic realm="nexus"'}) from exc
        return creds[0]

    def _portico_mo(self, request: Request, p: Params, now: float) -> Result:
        ccid = self._gma(request, now)
        data = _object(parse_json(request), "message")
        channel, customer = _text(data, "destination", ""), _text(data, "sender", "")
        provider_id = str(data.get("messageId", ""))
        text = _text(data, "message", "")
        return self._deliver(channel, customer, text, provider_id=provider_id, ccid=ccid, provider="Portico",
                             now=now)

    def _portico_dr(self, request: Request, p: Params, now: float) -> Result:
        self._gma(request, now)
        data = _object(parse_json(request), "receipt")
        return self._receipt(_text(data, "messageId", ""), _text(data, "status", ""))

    def _receipt(self, provider_id: str, status: str) -> Result:
        message = self.interactions.receipt(provider_id, status)
        if message is None:
            raise NexusError(f"no outbound message has the id {provider_id}", 404)
        return 200, {"messageId": message.id, "state": message.state}, ()

    def _kaleyra_auth(self, request: Request, channel: str) -> str | None:
        sender = self.senders.by_channel(channel)
        ccid = sender.ccid if sender is not None else None
        if self.settings.kaleyra_auth is KaleyraAuth.BASIC:
            service = self.services.find(ccid or self.settings.ccid, "mGageSMS")
            creds = basic(request)
            wanted = (str(service.secret.get("username")), str(service.secret.get("password"))) \
                if service is not None else None
            if creds is None or wanted is None or not _same(creds, wanted):
                raise NexusError("Kaleyra's push must carry the mGageSMS credentials as Basic", 401,
                                 {"WWW-Authenticate": 'Basic realm="nexus"'})
        return ccid

    def _kaleyra_mo(self, request: Request, p: Params, now: float) -> Result:
        form = parse_form(request)
        if "message" not in form and "message_orig" not in form and "status" in form:
            return self._kaleyra_dr(request, p, now)  # Air2Web: a status postback to the MO URL
        channel = _text(form, "inbound_address", "")
        ccid = self._kaleyra_auth(request, channel)
        text = form.get("message") or form.get("message_orig") or ""
        return self._deliver(channel, _text(form, "device_address", ""), text,
                             provider_id=form.get("message_id", ""), ccid=ccid, provider="mGage", now=now)

    def _kaleyra_dr(self, request: Request, p: Params, now: float) -> Result:
        form = parse_form(request)
        self._kaleyra_auth(request, form.get("inbound_address", ""))
        return self._receipt(_text(form, "message_id", ""), _text(form, "status", ""))

    def _async_caller(self, request: Request, channel_id: str) -> AsyncChannel:
        ccid = request.header("x-ccid")
        if not ccid:
            raise bad_request("x-ccid is required")
        channel = self.services.async_channel(ccid, channel_id)
        if channel is None:
            raise NexusError(f"channel {channel_id} is not a channel of tenant {ccid}'s Async service", 404)
        signature = request.header("X-Hub-Signature")
        if not signature:
            raise NexusError("X-Hub-Signature is required", 401)
        if not verify_signature(signature, channel.api_secret, request.body, self.settings.signature):
            raise NexusError("X-Hub-Signature does not match the body signed with the channel's API secret",
                             403)
        return channel

    def _async_mo(self, request: Request, p: Params, now: float) -> Result:
        channel = self._async_caller(request, p["channel"])
        data = _object(parse_json(request), "body")
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad_request("messages must be a non-empty array")
        checked = []
        for i, element in enumerate(messages):
            m = _object(element, f"messages[{i}]")
            checked.append((_text(m, "from", f"messages[{i}]."), _text(m, "text", f"messages[{i}]."),
                            str(m.get("messageId", ""))))
        ccid = request.header("x-ccid")
        if self.senders.by_channel(channel.channel_id) is None and \
                self.settings.unprovisioned is Unprovisioned.REFUSE:
            raise NexusError(f"channel {channel.channel_id} is not a provisioned sender id", 404)
        results = [self._deliver(channel.channel_id, who, text, provider_id=mid, ccid=ccid, provider="Async",
                                 now=now)[1]
                   for who, text, mid in checked]
        return 200, results, ()

    def _async_dr(self, request: Request, p: Params, now: float) -> Result:
        self._async_caller(request, p["channel"])
        data = _object(parse_json(request), "body")
        receipts = data.get("receipts")
        if not isinstance(receipts, list) or not receipts:
            raise bad_request("receipts must be a non-empty array")
        pairs = []
        for i, element in enumerate(receipts):
            r = _object(element, f"receipts[{i}]")
            pairs.append((_text(r, "messageId", f"receipts[{i}]."), _text(r, "status", f"receipts[{i}].")))
        unknown = [mid for mid, _ in pairs if not self.interactions.knows(mid)]
        if unknown:
            raise NexusError(f"no outbound message has the id {unknown[0]}", 404)
        return 200, [self._receipt(mid, status)[1] for mid, status in pairs], ()

    # -- agents -----------------------------------------------------------------------------------------

    def reply(self, interaction_id: str, text: str, now: float) -> tuple[Message, Outbound]:
        """An agent's reply in a chat: the message (pending) and what the shell must send.

        Raises:
            NexusError: 404 unknown interaction, 409 for a campaign response or a provider whose services
                the tenant has not provisioned, 400 for an empty text.
        """
        if not text:
            raise bad_request("text must be a non-empty string")
        interaction = self.interactions.get(interaction_id)
        provider = Provider(interaction.provider)
        self.check_provider(interaction.ccid, provider, interaction.channel_id)
        _, message = self.interactions.reply(interaction_id, text, now)
        sender = self.senders.get(interaction.section)
        return message, self.outbound(interaction, message, sender)

    def campaign(self, data: object, now: float) -> tuple[Campaign, tuple[Outbound, ...]]:
        """Start a CX Contact campaign: its recipients' messages (pending) and what the shell must send.

        Raises:
            NexusError: 400 for a bad body, 404 for an unknown section, 409 for a provider not provisioned.
        """
        campaign = parse_campaign(data, self.senders.get, self.new_id)
        sender = self.senders.get(campaign.section)
        self.check_provider(campaign.ccid, sender.provider, sender.channel_id)
        sends = []
        for r in campaign.recipients:
            r.message = self.interactions.loose(r.text, now)
            sends.append(Outbound(r.message.id, campaign.ccid, sender.provider, sender.channel_id, r.number,
                                  r.text, dict(sender.headers)))
        self.campaigns[campaign.id] = campaign
        return campaign, tuple(sends)

    def outbound(self, interaction: Interaction, message: Message, sender: Sender) -> Outbound:
        """What to send for an outbound ``message`` of ``interaction``."""
        return Outbound(message.id, interaction.ccid, Provider(interaction.provider), interaction.channel_id,
                        interaction.customer, message.text, dict(sender.headers))

    def check_provider(self, ccid: str, provider: Provider, channel_id: str) -> None:
        """That the tenant has provisioned what ``provider`` needs to send from ``channel_id``.

        Raises:
            NexusError: 409 naming the missing service.
        """
        needed = {Provider.PORTICO: ("PurecloudIDP", "PorticoSMS"), Provider.MGAGE: ("mGageSMS",),
                  Provider.ASYNC: ("Async",)}[provider]
        missing = [s for s in needed if self.services.find(ccid, s) is None]
        no_channel = provider is Provider.ASYNC and self.services.async_channel(ccid, channel_id) is None
        if not missing and no_channel:
            missing = [f"Async channel {channel_id}"]
        if missing:
            raise NexusError(f"provider {provider.value} cannot send for tenant {ccid}: "
                             f"{', '.join(missing)} not provisioned", 409)


def _same(given: tuple[str, str], wanted: tuple[str, str]) -> bool:
    """Both parts compared in constant time (both always compared)."""
    a = hmac.compare_digest(given[0].encode(), wanted[0].encode())
    b = hmac.compare_digest(given[1].encode(), wanted[1].encode())
    return a and b
