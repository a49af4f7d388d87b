"""The Portico fake's settings: read once with ``Reader``, frozen, every GAP of the service a named field.

Example (the ``fakes.portico`` mapping of a lab file; only ``clients`` is required)::

    clients:
      - {id: nexus, secret: s3cret}          # permissions: all five unless listed
    numbers:                                 # provisioned and active from the start
      - {number: "18445551212", mo_url: "https://nexus.test/nexus/v3/sms/message",
         dr_url: "https://nexus.test/nexus/v3/sms/receipt", webhook_username: ccid,
         webhook_password: gma-key}
    token: {expires_in: 86399, invalid_client_status: 401}
    rate_limit: {requests: 300, window: 60, message: retry_in}
    sms: {max_length: 1600, max_bulk: 100, receipts: requested}
    webhooks: {mo_fields: {sender: from}, dr_status: {delivered: DELIVRD}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sim.core.schema import Reader, unique
from sim.core.types import DeliveryState

__all__ = [
    "ALL_PERMISSIONS",
    "Client",
    "NumberKind",
    "NumberSetting",
    "PorticoSettings",
    "RateMessage",
    "Receipts",
    "parse_settings",
    "read_portico",
]

# The permission each endpoint needs (Genesys Cloud JavaScript SDK 179.0.0, withdrawn).
SEND = "messaging:sms:send"
VIEW = "messagingProvisioning:phoneNumber:view"
ADD = "messagingProvisioning:phoneNumber:add"
EDIT = "messagingProvisioning:phoneNumber:edit"
DELETE = "messagingProvisioning:phoneNumber:delete"
ALL_PERMISSIONS = frozenset({SEND, VIEW, ADD, EDIT, DELETE})

# Toll-free codes are North American (NANP toll-free prefixes).
TOLLFREE_PREFIXES = ("800", "833", "844", "855", "866", "877", "888")
# Long codes: the SDK says US/CA only; a few real geographic area codes of each.
AREA_CODES = {"US": ("206", "212", "303", "312", "415", "617", "713"), "CA": ("416", "514", "604")}

# Defaults of the GAP enums (the SDK does not give their values): our own choice, each a setting.
DEFAULT_ENUMS = {
    "order_type_order": "Order", "order_type_portin": "PortIn",
    "number_type_tollfree": "TollFree", "number_type_longcode": "LongCode",
    "order_pending": "Pending", "order_complete": "Complete",
    "number_pending": "Pending", "number_active": "Active",
}
# Webhook payloads are not public (GAP): default names follow SmsMessageRequest.
MO_FIELDS = ("messageId", "sender", "destination", "message", "timestamp")
DR_FIELDS = ("messageId", "status", "sender", "destination", "timestamp", "correlationInfo")
DR_STATUS = {s.value: s.value.upper() for s in DeliveryState}


class NumberKind(Enum):
    """The two number families the fake provisions."""

    TOLLFREE = "tollfree"
    LONGCODE = "longcode"


class RateMessage(Enum):
    """The two known 429 texts; ``retry_in`` (the swagger text) is the default."""

    RETRY_IN = "retry_in"
    WITHIN = "within"


class Receipts(Enum):
    """When a DR goes to ``drUrl``: only for ``requestReceipt: true`` (the field's name suggests it, [I])."""

    REQUESTED = "requested"
    ALWAYS = "always"


@dataclass(frozen=True)
class Client:
    """An OAuth client: id, secret, the permissions it holds and the grants it may use."""

    client_id: str
    secret: str
    permissions: frozenset[str] = ALL_PERMISSIONS
    grant_types: frozenset[str] = frozenset({"client_credentials"})


@dataclass(frozen=True)
class NumberSetting:
    """A number provisioned before the fake starts, with its webhooks (``TollfreeNumberRequest``)."""

    number: str
    kind: NumberKind = NumberKind.TOLLFREE
    mo_url: str = ""
    dr_url: str = ""
    webhook_username: str = ""
    webhook_password: str = ""
    comment: str = ""
    email_address: str = ""


@dataclass(frozen=True)
class PorticoSettings:
    """Everything the Portico model needs, validated."""

    clients: tuple[Client, ...]
    numbers: tuple[NumberSetting, ...] = ()
    token_lifetime: int = 86399  # [S] the expires_in of a GCCX-Utils sample
    invalid_client_status: int = 401  # reports: 400 or 401; RFC 6749 §5.2 says 401 for Basic
    rate_requests: int = 300  # [S] community.genesys.com: 300 per minute per token
    rate_window: int = 60
    rate_message: RateMessage = RateMessage.RETRY_IN
    order_delay: float = 2.0  # GAP: how long an order stays pending
    max_length: int = 1600  # GAP: the longest message body accepted, in code points
    max_bulk: int = 100  # GAP: the most elements in one bulk request
    receipts: Receipts = Receipts.REQUESTED
    bulk_ok_message: str = "OK"  # GAP: statusMessage of an accepted bulk element
    enums: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ENUMS))
    mo_fields: Mapping[str, str] = field(default_factory=lambda: {f: f for f in MO_FIELDS})
    dr_fields: Mapping[str, str] = field(default_factory=lambda: {f: f for f in DR_FIELDS})
    dr_status: Mapping[str, str] = field(default_factory=lambda: dict(DR_STATUS))

    def client(self, client_id: str) -> Client | None:
        """The client with this id, if any."""
        return next((c for c in self.clients if c.client_id == client_id), None)


