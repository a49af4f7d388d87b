"""Tests for scenarios.scenario.expect_format: each expectation read into its frozen object, and described."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.scenario.expect_format import (
    Count,
    Expectation,
    InteractionsCheck,
    MessagesCheck,
    NodeCheck,
    read_expectation,
)
from sim.core.schema import Reader


def _read(kind: str, body: Any) -> tuple[Expectation, list[tuple[str, object, str]]]:
    r = Reader(body, f"expect[0].{kind}")
    check = read_expectation(kind, r)
    r.done()
    return check, [(p.path, p.value, p.reason) for p in r.problems]


def test_messages_select_by_kind_then_by_the_fields_given():
    """A ``messages`` check holds its kind first, then the selectors given, in the format's order."""
    check, problems = _read("messages", {"broker": "k", "text": "hi", "kind": "mo", "from": "+1"})
    assert (MessagesCheck(path="expect[0].messages", broker="k",
                          filters=(("kind", "mo"), ("from", "+1"), ("text", "hi"))), []) == (check, problems)


def test_dlr_is_messages_of_kind_dlr_and_takes_no_kind():
    """``dlr`` selects kind dlr; a ``kind`` field on it is not a known field."""
    check, problems = _read("dlr", {"broker": "k", "state": "delivered", "kind": "mt"})
    assert MessagesCheck(path="expect[0].dlr", broker="k", filters=(("kind", "dlr"), ("state", "delivered"))) \
        == check
    assert [("expect[0].dlr.kind", "mt", "is not a known field")] == problems


def test_a_destination_may_be_a_bare_kind():
    """``destination: Queue`` is a Queue of any name; a transcript item may name its direction."""
    check, problems = _read("interactions", {"destination": "Queue", "transcript": ["a", {"in": "b"}]})
    assert (InteractionsCheck(path="expect[0].interactions", destination=("Queue", ""),
                              transcript=(("", "a"), ("in", "b"))), []) == (check, problems)
    assert ("at least 1 interaction with destination=Queue, transcript=['a', {'in': 'b'}]",
            ()) == (check.describe(), check.saves())


def test_a_node_check_needs_both_name_and_role():
    """A ``node`` check names a node of the pair and one of its roles."""
    check, problems = _read("node", {"name": "tertiary"})
    assert NodeCheck(path="expect[0].node", name="tertiary", role="") == check
    assert [("expect[0].node.name", "tertiary", "must be one of primary, backup"),
            ("expect[0].node.role", None, "is required")] == problems


@pytest.mark.parametrize(("count", "n", "holds", "words"), [
    (Count(), 1, True, "at least 1 message"),
    (Count(), 0, False, "at least 1 message"),
    (Count(at_least=3), 4, True, "at least 3 messages"),
    (Count(exact=2), 3, False, "exactly 2 messages"),
    (Count(exact=0), 0, True, "no message"),
])
def test_a_count_holds_and_says_how_many(count, n, holds, words):
    """A count holds for exactly or at least its number, and says so in words."""
    assert (holds, words) == (count.holds(n), count.describe("message"))


def test_messages_describe_their_selection_and_texts():
    """A ``messages`` check names its broker, kind, selectors, wire fields and the texts wanted."""
    check = MessagesCheck(path="p", broker="kaleyra", filters=(("kind", "mt"), ("to", "1")),
                          fields=(("reply_to", "2"),), count=Count(exact=2), texts=("a", "b"))
    assert "exactly 2 kaleyra mt messages with to='1', reply_to='2', texts ['a', 'b']" == check.describe()
    assert "no kaleyra message" == MessagesCheck(path="p", broker="kaleyra", count=Count(exact=0)).describe()
