"""Sending (``SmsMessageRequest`` of the SDK 179.0.0) and the webhooks to ``moUrl``/``drUrl``.

The webhook payloads are not public (GAP): the default JSON uses the member names of ``SmsMessageRequest``
(``messageId``, ``sender``, ``destination``, ``message``) plus ``status``, ``timestamp`` and
``correlationInfo``; ``webhooks.mo_fields``/``dr_fields`` rename or (with ``""``) drop members and
``webhooks.dr_status`` names each delivery state. Webhooks carry ``Authorization: Basic
webhookUsername:webhookPassword`` when the number has a username (our reading: the field names suggest it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fakes.portico.errors import invalid_value
from fakes.portico.numbers import NumberRecord
from fakes.portico.settings import PorticoSettings, Receipts
from fakes.portico.wire import dumps, iso, optional_text, required_text

__all__ = ["E164", "SmsRequest", "Webhook", "dr_webhook", "mo_webhook", "parse_sms", "wants_receipt"]

E164 = re.compile(r"\+[1-9]\d{1,14}")  # ITU-T E.164: at most 15 digits after "+"
_SENDER = re.compile(r"\+?(1\d{10})")  # the org's numbers are NANP codes, with or without "+"


@dataclass(frozen=True)
class SmsRequest:
    """A validated ``SmsMessageRequest``; ``sender`` is the number code without ``+``."""

    sender: str
    destination: str
    message: str
    message_id: str = ""
    request_receipt: bool = False
    correlation: Mapping[str, str] = field(default_factory=dict)
    carrier: str = ""


@dataclass(frozen=True)
class Webhook:
    """One push to a customer URL: where, the payload, its exact JSON body and the Basic credentials."""

    url: str
    payload: Mapping[str, object]
    body: bytes
    auth: tuple[str, str] | None = None
    content_type: str = "application/json"


def _correlation(data: Mapping[str, object], path: str) -> dict[str, str]:
    value = data.get("correlationInfo")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid_value(path + "correlationInfo",
                            f"{path}correlationInfo must be an object of string values (got {value!r})")
    return dict(value)


def _receipt(data: Mapping[str, object], path: str) -> bool:
    value = data.get("requestReceipt")
    if value is not None and not isinstance(value, bool):
        raise invalid_value(path + "requestReceipt", f"{path}requestReceipt must be true or false "
                                                     f"(got {value!r})")
    return bool(value)


def parse_sms(data: object, settings: PorticoSettings, path: str = "") -> SmsRequest:
    """Validate one ``SmsMessageRequest``; whether ``sender`` belongs to the org is checked by the caller.

    Args:
        data: the decoded JSON element.
        settings: for the message length limit.
        path: prefix of field names in errors (``[2].`` for a bulk element).

    Raises:
        ApiError: 400 ``invalid.value`` naming the first bad member.
    """
    if not isinstance(data, dict):
        raise invalid_value(path.rstrip(".") or "body", "The message request must be a JSON object.")
    sender = required_text(data, "sender", path)
    match = _SENDER.fullmatch(sender)
    if match is None:
        raise invalid_value(path + "sender", f"{path}sender must be a number of this organization such "
                                             f"as +18445551212 (got '{sender}')")
    destination = required_text(data, "destination", path)
    if E164.fullmatch(destination) is None:
        raise invalid_value(path + "destination", f"{path}destination must be an E.164 number such as "
                                                  f"+13125551212 (got '{destination}')")
    message = required_text(data, "message", path)
    if len(message) > settings.max_length:
        raise invalid_value(path + "message", f"{path}message is {len(message)} characters; the limit "
                                              f"is {settings.max_length}")
    return SmsRequest(match.group(1), destination, message, optional_text(data, "messageId", path),
                      _receipt(data, path), _correlation(data, path), optional_text(data, "carrier", path))


def _rename(payload: Mapping[str, object], names: Mapping[str, str]) -> dict[str, object]:
    return {names[k]: v for k, v in payload.items() if names.get(k)}


def _webhook(url: str, record: NumberRecord, payload: dict[str, object]) -> Webhook:
    username = record.details.get("webhookUsername", "")
    auth = (username, record.details.get("webhookPassword", "")) if username else None
    return Webhook(url, payload, dumps(payload), auth)


def wants_receipt(sms: SmsRequest, settings: PorticoSettings) -> bool:
    """Whether a DR is due for this message (``requestReceipt``, or ``sms.receipts: always``)."""
    return sms.request_receipt or settings.receipts is Receipts.ALWAYS


def mo_webhook(record: NumberRecord, message_id: str, handset: str, text: str, *, now: float,
               settings: PorticoSettings) -> Webhook:
    """The push of an MO from ``handset`` to ``record``'s number; ``url`` is its ``moUrl``, maybe ``""``."""
    payload = {"messageId": message_id, "sender": handset, "destination": "+" + record.code,
               "message": text, "timestamp": iso(now)}
    return _webhook(record.details.get("moUrl", ""), record, _rename(payload, settings.mo_fields))


def dr_webhook(record: NumberRecord, message_id: str, sms: SmsRequest, state: str, *, now: float,
               settings: PorticoSettings) -> Webhook:
    """The DR push for a sent message; ``url`` is the number's ``drUrl`` (maybe ``""``).

    Args:
        record: the sending number, as it is now (its ``drUrl`` and credentials may have been patched).
        message_id: the id answered on send.
        sms: the request as accepted.
        state: a ``DeliveryState`` value; ``webhooks.dr_status`` names it on the wire.
        now: when the receipt is sent.
        settings: field and status names.
    """
    payload: dict[str, object] = {"messageId": message_id, "status": settings.dr_status[state],
                                  "sender": "+" + sms.sender, "destination": sms.destination,
                                  "timestamp": iso(now)}
    if sms.correlation:
        payload["correlationInfo"] = dict(sms.correlation)
    return _webhook(record.details.get("drUrl", ""), record, _rename(payload, settings.dr_fields))
