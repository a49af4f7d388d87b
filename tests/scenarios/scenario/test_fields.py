"""Tests for scenarios.scenario.fields: the choice and name/value fields that steps and expectations share."""

from __future__ import annotations

from scenarios.scenario.fields import NODES, one_of, pairs
from sim.core.schema import Reader


def _problems(r: Reader) -> list[tuple[str, object, str]]:
    return [(p.path, p.value, p.reason) for p in r.problems]


def test_one_of_returns_an_allowed_value_and_refuses_any_other():
    """A value among the allowed ones is returned; another is a problem naming them all."""
    r = Reader({"node": "backup", "role": "boss"}, "expect[0].node")
    assert ("backup", "boss") == (one_of(r, "node", NODES), one_of(r, "role", ("active", "backup", "down")))
    assert [("expect[0].node.role", "boss", "must be one of active, backup, down")] == _problems(r)


def test_one_of_is_required_unless_it_has_a_default():
    """A missing field without a default is a problem; with a default it is that default."""
    r = Reader({}, "steps[0].fail")
    assert ("", "mt") == (one_of(r, "node", NODES), one_of(r, "kind", ("mt", "mo"), "mt"))
    assert [("steps[0].fail.node", None, "is required")] == _problems(r)


def test_pairs_keep_the_file_order_and_leave_out_unknown_names():
    """Name/value pairs come in the file's order; a name outside the allowed ones is a problem and dropped."""
    r = Reader({"where": {"state": "open", "colour": "red", "id": "7"}}, "expect[0].interactions")
    assert (("state", "open"), ("id", "7")) == pairs(r, "where", ("id", "state"))
    assert [("expect[0].interactions.where.colour", "red", "is not a known field (id, state)")] == _problems(r)


def test_pairs_are_empty_when_absent_and_unrestricted_without_allowed_names():
    """A missing mapping gives no pairs; without allowed names every name is kept."""
    r = Reader({"headers": {"X-B": "2", "X-A": "1"}}, "steps[0].http")
    assert ((), (("X-B", "2"), ("X-A", "1"))) == (pairs(r, "save"), pairs(r, "headers"))
    assert [] == _problems(r)
