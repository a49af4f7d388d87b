"""Tests for sim.core.body: the one JSON reading every door uses, and the JSON writing no view can fail in."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core.body import MAX_DEPTH, BodyError, BodyReason, check_encodable, dumps, loads


@pytest.mark.parametrize(("data", "reason", "words"), [
    (b"[" * 100_000, BodyReason.MALFORMED, "nested deeper than 64"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), BodyReason.MALFORMED, "nested deeper than 64"),
    (b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), BodyReason.MALFORMED, "nested deeper than 64"),
    (b'{"n": ' + b"7" * 5000 + b"}", BodyReason.MALFORMED, "number too long"),
    (b'{"probability": NaN}', BodyReason.MALFORMED, "NaN is not a JSON number"),
    (b'{"delay": Infinity}', BodyReason.MALFORMED, "Infinity is not a JSON number"),
    (b"[-Infinity]", BodyReason.MALFORMED, "-Infinity is not a JSON number"),
    (b'{"delay": 1e999}', BodyReason.MALFORMED, "1e999 is out of range"),
    (b'{"text": "x\\ud800"}', BodyReason.ENCODING, "'text' holds an unpaired surrogate (U+D800 at index 1)"),
    (b'{"\\udfff": 1}', BodyReason.ENCODING, "a string holds an unpaired surrogate (U+DFFF"),
    (b'{"a": "caf\xe9"}', BodyReason.ENCODING, "not valid UTF-8 (byte 10)"),
    (b'{"a": 1', BodyReason.MALFORMED, "not valid JSON: Expecting ',' delimiter at line 1 column 8"),
], ids=["deep", "one-too-deep", "objects-one-too-deep", "huge-integer", "nan", "infinity", "minus-infinity", "overflow",
        "lone-surrogate", "surrogate-key", "bad-utf8", "broken"])
def test_what_would_break_a_store_or_a_view_is_refused(data: bytes, reason: BodyReason, words: str) -> None:
    """Deep nesting, huge integers, non-finite numbers, lone surrogates and bad UTF-8 are a 400 BodyError."""
    with pytest.raises(BodyError) as caught:
        loads(data)
    assert (400, reason) == (caught.value.status, caught.value.reason)
    assert words in str(caught.value)


def test_what_json_allows_is_read_as_json_loads_reads_it() -> None:
    """Nesting up to the limit, long integers within the interpreter's limit and escaped pairs are fine."""
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    objects = '{"a": ' * MAX_DEPTH + '"\\ud83d\\ude00"' + "}" * MAX_DEPTH
    assert (json.loads(nested), json.loads(objects)) == (loads(nested), loads(objects))
    assert 10 ** 4000 == loads("1" + "0" * 4000)
    pair = '{"t": "\\ud83d\\ude00", "x": [1.5, -2e300, null, true]}'
    assert {"t": "\U0001f600", "x": [1.5, -2e300, None, True]} == loads(pair)


def test_check_encodable_names_the_field() -> None:
    """A string holding a lone surrogate is refused with the field's name; others come back as they are."""
    assert "caf\u00e9" == check_encodable("caf\u00e9", "text")
    with pytest.raises(BodyError, match=r"'text' holds an unpaired surrogate \(U\+D800 at index 1\)"):
        check_encodable("x\ud800", "text")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20))
def test_dumps_and_loads_round_trip(value: object) -> None:
    """What dumps writes, loads reads back (and it is what json.dumps writes, in UTF-8)."""
    assert json.loads(dumps(value)) == loads(dumps(value)) == value


def test_dumps_never_fails_on_a_lone_surrogate() -> None:
    """A lone surrogate is written as its JSON escape, so a view of it is still JSON."""
    written = dumps({"text": "x\ud800", "at": 1.5})
    assert b'{"text": "x\\ud800", "at": 1.5}' == written
    assert {"text": "x\ud800", "at": 1.5} == json.loads(written)
