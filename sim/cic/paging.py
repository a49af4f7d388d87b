"""Paging through a node's interactions (issue 20): the query, the cursor and the page, sans-IO.

``GET /_smslab/interactions`` used to answer every interaction at once (13 s and 20 MB at 48,000, the
event loop stalled meanwhile); it answers one page now, oldest first, with a ``next`` cursor for the page
after it (``null`` on the last page).

Theory of operation. A node lists its interactions in creation order: ``CreationOrder`` gives each one an
index the first time the node lists it, from a counter that only goes up, so an interaction created while
a client pages through comes after every index already handed out and is neither skipped nor repeated. A
cursor is the position of the last item of a page: the listing it came from (``CreationOrder.listing``),
that item's index and its ``(created_at, id)``. On the listing that gave it, the next page starts after
the index. Another listing's indexes mean nothing here (the other node after a switchover, or this node
restarted), so there the next page starts after ``(created_at, id)``, the core's own oldest-first order,
which the mirror carries from node to node.

The query is parsed up front (``parse_query``) into a frozen ``PageQuery``; each refusal is an
``InputError`` (400) naming the parameter, the value and the reason.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sim.core.errors import InputError
from sim.core.interactions import Interaction, InteractionState

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PARAMETERS",
    "STATES",
    "CreationOrder",
    "Listing",
    "Page",
    "PageQuery",
    "Position",
    "decode_cursor",
    "encode_cursor",
    "parse_query",
    "select",
]

DEFAULT_LIMIT = 100  # issue 20: about 40 KB and a few milliseconds of the event loop per page
MAX_LIMIT = 1000
PARAMETERS = ("limit", "cursor", "customer", "state", "since")
STATES = tuple(s.value for s in InteractionState)
_SHOWN = 60  # characters of a refused value quoted in the error

@dataclass(frozen=True)
class Position:
    """Where a page ended: the listing, the last item's creation index, its ``created_at`` and ``id``."""

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
class Listing:
    """A node's interactions in creation order, and each one's index (two lists of one length).

    Attributes:
        name: the listing's name, written into the cursors of its pages (``CreationOrder.listing``).
        indexes: the creation indexes, ascending.
        interactions: the interactions, in the same order.
    """

    name: str
    indexes: Sequence[int]
    interactions: Sequence[Interaction]


@dataclass(frozen=True)
class Page:
    """One page: its interactions, oldest first, and the cursor of the page after (``None``: the last)."""

    items: tuple[Interaction, ...]
    next: str | None


class CreationOrder:
    """The creation indexes of one node's interactions (see the module docstring).

    Args:
        listing: names this node's listing in its cursors; it differs between nodes and between runs.
    """

    def __init__(self, listing: str) -> None:
        self.listing = listing
        self._counter = itertools.count(1)
        self._index: dict[str, int] = {}

    def listed(self, interactions: Iterable[Interaction]) -> Listing:
        """``interactions`` (as the core lists them) in index order, with their indexes.

        An interaction listed for the first time gets the next index; those no longer given are forgotten,
        so the table is never larger than the core. No object is made per interaction (two lists of
        references and small ints), so a listing of 50,000 costs the garbage collector next to nothing.
        """
        items = list(interactions)
        index, counter = self._index, self._counter
        numbers: list[int] = []
        for interaction in items:
            number = index.get(interaction.id)
            if number is None:
                number = index[interaction.id] = next(counter)
            numbers.append(number)
        if len(index) > len(items):  # some are gone (a reset, a recovery): forget them
            self._index = dict(zip((i.id for i in items), numbers, strict=True))
        if not all(map(operator.lt, numbers, itertools.islice(numbers, 1, None))):
            ranks = sorted(range(len(items)), key=numbers.__getitem__)  # newcomers the core put earlier
            numbers, items = [numbers[r] for r in ranks], [items[r] for r in ranks]
        return Listing(self.listing, numbers, items)


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


def _limit(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise _refuse("limit", f"an integer from 1 to {MAX_LIMIT}", value)
    return int(value)


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


def _after(listing: Listing, position: Position | None) -> Iterator[int]:
    """The ranks in ``listing`` of the interactions after ``position``, in order."""
    if position is None:
        return iter(range(len(listing.interactions)))
    if position.listing == listing.name:
        return iter(range(bisect.bisect_right(listing.indexes, position.index), len(listing.interactions)))
    mark, items = (position.created_at, position.id), listing.interactions
    return (r for r in range(len(items)) if (items[r].created_at, items[r].id) > mark)


def select(listing: Listing, query: PageQuery) -> Page:
    """The page ``query`` asks for out of ``listing`` (as ``CreationOrder.listed`` gives it)."""
    items = listing.interactions
    chosen: list[int] = []
    for rank in _after(listing, query.after):
        if query.matches(items[rank]):
            chosen.append(rank)
            if len(chosen) > query.limit:  # one more than the page: there is a page after it
                break
    page = tuple(items[r] for r in chosen[:query.limit])
    if len(chosen) <= query.limit:
        return Page(page, None)
    last = chosen[query.limit - 1]
    position = Position(listing.name, listing.indexes[last], items[last].created_at, items[last].id)
    return Page(page, encode_cursor(position))
