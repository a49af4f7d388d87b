"""The organisation's numbers and provisioning orders (the SDK 179.0.0's), on an injected clock.

Theory of operation: an order (or port-in) is validated whole, then each of its numbers is recorded at
once as *pending* and turns *active* when the order completes, ``orders.completion_delay`` seconds later
on the clock. Status is computed from ``now`` on every read, so nothing needs a timer. PATCH changes the
webhook details of a number (it can reassign, not deprovision); DELETE removes it. Enum values are not
in the SDK (GAP), so every one comes from the settings' ``enums``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fakes.portico.errors import invalid_value, not_found
from fakes.portico.inventory import check_order_number
from fakes.portico.settings import NumberKind, PorticoSettings
from fakes.portico.wire import iso, optional_text, url_field

__all__ = ["KEY_FIELD", "PATH_SEGMENT", "NumberBook", "NumberRecord", "Order"]

# The SDK's Longcode* models mirror the Tollfree* ones with `longcode` in place of `tollfreeNumber`.
KEY_FIELD = {NumberKind.TOLLFREE: "tollfreeNumber", NumberKind.LONGCODE: "longcode"}
LIST_FIELD = {NumberKind.TOLLFREE: "tollfreeNumbers", NumberKind.LONGCODE: "longcodes"}
PATH_SEGMENT = {NumberKind.TOLLFREE: "tollfreenumbers", NumberKind.LONGCODE: "longcodes"}
BASE = "/api/v2/messaging/sms/provisioning"
DETAILS = ("comment", "moUrl", "drUrl", "webhookUsername", "webhookPassword", "emailAddress")
URLS = ("moUrl", "drUrl")


def user(name: str) -> dict[str, str]:
    """The ``User`` reference of ``owner``/``createdBy``: the OAuth client, by a stable UUID ([I])."""
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"smslab:portico:{name}"))
    return {"id": user_id, "name": name, "selfUri": f"/api/v2/users/{user_id}"}


@dataclass
class NumberRecord:
    """One provisioned number; ``details`` holds the members of ``TollfreeNumberRequest``."""

    id: str
    kind: NumberKind
    code: str
    owner: str
    created_at: float
    active_at: float
    details: dict[str, str] = field(default_factory=dict)
    modified_at: float = 0.0

    def active(self, now: float) -> bool:
        """Whether its order has completed."""
        return now >= self.active_at


@dataclass(frozen=True)
class Order:
    """A provisioning order or port-in; complete from ``complete_at`` on."""

    id: str
    kind: NumberKind
    portin: bool
    numbers: tuple[str, ...]
    owner: str
    complete_at: float


def _details(element: Mapping[str, object], path: str) -> dict[str, str]:
    details = {name: optional_text(element, name, path) for name in DETAILS}
    for name in URLS:
        details[name] = url_field(element, name, path)
    return details


class NumberBook:
    """The numbers and orders of the fake organisation.

    Args:
        settings: numbers provisioned from the start, the order delay and the enum values.
        new_id: the source of entity ids (a seeded UUID generator).
        started: the clock at start, the creation (and modification) time of the settings' numbers.
    """

    def __init__(self, settings: PorticoSettings, new_id: Callable[[], str], started: float = 0.0) -> None:
        self._settings = settings
        self._new_id = new_id
        self._numbers: dict[str, NumberRecord] = {}
        self._orders: dict[str, Order] = {}
        first = settings.clients[0].client_id if settings.clients else ""
        for n in settings.numbers:
            details = {"comment": n.comment, "moUrl": n.mo_url, "drUrl": n.dr_url,
                       "webhookUsername": n.webhook_username, "webhookPassword": n.webhook_password,
                       "emailAddress": n.email_address}
            self._numbers[n.number] = NumberRecord(new_id(), n.kind, n.number, first, started, started,
                                                     details, started)

    def taken(self, code: str) -> bool:
        """Whether a number is provisioned here (pending or active)."""
        return code in self._numbers

    def active(self, code: str, now: float) -> NumberRecord | None:
        """The number if it is provisioned and its order complete."""
        record = self._numbers.get(code)
        return record if record is not None and record.active(now) else None

    def find(self, kind: NumberKind, code: str) -> NumberRecord:
        """The number of this kind with this code.

        Raises:
            ApiError: 404 ``not.found``.
        """
        record = self._numbers.get(code.lstrip("+"))
        if record is None or record.kind is not kind:
            raise not_found(f"Number {code} is not provisioned in this organization.", code)
        return record

    def listing(self, kind: NumberKind, now: float) -> dict[str, object]:
        """``TollfreeNumberListResult``: every number of the kind, never with its password."""
        return {"entities": [self.number_json(r, now) for r in self._numbers.values() if r.kind is kind]}

    def number_json(self, r: NumberRecord, now: float) -> dict[str, object]:
        """``TollfreeNumber`` (or ``Longcode``); ``webhookPassword`` is left out on purpose."""
        e = self._settings.enums
        body: dict[str, object] = {"id": r.id, "name": r.code, "owner": user(r.owner),
                                   "createdBy": user(r.owner),
                                   "status": e["number_active"] if r.active(now) else e["number_pending"],
                                   "dateCreated": iso(r.created_at), "dateModified": iso(r.modified_at)}
        body.update({k: v for k, v in r.details.items() if v and k != "webhookPassword"})
        body[KEY_FIELD[r.kind]] = r.code
        body["selfUri"] = f"{BASE}/{PATH_SEGMENT[r.kind]}/{r.code}"
        return body

    def order(self, kind: NumberKind, elements: object, owner: str, now: float,
              *, portin: bool = False) -> Order:
        """Validate a whole order (``TollfreeNumberRequest[]`` or the port-in variant) and place it.

        Raises:
            ApiError: 400 ``invalid.value`` naming the first bad element member; nothing is recorded.
        """
        if not isinstance(elements, list) or not elements:
            raise invalid_value("body", "The body must be a non-empty array of number requests.")
        parsed: list[tuple[str, dict[str, str]]] = []
        for i, element in enumerate(elements):
            path = f"[{i}]."
            if not isinstance(element, dict):
                raise invalid_value(f"[{i}]", f"[{i}] must be an object")
            code = check_order_number(kind, element.get(KEY_FIELD[kind]), path + KEY_FIELD[kind])
            if self.taken(code) or code in (c for c, _ in parsed):
                raise invalid_value(path + KEY_FIELD[kind], f"Number {code} is not available.")
            details = _details(element, path)
            if portin:
                url_field(element, "loaFileUrl", path, required=True)  # required on port-in
            parsed.append((code, details))
        return self._place(kind, parsed, owner, now, portin)

    def _place(self, kind: NumberKind, parsed: list[tuple[str, dict[str, str]]], owner: str,
               now: float, portin: bool) -> Order:
        done = now + self._settings.order_delay
        order = Order(self._new_id(), kind, portin, tuple(c for c, _ in parsed), owner, done)
        self._orders[order.id] = order
        for code, details in parsed:
            self._numbers[code] = NumberRecord(self._new_id(), kind, code, owner, now, done, details, now)
        return order

    def provision(self, kind: NumberKind, code: str, details: dict[str, str], owner: str,
                  now: float) -> NumberRecord:
        """Place a one-number order (the public routing API's provisioning); the number's record.

        Raises:
            ApiError: 400 ``invalid.value`` when the number is already provisioned here.
        """
        if self.taken(code):
            raise invalid_value("phoneNumber", f"Number +{code} is not available.")
        self._place(kind, [(code, details)], owner, now, False)
        return self._numbers[code]

    def records(self) -> list[NumberRecord]:
        """Every provisioned number, in provisioning order."""
        return list(self._numbers.values())

    def get_order(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            ApiError: 404 ``not.found``.
        """
        if order_id not in self._orders:
            raise not_found(f"Order {order_id} was not found.", order_id)
        return self._orders[order_id]

    def order_json(self, order: Order, now: float, *, placed: bool) -> dict[str, object]:
        """``TollfreeNumberOrder`` when just ``placed``, else ``ProvisioningOrder`` (no list field)."""
        e = self._settings.enums
        body: dict[str, object] = {
            "id": order.id, "name": order.id,
            "orderType": e["order_type_portin"] if order.portin else e["order_type_order"],
            "numberType": e[f"number_type_{order.kind.value}"],
            "owner": user(order.owner), "createdBy": user(order.owner),
            "orderStatus": e["order_complete"] if now >= order.complete_at else e["order_pending"],
            "numbers": list(order.numbers),
        }
        if placed:
            body[LIST_FIELD[order.kind]] = list(order.numbers)
        body["selfUri"] = f"{BASE}/orders/{order.id}"
        return body

    def patch(self, kind: NumberKind, code: str, changes: object, now: float) -> NumberRecord:
        """Apply new details to a number (PATCH can reassign, cannot deprovision).

        Raises:
            ApiError: 404 for an unknown number; 400 for a bad member, another number in the body, or
                an attempt to change ``status``.
        """
        record = self.find(kind, code)
        if not isinstance(changes, dict):
            raise invalid_value("body", "The body must be an object of number details.")
        named = changes.get(KEY_FIELD[kind])
        if named is not None and check_order_number(kind, named, KEY_FIELD[kind]) != record.code:
            raise invalid_value(KEY_FIELD[kind], "The number in the body must match the path.")
        if "status" in changes:
            raise invalid_value("status", "A number cannot be deprovisioned with PATCH; use DELETE.")
        new = _details(changes, "")
        record.details.update({k: new[k] for k in DETAILS if k in changes})
        record.modified_at = now
        return record

    def delete(self, kind: NumberKind, code: str) -> None:
        """Deprovision a number.

        Raises:
            ApiError: 404 ``not.found``.
        """
        del self._numbers[self.find(kind, code).code]
