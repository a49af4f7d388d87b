"""Paging through a node's interactions (issue 20): the query, the cursor and the page.

``GET /_smslab/interactions`` used to answer every interaction at once (13 s and 20 MB at 48,000, the
event loop stalled meanwhile); it answers one page now, first created first, with a ``next`` cursor for
the page after it (``null`` on the last page).

Theory of operation. A node's store gives each interaction a ``seq`` when it is first written, from a
counter that only goes up (an update keeps the row's ``seq``), so an interaction created while a client
pages through comes after every ``seq`` already handed out and is neither skipped nor repeated; the store
keeps every record, so an interaction the core has let go of (ended, ``SmsCore.forget``) is listed still.
A cursor is the position of the last item of a page: the store it came from (``Store.listing``), that
item's ``seq`` and its ``(created_at, id)``. On the store that gave it, the next page starts after the
``seq``. Another store's numbers mean nothing here (the other node after a switchover), so there the next
page starts after ``(created_at, id)``, the order a recovering node writes what it takes over in.

The query is parsed up front (``parse_query``) into a frozen ``PageQuery``; each refusal is an
``InputError`` (400) naming the parameter, the value and the reason. A page is one indexed SQL query of
at most ``limit + 1`` rows (``select``), so it costs the same at 50,000 interactions as at 100.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sim.core.errors import InputError
from sim.core.interactions import Interaction, InteractionState

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PARAMETERS",
    "STATES",
    "Page",
    "PageQuery",
    "PagedStore",
    "Position",
    "decode_cursor",
    "encode_cursor",
    "parse_query",
    "select",
    "whole",
]

DEFAULT_LIMIT = 100  # issue 20: about 40 KB and a few milliseconds of the event loop per page
MAX_LIMIT = 1000
PARAMETERS = ("limit", "cursor", "customer", "state", "since")
STATES = tuple(s.value for s in InteractionState)
_SHOWN = 60  # characters of a refused value quoted in the error

@dataclass(frozen=True)
class Position:
    """Where a page ended: the store's listing name, the last item's ``seq``, ``created_at`` and ``id``."""

    listing: str
    index: int
    created_at: float
    id: str


@dataclass(frozen=True)
class PageQuery:
    """A checked ``GET /_smslab/interactions`` query.

    Attributes:
        limit: at most this many interactions on the page.
        after: the page starts after this position (``None``: from the oldest).
        customer: only the interactions of this customer number (exact).
        state: only the interactions in this state.
        since: only the interactions updated at or after this time (seconds, the node's clock).
    """

    limit: int = DEFAULT_LIMIT
    after: Position | None = None
    customer: str | None = None
    state: InteractionState | None = None
    since: float | None = None

    def matches(self, interaction: Interaction) -> bool:
        """Whether ``interaction`` passes the filters (the position aside)."""
        return ((self.customer is None or interaction.customer == self.customer)
                and (self.state is None or interaction.state is self.state)
                and (self.since is None or interaction.updated_at >= self.since))


@dataclass(frozen=True)
class Page:
    """One page: its records, first created first, and the cursor of the page after (``None``: the last)."""

    items: tuple[dict[str, Any], ...]
    next: str | None


class PagedStore(Protocol):
    """What ``select`` reads a page from (``sim.cic.store.Store``)."""

    listing: str

    def page(self, *, after_seq: int = 0, after_mark: tuple[float, str] | None = None,
             customer: str | None = None, state: str | None = None, since: float | None = None,
             limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Up to ``limit`` ``(seq, record)`` in seq order, after the position, through the filters."""
        ...


def _shown(value: str) -> str:
    return repr(value) if len(value) <= _SHOWN else f"{value[:_SHOWN]!r}..."


def _refuse(name: str, reason: str, value: str) -> InputError:
    return InputError(f"'{name}' must be {reason} (got {_shown(value)})")


def encode_cursor(position: Position) -> str:
    """The opaque ``next`` string for ``position`` (URL-safe base64 of a JSON list, unpadded)."""
    data = json.dumps([position.listing, position.index, position.created_at, position.id],
                      separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(data.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> Position:
    """The position a cursor from ``encode_cursor`` holds.

    Raises:
        InputError: 400, ``text`` is not such a cursor.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        listing, index, created_at, item_id = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        raise _refuse("cursor", "the 'next' of an earlier answer", text) from None
    number_types = (int, float)
    if not (isinstance(listing, str) and isinstance(item_id, str) and type(index) is int and index > 0
            and isinstance(created_at, number_types) and not isinstance(created_at, bool)
            and math.isfinite(created_at)):
        raise _refuse("cursor", "the 'next' of an earlier answer", text)
    return Position(listing, index, float(created_at), item_id)


def whole(value: str, name: str, low: int, high: int) -> int:
    """A whole-number query parameter within ``low``..``high``.

    Raises:
        InputError: 400 naming the parameter, the value and the range.
    """
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise _refuse(name, f"an integer from {low} to {high}", value)
    return int(value)


def _limit(value: str) -> int:
    return whole(value, "limit", 1, MAX_LIMIT)


def _state(value: str) -> InteractionState:
    if value not in STATES:
        raise _refuse("state", f"one of {', '.join(STATES)}", value)
    return InteractionState(value)


def _since(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise _refuse("since", "a number of seconds", value)
    return seconds


def _customer(value: str) -> str:
    if not value:
        raise _refuse("customer", "a non-empty customer number", value)
    return value


def parse_query(pairs: Iterable[tuple[str, str]]) -> PageQuery:
    """Check a query's (name, value) pairs, as decoded from the URL, into a ``PageQuery``.

    Raises:
        InputError: 400, for an unknown or repeated parameter or a bad value.
    """
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    unknown = sorted(set(given) - set(PARAMETERS))
    if unknown:
        raise InputError(f"unknown query parameter(s) {', '.join(unknown)}; allowed: {', '.join(PARAMETERS)}")
    for name, values in given.items():
        if len(values) > 1:
            raise InputError(f"'{name}' must be given once (got {', '.join(_shown(v) for v in values)})")
    value_of = {name: values[0] for name, values in given.items()}
    return PageQuery(
        limit=_limit(value_of["limit"]) if "limit" in value_of else DEFAULT_LIMIT,
        after=decode_cursor(value_of["cursor"]) if "cursor" in value_of else None,
        customer=_customer(value_of["customer"]) if "customer" in value_of else None,
        state=_state(value_of["state"]) if "state" in value_of else None,
        since=_since(value_of["since"]) if "since" in value_of else None)


def select(store: PagedStore, query: PageQuery) -> Page:
    """The page ``query`` asks for, read from ``store`` (one query of at most ``limit + 1`` rows)."""
    after = query.after
    seq, mark = 0, None
    if after is not None and after.listing == store.listing:
        seq = after.index
    elif after is not None:
        mark = (after.created_at, after.id)
    rows = store.page(after_seq=seq, after_mark=mark, customer=query.customer,
                      state=None if query.state is None else query.state.value, since=query.since,
                      limit=query.limit + 1)  # one more than the page: whether there is a page after it
    items = tuple(record for _, record in rows[:query.limit])
    if len(rows) <= query.limit:
        return Page(items, None)
    last_seq, last = rows[query.limit - 1]
    created = float(last.get("created_at", last["updated_at"]))
    return Page(items, encode_cursor(Position(store.listing, last_seq, created, str(last["id"]))))
