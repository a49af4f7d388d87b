"""Tests for sim.core.fields: what an address or a message id may hold, at every door."""

from __future__ import annotations

import pytest

from sim.core.fields import MAX_ADDRESS, MAX_ID, FieldError, check_address, check_id


@pytest.mark.parametrize("value", ["+13175550101", "8005550100", "12345", "KLRHXA", "(317) 555-0101"])
def test_numbers_short_codes_and_sender_names_pass(value: str) -> None:
    """What brokers send as numbers and senders comes back unchanged."""
    assert value == check_address(value, "from")


@pytest.mark.parametrize(("value", "words"), [
    ("", "'from' is required"),
    ("555\x000101", "U+0000"),
    ("555\r\n0101", "U+000D"),
    ("5" * (MAX_ADDRESS + 1), f"is {MAX_ADDRESS + 1} characters long"),
    ("5" * 300_000, "at most 64"),
    ("55\ud800", "U+D800"),
])
def test_empty_control_characters_and_huge_numbers_are_refused(value: str, words: str) -> None:
    """Empty, NUL, CR/LF, a lone surrogate and an over-long number are a 400 naming the field."""
    with pytest.raises(FieldError) as caught:
        check_address(value, "from")
    assert (400, "from") == (caught.value.status, caught.value.field)
    assert words in str(caught.value)


def test_ids_have_their_own_length_and_the_same_characters() -> None:
    """An id may be longer than a number, but not longer than MAX_ID, and holds no control character."""
    assert "m" * MAX_ID == check_id("m" * MAX_ID, "messageId")
    for bad in ("m" * (MAX_ID + 1), "m-1\n", ""):
        with pytest.raises(FieldError, match="'messageId'"):
            check_id(bad, "messageId")
