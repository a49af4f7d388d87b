"""The fake aggregator's settings and its shell (see the package docstring for the wire)."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.common import Captured, Clock, CommonSettings, FakeBroker, InputError, MoRequest, Push, read_body
from sim.core.schema import Reader, unique
from sim.core.signature import SignatureEncoding, sign, verify_signature

__all__ = ["AsyncGatewayFake", "Channel", "GatewaySettings", "read_gateway"]

DEFAULT_CCID = "45acae06-6b7c-4f97-9c76-471cb5c21bf7"  # the guide's example Contact Center Id


@dataclass(frozen=True)
class Channel:
    """One channel the aggregator serves, with both secrets of the ``Async`` service."""

    channel_id: str
    webhook_secret: str
    api_secret: str


@dataclass(frozen=True)
class GatewaySettings:
    """The aggregator's own settings."""

    ccid: str
    channels: tuple[Channel, ...]
    signature: SignatureEncoding = SignatureEncoding.HEX

    def channel(self, channel_id: str) -> Channel | None:
        """The channel with this id."""
        return next((c for c in self.channels if c.channel_id == channel_id), None)


def read_gateway(r: Reader) -> GatewaySettings:
    """Read the aggregator's keys from ``r``; problems are recorded on ``r``."""
    channels = []
    for c in r.children("channels"):
        channels.append(Channel(c.text("channel_id", allow_empty=False),
                                c.text("webhook_secret", allow_empty=False),
                                c.text("api_secret", allow_empty=False)))
        c.done()
    if not channels:
        r.problem("channels", r.data.get("channels"), "must list at least one channel")
    ids = [(f"{r.at('channels')}[{i}].channel_id", c.channel_id) for i, c in enumerate(channels)]
    unique(r.problems, ids, "channels")
    return GatewaySettings(r.text("ccid", DEFAULT_CCID, allow_empty=False), tuple(channels),
                           r.choice("signature", SignatureEncoding, SignatureEncoding.HEX))


class AsyncGatewayFake(FakeBroker):
    """A third-party messaging aggregator behind Digital Channels' ``Async`` provider.

    Args:
        name: the fake's name.
        settings: the shared fake settings (``mo_url`` is Digital Channels' base URL).
        gateway: the channels and their secrets.
        clock: the clock; a ``RealClock`` when omitted.
        rng: the generator; ``random.Random(settings.seed)`` when omitted.
    """

    kind = "asyncgw"

    def __init__(self, name: str, settings: CommonSettings, gateway: GatewaySettings, *,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        super().__init__(name, settings, clock=clock, rng=rng)
        self.gateway = gateway

    def new_id(self) -> str:
        """A UUID from the seeded generator."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def wire_routes(self) -> list[web.AbstractRouteDef]:
        """The webhook, at any path outside ``/_smslab/``."""
        return [web.post("/{tail:.*}", self.webhook)]

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        """Check the signature for every message's channel, capture, answer ``{"messageId"}``."""
        raw = await read_body(request)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"the body is not JSON: {exc}", 400) from exc
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise InputError("the body must be {\"messages\": [<message>, ...]}", 400)
        signature = request.headers.get("X-Hub-Signature", "")
        for m in messages:
            channel = self.gateway.channel(str(m.get("channelId", "")))
            if channel is None:
                raise InputError(f"unknown channelId {m.get('channelId')!r}", 400)
            if not verify_signature(signature, channel.webhook_secret, raw, self.gateway.signature):
                raise InputError("X-Hub-Signature is missing or does not match the body", 401)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        first = ""
        for m in messages:
            message_id = self.new_id()
            first = first or message_id
            self.capture.add("mt", self.clock.now(), sender=str(m.get("from", "")),
                             recipient=str(m.get("to", "")), text=str(m.get("text", "")),
                             message_id=message_id, fields={"message": m, "headers": headers},
                             status="accepted")
            if self.settings.dlr_enabled:
                state, delay = self.settings.dlr.plan(str(m.get("to", "")), self.rng)
                self.scheduler.schedule(delay, (str(m["channelId"]), message_id, state.value))
        return web.json_response({"messageId": first})

    def _signed(self, kind: str, channel: Channel, path: str, payload: Any, message_id: str) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = (("X-Hub-Signature", sign(channel.api_secret, body, self.gateway.signature)),
                   ("x-ccid", self.gateway.ccid), ("X-B3-TraceId", self.new_id().replace("-", "")))
        url = self.settings.mo_url.rstrip("/") + f"/nexus/v3/channels/{channel.channel_id}/{path}"
        self.push(Push(kind, url, body, "application/json", headers=headers, message_id=message_id))

    def deliver_dlr(self, item: Any) -> None:
        """Push a receipt for an accepted message to the Third-Party Messaging API."""
        channel_id, message_id, state = item
        channel = self.gateway.channel(channel_id)
        if channel is None or not self.settings.mo_url:
            return
        self.capture.add("dlr", self.clock.now(), sender=channel_id, recipient="", text="",
                         message_id=message_id, fields={}, status=state, state=state)
        self._signed("dlr", channel, "receipts", {"receipts": [{"messageId": message_id, "status": state}]},
                     message_id)

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Push an inbound message from ``mo.sender`` on the channel ``mo.recipient``, signed.

        Raises:
            InputError: an unknown channel or extra field, or no Digital Channels URL (409).
        """
        if mo.extra:
            raise InputError(f"unknown field(s) {', '.join(sorted(mo.extra))}; asyncgw uses none", 400)
        channel = self.gateway.channel(mo.recipient)
        if channel is None:
            raise InputError(f"{mo.recipient} is not a channel of this aggregator", 404)
        if not self.settings.mo_url:
            raise InputError(f"fake {self.name!r} has no mo_url (Digital Channels' base URL)", 409)
        message_id = self.new_id()
        record = self.capture.add("mo", self.clock.now(), sender=mo.sender, recipient=mo.recipient,
                                  text=mo.text, message_id=message_id, fields={}, status="pushed")
        message = {"messageId": message_id, "from": mo.sender, "to": mo.recipient, "text": mo.text}
        payload = {"messages": [message]}
        self._signed("mo", channel, "messages", payload, message_id)
        return record

    def error_response(self, error: InputError) -> web.StreamResponse:
        """A refusal as ``{"error": <message>}`` with its status (the aggregator is the customer's own)."""
        return web.json_response({"error": str(error)}, status=error.status)
