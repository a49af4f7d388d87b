"""Tests for sim.core.schema: the Reader's typed access and problem collection."""

from __future__ import annotations

import pytest

from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader


def test_yaml_numbers_read_as_text_where_text_is_meant() -> None:
    """A phone number YAML read as an int is taken as its digits."""
    assert Reader({"n": 13175550100}).text("n") == "13175550100"


def test_booleans_accept_cic_zero_and_one() -> None:
    """0/1 and true/false are booleans; other values are problems."""
    r = Reader({"a": 1, "b": "0", "c": True, "d": "yes"})
    assert [r.boolean(k) for k in "abc"] == [True, False, True]
    r.boolean("d")
    assert list(r.problems) == [Problem("d", "yes", "must be true, false, 0 or 1")]


def test_nested_paths_and_list_indexes() -> None:
    """Problems deep in lists of mappings carry the full path."""
    r = Reader({"brokers": [{"mo": {"port": "x"}}]})
    r.children("brokers")[0].child("mo").integer("port")
    assert [p.path for p in r.problems] == ["brokers[0].mo.port"]


def test_done_reports_unread_keys() -> None:
    """Keys no accessor read are reported as unknown fields."""
    r = Reader({"name": "k", "nmae": "k"})
    r.text("name")
    r.done()
    assert list(r.problems) == [Problem("nmae", "k", "is not a known field")]


def test_raise_if_problems_lists_everything() -> None:
    """raise_if_problems raises one ConfigError with every problem, in order."""
    r = Reader({"a": "x", "b": -1})
    r.integer("a")
    r.integer("b", minimum=0)
    with pytest.raises(ConfigError) as info:
        r.raise_if_problems("f.yaml")
    assert str(info.value).splitlines() == ["f.yaml: a: must be a whole number (got 'x')",
                                            "f.yaml: b: must be at least 0 (got -1)"]


def test_non_mapping_is_a_problem() -> None:
    """A list where a mapping is expected is reported at its path."""
    r = Reader([1, 2], "sms")
    assert list(r.problems) == [Problem("sms", [1, 2], "must be a mapping")]


def test_a_number_must_be_finite_though_a_default_may_be_infinite() -> None:
    """NaN and infinities are problems (NaN would pass any bound); an infinite default means no limit."""
    r = Reader({"a": float("nan"), "b": float("inf"), "c": float("-inf")})
    assert [r.number(k, 1.0, minimum=0, maximum=10) for k in "abc"] == [1.0, 1.0, 1.0]
    assert [(p.path, p.reason) for p in r.problems] == [(k, "must be a finite number") for k in "abc"]
    assert Reader({}).number("maximum", float("inf")) == float("inf")
