"""The public Genesys Cloud SMS routes the SDK's generated classes call, in the shapes of its models.

``GET /api/v2/routing/sms/availablephonenumbers`` answers ``SmsAvailablePhoneNumberEntityListing``;
``POST /api/v2/routing/sms/phonenumbers`` takes an ``SmsPhoneNumberProvision`` and answers the
``SmsPhoneNumber``; ``GET /api/v2/routing/sms/phonenumbers`` answers the paged
``SmsPhoneNumberEntityListing`` and ``GET …/phonenumbers/{id}`` one ``SmsPhoneNumber``;
``POST /api/v2/conversations/messages/agentless`` takes a ``SendAgentlessOutboundMessageRequest`` and
answers ``SendAgentlessOutboundMessageResponse`` (member names and enum values from the Python SDK
PureCloudPlatformClientV2's models). The numbers are the organisation's own ``NumberBook``: a number
provisioned here can send through ``/api/v2/messaging/sms`` too, and one of the settings is listed here.
Only SMS from US/CA numbers is simulated: ``phoneNumberType`` is ``tollfree``, ``local`` or ``mobile``
(the last two are long codes), and ``toAddressMessengerType`` must be ``sms``.
Our readings, marked [I]: the entity ``id`` is the number's UUID (``…/phonenumbers/{id}`` also accepts
the E.164 number), status is ``PENDING`` until the order delay has passed and ``ACTIVE`` after, and the
agentless send answers 202 with the message ``queued``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fakes.portico.errors import invalid_value, not_found
from fakes.portico.inventory import Search, check_order_number, search
from fakes.portico.messages import E164, SmsRequest
from fakes.portico.numbers import NumberBook, NumberRecord, user
from fakes.portico.settings import NumberKind
from fakes.portico.wire import iso, optional_text, required_text

__all__ = ["PHONE_NUMBERS", "agentless", "available", "number_listing", "one_number", "parse_agentless",
           "parse_provision", "phone_number_json"]

PHONE_NUMBERS = "/api/v2/routing/sms/phonenumbers"
AGENTLESS = "/api/v2/conversations/messages/agentless"
TYPES = {"tollfree": NumberKind.TOLLFREE, "local": NumberKind.LONGCODE, "mobile": NumberKind.LONGCODE}
_TYPE_OF = {NumberKind.TOLLFREE: "tollfree", NumberKind.LONGCODE: "local"}
CAPABILITIES = ["sms"]
DEFAULT_PAGE_SIZE = 25  # the platform's usual page size [I]
MAX_PAGE_SIZE = 100
MAX_AVAILABLE = 30  # "up to 30 random phone numbers" (the SDK's docstring of the route)
_COUNTRIES = ("US", "CA")


def _kind(value: str, name: str) -> NumberKind:
    if value not in TYPES:
        raise invalid_value(name, f"{name} must be one of {', '.join(TYPES)} (got '{value}')")
    return TYPES[value]


def _country(value: str, name: str) -> str:
    if value not in _COUNTRIES:
        raise invalid_value(name, f"{name} must be US or CA (got '{value}')")
    return value


def available(query: Mapping[str, str], seed: int, book: NumberBook) -> dict[str, object]:
    """``SmsAvailablePhoneNumberEntityListing`` for ``countryCode``, ``phoneNumberType``, ``areaCode``.

    Raises:
        ApiError: 400 naming a missing or bad parameter.
    """
    country = _country(query.get("countryCode", ""), "countryCode")
    kind = _kind(query.get("phoneNumberType", ""), "phoneNumberType")
    area = query.get("areaCode", "")
    if area and (kind is NumberKind.TOLLFREE or not (len(area) == 3 and area.isdigit() and area[0] != "0"
                                                         and area[0] != "1")):
        raise invalid_value("areaCode", f"areaCode must be a 3-digit long-code area code (got '{area}')")
    s = Search(kind, MAX_AVAILABLE, area_code=area, country=country)
    entities = []
    for code in search(s, seed, book.taken):
        number = "+" + code
        entities.append({"id": number, "name": number, "phoneNumber": number, "countryCode": country,
                         "capabilities": list(CAPABILITIES), "phoneNumberType": query["phoneNumberType"],
                         "addressRequirement": "none",
                         "selfUri": f"/api/v2/routing/sms/availablephonenumbers/{number}"})
    return {"entities": entities}


@dataclass(frozen=True)
class Provision:
    """A validated ``SmsPhoneNumberProvision``."""

    kind: NumberKind
    code: str
    type_name: str
    country: str
    name: str


def parse_provision(data: object) -> Provision:
    """Validate an ``SmsPhoneNumberProvision``: ``phoneNumber``, ``phoneNumberType``, ``countryCode``.

    Raises:
        ApiError: 400 naming the first bad member.
    """
    if not isinstance(data, dict):
        raise invalid_value("body", "The body must be an SmsPhoneNumberProvision object.")
    type_name = required_text(data, "phoneNumberType")
    kind = _kind(type_name, "phoneNumberType")
    country = _country(required_text(data, "countryCode"), "countryCode")
    code = check_order_number(kind, required_text(data, "phoneNumber"), "phoneNumber")
    return Provision(kind, code, type_name, country, optional_text(data, "name"))


def phone_number_json(r: NumberRecord, now: float) -> dict[str, object]:
    """``SmsPhoneNumber`` of a number of the organisation."""
    number = "+" + r.code
    status = "ACTIVE" if r.active(now) else "PENDING"
    return {"id": r.id, "name": r.details.get("comment") or number, "phoneNumber": number,
            "phoneNumberType": r.details.get("phoneNumberType") or _TYPE_OF[r.kind],
            "provisionedThroughPureCloud": True, "phoneNumberStatus": status,
            "capabilities": list(CAPABILITIES), "countryCode": r.details.get("countryCode") or "US",
            "dateCreated": iso(r.created_at), "dateModified": iso(r.modified_at),
            "createdBy": user(r.owner), "modifiedBy": user(r.owner), "version": 1,
            "purchaseDate": iso(r.created_at), "supportsSms": True, "supportsMms": False,
            "supportsVoice": False, "selfUri": f"{PHONE_NUMBERS}/{r.id}"}


def number_listing(records: list[NumberRecord], query: Mapping[str, str], now: float) -> dict[str, object]:
    """``SmsPhoneNumberEntityListing``, filtered by ``phoneNumber``/``phoneNumberType``/``phoneNumberStatus``
    (each may repeat as comma-separated values) and paged by ``pageSize``/``pageNumber``.

    Raises:
        ApiError: 400 for a bad page parameter.
    """
    size = _positive(query, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = _positive(query, "pageNumber", 1, 1_000_000)
    rows = [phone_number_json(r, now) for r in records]
    for name in ("phoneNumber", "phoneNumberType", "phoneNumberStatus"):
        wanted = {v for v in query.get(name, "").split(",") if v}
        if wanted:
            rows = [row for row in rows if row[name] in wanted]
    count = max(1, -(-len(rows) // size))
    base = f"{PHONE_NUMBERS}?pageSize={size}"
    body: dict[str, object] = {"entities": rows[(page - 1) * size:page * size], "pageSize": size,
                               "pageNumber": page, "total": len(rows), "firstUri": f"{base}&pageNumber=1",
                               "lastUri": f"{base}&pageNumber={count}",
                               "selfUri": f"{base}&pageNumber={page}", "pageCount": count}
    if page < count:
        body["nextUri"] = f"{base}&pageNumber={page + 1}"
    if page > 1:
        body["previousUri"] = f"{base}&pageNumber={page - 1}"
    return body


def _positive(query: Mapping[str, str], name: str, default: int, limit: int) -> int:
    raw = query.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise invalid_value(name, f"{name} must be 1 to {limit} (got '{raw}')")
    return int(raw)


def one_number(records: list[NumberRecord], number_id: str) -> NumberRecord:
    """The number with this id (or E.164 number).

    Raises:
        ApiError: 404 ``not.found``.
    """
    for r in records:
        if number_id in (r.id, "+" + r.code):
            return r
    raise not_found(f"Phone number {number_id} was not found.", number_id)


def parse_agentless(data: object) -> SmsRequest:
    """Validate a ``SendAgentlessOutboundMessageRequest`` for SMS: ``fromAddress``, ``toAddress``,
    ``toAddressMessengerType: sms`` and ``textBody`` (templates are not simulated).

    Raises:
        ApiError: 400 naming the first bad member.
    """
    if not isinstance(data, dict):
        raise invalid_value("body", "The body must be a SendAgentlessOutboundMessageRequest object.")
    sender = required_text(data, "fromAddress")
    if E164.fullmatch(sender) is None:
        raise invalid_value("fromAddress", f"fromAddress must be an E.164 number of this organization "
                                           f"(got '{sender}')")
    destination = required_text(data, "toAddress")
    if E164.fullmatch(destination) is None:
        raise invalid_value("toAddress", f"toAddress must be an E.164 number (got '{destination}')")
    messenger = required_text(data, "toAddressMessengerType")
    if messenger != "sms":
        raise invalid_value("toAddressMessengerType", f"toAddressMessengerType must be sms; this fake "
                                                      f"simulates SMS only (got '{messenger}')")
    if data.get("messagingTemplate") is not None:
        raise invalid_value("messagingTemplate", "messagingTemplate is not simulated; send textBody")
    return SmsRequest(sender[1:], destination, required_text(data, "textBody"))


def agentless(message_id: str, conversation_id: str, sms: SmsRequest, *, owner: str, now: float,
              reuse: bool) -> dict[str, object]:
    """``SendAgentlessOutboundMessageResponse`` with its ``MessageData``."""
    sender = "+" + sms.sender
    message = {"id": message_id, "timestamp": iso(now), "fromAddress": sender, "toAddress": sms.destination,
               "direction": "outbound", "messengerType": "sms", "status": "queued",
               "conversationId": conversation_id,
               "selfUri": f"/api/v2/conversations/messages/{conversation_id}/messages/{message_id}"}
    owner_ref = user(owner)
    return {"id": message_id, "conversationId": conversation_id, "fromAddress": sender,
            "toAddress": sms.destination, "messengerType": "sms", "useExistingActiveConversation": reuse,
            "message": message, "timestamp": iso(now),
            "user": {"id": owner_ref["id"], "selfUri": owner_ref["selfUri"]},
            "selfUri": f"{AGENTLESS}/{message_id}"}
