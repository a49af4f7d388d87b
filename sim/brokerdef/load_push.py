"""Reading the ``mo`` and ``dr`` sections: the pushes a broker makes to the CIC node."""

from __future__ import annotations

from collections.abc import Collection

from sim.brokerdef.definition import DrSpec, Method, Placement, Push, StatusEntry
from sim.brokerdef.load_util import check_body_method, read_path, templates
from sim.brokerdef.template import DR_FIELDS, MO_FIELDS
from sim.core.schema import Reader
from sim.core.types import DeliveryState

__all__ = ["read_dr", "read_mo"]


def _read_push(r: Reader, vocabulary: Collection[str], default_path: str) -> Push:
    method = r.choice("method", Method, Method.POST)
    placement = r.choice("placement", Placement, Placement.FORM)
    if placement is Placement.XML:
        r.problem("placement", "xml", "must be query, form or json for a push")
    check_body_method(r, method, placement)
    path = read_path(r, "path", default_path)
    fields = templates(r, "fields", vocabulary)
    return Push(method, path, placement, fields)


def _require(r: Reader, push: Push, needed: Collection[str], what: str) -> None:
    present = {n for _, t in push.fields for n in t.fields}
    missing = [n for n in needed if n not in present]
    if missing:
        braces = ", ".join("{" + n + "}" for n in missing)
        r.problem("fields", sorted(present), f"must place {braces}: a node cannot read {what} without it")


def read_mo(r: Reader) -> Push:
    """Read and check the ``mo`` section.

    The default path is ``/receivesms.php``, the EzTexting incoming path of the SMS Technical Reference
    ("Reverse Proxy - URL Rewrite"); any broker's incoming path is a setting of the CIC node, so this is
    only a default.
    """
    push = _read_push(r, MO_FIELDS, "/receivesms.php")
    _require(r, push, ("from", "text"), "an MO")
    r.done()
    return push


def read_dr(r: Reader) -> DrSpec:
    """Read and check the ``dr`` section, with its status vocabulary."""
    # The Delivery Receipt URL is a CIC setting (the MO tab's); this default path is only a default.
    push = _read_push(r, DR_FIELDS, "/smsdr")
    _require(r, push, ("message_id",), "a DR")
    present = {n for _, t in push.fields for n in t.fields}
    if not present & {"status", "status_code"}:
        r.problem("fields", sorted(present), "must place {status} or {status_code}")
    states = tuple(_read_state(s) for s in r.children("states"))
    if not states:
        r.problem("states", r.raw("states", None), "must list at least one status")
    _check_states(r, states)
    r.done()
    return DrSpec(push, states)


def _read_state(r: Reader) -> StatusEntry:
    entry = StatusEntry(r.text("status", ""), r.text("code", ""),
                        r.choice("state", DeliveryState))
    if not entry.status and not entry.code:
        r.problem("status", "", "a status entry needs a status or a code")
    r.done()
    return entry


def _check_states(r: Reader, states: tuple[StatusEntry, ...]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(states):
        key = (entry.status, entry.code)
        if key in seen:
            r.problem(f"states[{i}]", f"{entry.status}/{entry.code}", f"repeats states[{seen[key]}]")
        seen.setdefault(key, i)
