"""Tests of sim.cic.paging: the query, the cursor, and pages read from a real (in-memory) node store."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import CUSTOMERS, interaction_lists

from sim.cic.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PageQuery,
    Position,
    decode_cursor,
    encode_cursor,
    parse_query,
    select,
)
from sim.cic.store import Store
from sim.core.errors import InputError
from sim.core.interactions import Interaction, InteractionState
from sim.core.routing import Destination, DestinationKind

queries = st.builds(PageQuery, limit=st.integers(1, 12),
                    customer=st.none() | st.sampled_from(CUSTOMERS),
                    state=st.none() | st.sampled_from(list(InteractionState)),
                    since=st.none() | st.integers(0, 10).map(float))


def _interaction(interaction_id: str, created_at: float, customer: str = CUSTOMERS[0],
                 state: InteractionState = InteractionState.ACTIVE, updated_at: float | None = None) -> Interaction:
    return Interaction(interaction_id, customer, "8005550100", "kaleyra", Destination(DestinationKind.QUEUE, "Support"),
                       state, created_at, created_at if updated_at is None else updated_at)


def _store(interactions: list[Interaction]) -> Store:
    """A node store (in memory) with these interactions written in this order."""
    store = Store(":memory:")
    for interaction in interactions:
        store.put_interaction(interaction.to_dict())
    return store


def _ids(items: object) -> list[str]:
    return [record["id"] for record in items]  # type: ignore[attr-defined]


def _page_through(store: Store, query: PageQuery, turned: Callable[[], None] = lambda: None) -> Iterator[
        tuple[list[str], int]]:
    """Each page from the first to the one whose next is None: (its ids, its size)."""
    cursor = None
    for _ in range(1000):
        page = select(store, replace(query, after=None if cursor is None else decode_cursor(cursor)))
        yield _ids(page.items), len(page.items)
        if page.next is None:
            return
        cursor = page.next
        turned()
    raise AssertionError("the pages never ended")


def _error(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(InputError) as info:
        call()
    return info.value.status, str(info.value)


@given(interaction_lists(), queries)
def test_paging_through_yields_every_matching_interaction_once_in_order(
        interactions: list[Interaction], query: PageQuery) -> None:
    """Page after page, with any limit and filters, equals filtering the whole list; pages are full but the last."""
    pages = list(_page_through(_store(interactions), query))
    expected = [i.id for i in interactions if query.matches(i)]
    assert expected == [key for ids, _ in pages for key in ids]
    sizes = [size for _, size in pages]
    assert all(query.limit == n for n in sizes[:-1])
    assert (0 < sizes[-1] <= query.limit) or expected == []


@given(interaction_lists(max_size=40), st.integers(0, 40), queries, st.data())
def test_interactions_added_while_paging_are_neither_skipped_nor_repeated(
        interactions: list[Interaction], split: int, query: PageQuery, data: st.DataObject) -> None:
    """One interaction created at each turn of the page, whatever its created_at: each shows exactly once."""
    present, coming = list(interactions[:split]), list(data.draw(st.permutations(interactions[split:])))
    store, written = _store(present), list(present)

    def turned() -> None:
        if coming:
            written.append(coming.pop(0))
            store.put_interaction(written[-1].to_dict())

    seen = [key for ids, _ in _page_through(store, query, turned) for key in ids]
    assert [i.id for i in written if query.matches(i)] == seen


@given(interaction_lists(), st.integers(1, 12), queries)
def test_a_cursor_from_another_store_continues_after_its_created_at_and_id(
        interactions: list[Interaction], first: int, query: PageQuery) -> None:
    """A cursor from the primary, taken to a backup that recovered the same interactions, goes on without gap or repeat."""
    primary, backup = _store(interactions), _store(interactions)
    assert primary.listing != backup.listing
    page = select(primary, replace(query, limit=first))
    if page.next is None:
        return
    rest = select(backup, replace(query, limit=len(interactions), after=decode_cursor(page.next)))
    assert [i.id for i in interactions if query.matches(i)] == _ids(page.items) + _ids(rest.items)
    assert None is rest.next


@given(st.builds(Position, st.text(), st.integers(1, 2**53), st.floats(allow_nan=False, allow_infinity=False),
                 st.text()))
def test_a_cursor_holds_its_position(position: Position) -> None:
    """Decoding an encoded position gives it back; the cursor is URL-safe base64 without padding."""
    cursor = encode_cursor(position)
    assert position == decode_cursor(cursor)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "", "not a cursor!", _b64("[1, 2]"), _b64('["a", 0, 1.0, "x"]'), _b64('["a", true, 1.0, "x"]'),
    _b64('["a", 1, Infinity, "x"]'), _b64('["a", 1, "1.0", "x"]'), _b64('{"a": 1, "b": 2, "c": 3, "d": 4}'),
    "\u00e9t\u00e9"])
def test_a_malformed_cursor_is_refused_naming_it(cursor: str) -> None:
    """Anything but an encoded position is a 400 quoting the cursor."""
    assert (400, f"'cursor' must be the 'next' of an earlier answer (got {cursor!r})") == _error(
        lambda: decode_cursor(cursor))


@pytest.mark.parametrize(("pairs", "message"), [
    ([("limit", "0")], "'limit' must be an integer from 1 to 1000 (got '0')"),
    ([("limit", "1001")], "'limit' must be an integer from 1 to 1000 (got '1001')"),
    ([("limit", "ten")], "'limit' must be an integer from 1 to 1000 (got 'ten')"),
    ([("limit", "-5")], "'limit' must be an integer from 1 to 1000 (got '-5')"),
    ([("limit", "")], "'limit' must be an integer from 1 to 1000 (got '')"),
    ([("state", "open")], "'state' must be one of active, idle, disconnected (got 'open')"),
    ([("since", "soon")], "'since' must be a number of seconds (got 'soon')"),
    ([("since", "nan")], "'since' must be a number of seconds (got 'nan')"),
    ([("customer", "")], "'customer' must be a non-empty customer number (got '')"),
    ([("cursor", "x")], "'cursor' must be the 'next' of an earlier answer (got 'x')"),
    ([("colour", "red"), ("kind", "mt")], "unknown query parameter(s) colour, kind; allowed: limit, cursor, customer, state, since"),
    ([("limit", "1"), ("limit", "2")], "'limit' must be given once (got '1', '2')"),
    ([("limit", "9" * 70)], f"'limit' must be an integer from 1 to 1000 (got {'9' * 60!r}...)"),
])
def test_a_bad_query_is_a_400_naming_the_parameter_the_value_and_the_reason(
        pairs: list[tuple[str, str]], message: str) -> None:
    """Each bad parameter is refused up front with the attrs-style sentence."""
    assert (400, message) == _error(lambda: parse_query(pairs))


def test_a_query_is_parsed_into_its_filters() -> None:
    """Every parameter given is parsed into the frozen query; none given is the default page."""
    position = Position("primary@1", 7, 3.5, "abc")
    assert PageQuery(limit=5, after=position, customer="+13175550101", state=InteractionState.IDLE,
                     since=12.5) == parse_query([("limit", "5"), ("cursor", encode_cursor(position)),
                                                 ("customer", "+13175550101"), ("state", "idle"), ("since", "12.5")])
    assert PageQuery(limit=DEFAULT_LIMIT) == parse_query([])
    assert (100, 1000) == (DEFAULT_LIMIT, MAX_LIMIT)
    assert MAX_LIMIT == parse_query([("limit", "1000")]).limit


def test_the_default_page_is_100_and_its_next_leads_to_the_rest() -> None:
    """Over 150 interactions the default query answers the first 100 and a cursor to the last 50."""
    store = _store([_interaction(f"{n:03}", float(n)) for n in range(150)])
    first = select(store, parse_query([]))
    assert ([f"{n:03}" for n in range(100)], Position(store.listing, 100, 99.0, "099")) == (
        _ids(first.items), decode_cursor(str(first.next)))
    rest = select(store, parse_query([("cursor", str(first.next))]))
    assert ([f"{n:03}" for n in range(100, 150)], None) == (_ids(rest.items), rest.next)


def test_filters_are_exact_and_since_is_inclusive() -> None:
    """customer matches the whole number only, state the state, since updated_at at or after it, in SQL as in matches."""
    a = _interaction("a", 1.0, "+13175550101", updated_at=5.0)
    b = _interaction("b", 2.0, "+1317555010", InteractionState.IDLE, updated_at=4.0)
    store = _store([a, b])
    for query, expected in ((PageQuery(customer="+13175550101"), ["a"]), (PageQuery(state=InteractionState.IDLE), ["b"]),
                            (PageQuery(since=5.0), ["a"]), (PageQuery(since=4.0), ["a", "b"])):
        assert (expected, expected) == ([i.id for i in (a, b) if query.matches(i)], _ids(select(store, query).items))


def test_an_update_keeps_an_interactions_place_and_a_newcomer_goes_last() -> None:
    """Rewriting an interaction (a new state, a later update) keeps its place; one written later comes after, whatever its created_at."""
    late, early = _interaction("late", 9.0), _interaction("early", 1.0)
    store = _store([late])
    store.put_interaction(early.to_dict())
    store.put_interaction(replace(late, state=InteractionState.IDLE, updated_at=20.0).to_dict())
    page = select(store, PageQuery())
    assert (["late", "early"], ["idle", "active"]) == (_ids(page.items), [r["state"] for r in page.items])
