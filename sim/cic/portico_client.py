"""The node's client for Genesys Cloud SMS aggregation (``type: portico``).

MT: an OAuth client-credentials token from ``<gateway>/oauth/token`` (the account's Login and Password
as client id and secret; Digital Channels SMS set-up, Option 3, "Retrieve the Genesys Cloud CX token"),
kept until it expires, then ``POST <gateway><outgoing path>`` (default ``/api/v2/messaging/sms``) with
``Authorization: Bearer`` and an ``SmsMessageRequest`` (Genesys Cloud JavaScript SDK 179.0.0, withdrawn):
``{"sender", "destination", "message", "requestReceipt": true, "correlationInfo": {"correlation"}}``.
A 401 (token revoked or expired early) gets one new token and one retry.

MO and DR: the webhook payloads are not public (GAP); this reads the fakes/portico defaults, MO
``{messageId, sender, destination, message, timestamp}`` and DR ``{messageId, status, sender,
destination, timestamp, correlationInfo?}`` with ``status`` one of the upper-cased delivery states;
numbers and ids must be what ``sim.core.fields`` allows (400 otherwise, nothing stored).
Portico sends DRs to the number's provisioned ``drUrl``, not to a per-message URL, so
``ExternalDeliveryStatusURI`` is not sent. The webhooks' Basic credentials are not checked (the node has
no setting that holds them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from sim.brokerdef.wire import decode_json_object, join_url, media_type
from sim.cic.clients import Http, SendResult, account_for, basic, unanswered
from sim.core.config import BrokerConfig
from sim.core.errors import InputError
from sim.core.fields import check_address, check_id
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest

__all__ = ["SEND_PATH", "TOKEN_PATH", "PorticoWire"]

TOKEN_PATH = "/oauth/token"  # Digital Channels SMS set-up, Option 3
SEND_PATH = "/api/v2/messaging/sms"  # the SDK 179.0.0 MessagingApi
TOKEN_MARGIN = 30.0  # seconds before expiry a token is renewed, so none expires in flight


@dataclass
class _Token:
    value: str
    expires: float


class PorticoWire:
    """Portico's webhooks in, its REST API out.

    Args:
        broker: the broker configuration.
        clock: the node's clock, for token expiry.
    """

    def __init__(self, broker: BrokerConfig, clock: Any) -> None:
        self.broker = broker
        self.clock = clock
        self._tokens: dict[str, _Token] = {}

    # -- webhooks ---------------------------------------------------------------------------------------

    def parse_mo(self, query: str, content_type: str, body: bytes, now: float) -> InboundSms:
        """The MO in an MO webhook."""
        data = _payload(content_type, body)
        sender = check_address(_text(data, "sender"), "sender")
        destination = check_address(_text(data, "destination"), "destination")
        message_id = check_id(_text(data, "messageId"), "messageId")
        text = _text(data, "message", empty=True)
        return InboundSms(self.broker.name, sender, destination, text, message_id,
                          account_for(self.broker, destination), now)

    def parse_dr(self, query: str, content_type: str, body: bytes, now: float) -> DeliveryReceipt:
        """The DR in a DR webhook."""
        data = _payload(content_type, body)
        status = _text(data, "status")
        try:
            state = DeliveryState(status.lower())
        except ValueError as exc:
            known = ", ".join(s.value.upper() for s in DeliveryState)
            raise InputError(f"unknown delivery status {status!r} (known: {known})") from exc
        message_id = check_id(_text(data, "messageId"), "messageId")
        destination = _text(data, "destination", empty=True) if "destination" in data else ""
        return DeliveryReceipt(self.broker.name, message_id, state, status,
                               destination and check_address(destination, "destination"), now)

    # -- sending ----------------------------------------------------------------------------------------

    async def send(self, http: Http, mt: MtRequest, dr_url: str) -> SendResult:
        """Send ``mt`` as an ``SmsMessageRequest``; the DR comes to the number's ``drUrl``."""
        cfg = self.broker
        url = join_url(cfg.mt.gateway, cfg.mt.outgoing_path or SEND_PATH)
        base = SendResult(cfg.name, url, 0, False, correlation=mt.correlation,
                          interaction_id=mt.interaction_id, part=mt.part)
        body = json.dumps({"sender": _e164(mt.sender), "destination": _e164(mt.recipient), "message": mt.text,
                           "requestReceipt": True,
                           "correlationInfo": {"correlation": mt.correlation}}).encode()
        try:
            for attempt in (1, 2):
                token = await self._token(http, mt.account, renew=attempt == 2)
                if isinstance(token, SendResult):
                    return replace(token, url=url, correlation=mt.correlation,
                                   interaction_id=mt.interaction_id, part=mt.part)
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                status, _, answer = await http.request(cfg, "POST", url, headers, body)
                if status != 401:
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            return unanswered(base, exc, cfg.mt.timeout)
        return _verdict(base, status, answer)

    async def _token(self, http: Http, account_id: str, *, renew: bool) -> str | SendResult:
        now = self.clock()
        cached = self._tokens.get(account_id)
        if cached is not None and not renew and cached.expires > now:
            return cached.value
        account = self.broker.account(account_id)
        login, password = (account.login, account.password) if account else ("", "")
        url = join_url(self.broker.mt.gateway, TOKEN_PATH)
        headers = {"Authorization": basic(login, password),
                   "Content-Type": "application/x-www-form-urlencoded"}
        status, _, answer = await http.request(self.broker, "POST", url, headers,
                                               b"grant_type=client_credentials")
        try:
            data = json.loads(answer)
            value, lifetime = str(data["access_token"]), float(data.get("expires_in", 0))
        except (ValueError, KeyError, TypeError):
            return SendResult(self.broker.name, url, status, False,
                              reason=f"no token (HTTP {status}): {answer[:200]!r}")
        if status != 200:
            return SendResult(self.broker.name, url, status, False, reason=f"no token (HTTP {status})")
        self._tokens[account_id] = _Token(value, now + max(lifetime - TOKEN_MARGIN, 0.0))
        return value


def _verdict(base: SendResult, status: int, answer: bytes) -> SendResult:
    try:
        data = json.loads(answer) if answer else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if status == 200 and data.get("messageId"):
        return replace(base, status=status, accepted=True, message_ids=(str(data["messageId"]),))
    reason = f"{data.get('code', status)}: {data.get('message', answer[:200].decode('utf-8', 'replace'))}"
    return replace(base, status=status, reason=reason)


def _e164(number: str) -> str:
    # SmsMessageRequest's destination must be E.164 with "+"; a bare-digit FQTN from the core gets one.
    return f"+{number}" if number.isdigit() else number


def _payload(content_type: str, body: bytes) -> dict[str, object]:
    if media_type(content_type) != "application/json":
        raise InputError(f"a webhook must be application/json (got {content_type or 'no content type'!r})")
    return decode_json_object(body)


def _text(data: dict[str, object], name: str, *, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str) or (not value and not empty):
        raise InputError(f"member {name!r} must be a non-empty string (got {value!r})")
    return value