def _client(r: Reader) -> Client:
    perms = r.strings("permissions", sorted(ALL_PERMISSIONS))
    for p in perms:
        if p not in ALL_PERMISSIONS:
            r.problem("permissions", p, f"must be one of {', '.join(sorted(ALL_PERMISSIONS))}")
    client = Client(r.text("id", allow_empty=False), r.text("secret", allow_empty=False),
                    frozenset(perms), frozenset(r.strings("grant_types", ["client_credentials"])))
    r.done()
    return client


def _number(r: Reader) -> NumberSetting:
    number = NumberSetting(
        r.text("number", pattern=r"1\d{10}"), r.choice("kind", NumberKind, NumberKind.TOLLFREE),
        r.text("mo_url", ""), r.text("dr_url", ""), r.text("webhook_username", ""),
        r.text("webhook_password", ""), r.text("comment", ""), r.text("email_address", ""))
    malformed = re.fullmatch(r"1\d{10}", number.number) is None  # already reported by ``text``
    if number.kind is NumberKind.TOLLFREE and not malformed and number.number[1:4] not in TOLLFREE_PREFIXES:
        r.problem("number", number.number, f"must start 1 then one of {', '.join(TOLLFREE_PREFIXES)}")
    r.done()
    return number


def _renames(r: Reader, key: str, defaults: Mapping[str, str]) -> dict[str, str]:
    """Defaults overlaid with the setting; only known keys may be renamed; an empty name drops it."""
    given = r.mapping(key, {})
    for name in given:
        if name not in defaults:
            r.problem(f"{key}.{name}", given[name], f"must be one of {', '.join(defaults)}")
    return {**defaults, **{k: v for k, v in given.items() if k in defaults}}


def read_portico(r: Reader) -> PorticoSettings:
    """Read the Portico keys from ``r`` (the fake's whole mapping); problems are recorded on ``r``.

    The shared keys (``seed``, ``client_max_size``, ``dlr``, ``faults`` ...) are read by
    ``fakes.common.settings.read_common`` from the same reader; the caller then calls ``r.done()``.
    """
    clients = r.children("clients")
    if not clients:
        r.problem("clients", r.data.get("clients"), "must list at least one OAuth client")
    token, rate, sms, hooks = r.child("token"), r.child("rate_limit"), r.child("sms"), r.child("webhooks")
    orders = r.child("orders")
    settings = PorticoSettings(
        clients=tuple(_client(c) for c in clients),
        numbers=tuple(_number(n) for n in r.children("numbers")),
        token_lifetime=token.integer("expires_in", 86399, minimum=1),
        invalid_client_status=token.integer("invalid_client_status", 401, minimum=400, maximum=401),
        rate_requests=rate.integer("requests", 300, minimum=1),
        rate_window=rate.integer("window", 60, minimum=1),
        rate_message=rate.choice("message", RateMessage, RateMessage.RETRY_IN),
        order_delay=orders.number("completion_delay", 2.0, minimum=0),
        max_length=sms.integer("max_length", 1600, minimum=1),
        max_bulk=sms.integer("max_bulk", 100, minimum=1),
        receipts=sms.choice("receipts", Receipts, Receipts.REQUESTED),
        bulk_ok_message=sms.text("bulk_ok_message", "OK"),
        enums=_renames(r, "enums", DEFAULT_ENUMS),
        mo_fields=_renames(hooks, "mo_fields", {f: f for f in MO_FIELDS}),
        dr_fields=_renames(hooks, "dr_fields", {f: f for f in DR_FIELDS}),
        dr_status=_renames(hooks, "dr_status", DR_STATUS),
    )
    for section in (token, rate, sms, hooks, orders):
        section.done()
    unique(r.problems, [(f"{r.at('clients')}[{i}].id", c.client_id) for i, c in enumerate(settings.clients)],
           "clients")
    unique(r.problems, [(f"{r.at('numbers')}[{i}].number", n.number) for i, n in enumerate(settings.numbers)],
           "numbers")
    return settings


def parse_settings(data: Mapping[str, Any], path: str, *ignored: str) -> PorticoSettings:
    """Read and validate only the Portico keys of a mapping, reporting every problem at once.

    Args:
        data: the settings mapping.
        path: where it sits in the lab file (e.g. ``fakes.portico``), prefixed to each problem's path.
        ignored: other keys of the mapping, not reported as unknown.

    Raises:
        ConfigError: listing every problem with its path, value and reason.
    """
    r = Reader(data, path)
    settings = read_portico(r)
    r.done(*ignored)
    r.raise_if_problems()
    return settings
