"""Tests for sim.core.segmentation: encoding choice, capacities, cutting rules, modes, errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_text, gsm_basic_text, gsm_text, ucs2_text

from sim.core import gsm
from sim.core.errors import SegmentationError
from sim.core.segmentation import (
    MAX_PARTS,
    Encoding,
    ParsingMode,
    ReferenceCounter,
    ReferenceSize,
    capacity,
    choose_encoding,
    segment,
    units,
)

# brokers.md §5.5, from the Twilio segment calculator's tests.
VECTORS = [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("😜" + "1" * 68, "UCS-2", 1),
    ("😜" + "1" * 69, "UCS-2", 2),
    ("😜" + "1" * 133, "UCS-2", 3),
    ("🇮🇹" + "1" * 66, "UCS-2", 1),
    ("🏳️‍🌈" + "1" * 64, "UCS-2", 1),
]


@pytest.mark.parametrize(("text", "encoding", "count"), VECTORS)
def test_reference_vectors(text: str, encoding: str, count: int) -> None:
    """Each reference vector gets the documented encoding and segment count."""
    result = segment(text)
    assert (encoding, count) == (result.encoding.value, len(result.segments))


def test_capacities_are_the_ts_23_040_figures() -> None:
    """Single and concatenated capacities are 160/153/152 septets and 70/67/66 units."""
    assert capacity(Encoding.GSM7).single == 160
    assert (capacity(Encoding.GSM7).concatenated, capacity(Encoding.UCS2).concatenated) == (153, 67)
    sixteen = ReferenceSize.SIXTEEN_BIT
    assert (capacity(Encoding.GSM7, sixteen).concatenated, capacity(Encoding.UCS2, sixteen).concatenated) == (
        152, 66)


def test_extension_characters_cost_two_septets() -> None:
    """Every extension-table character counts as ESC plus code."""
    assert units("{}[]~|^\\€\f", Encoding.GSM7) == 20
    assert choose_encoding("{}[]~|^\\€\f") is Encoding.GSM7


@pytest.mark.parametrize("char", ["ç", "`", "\x1b", "á", "\t"])
def test_characters_outside_both_tables_force_ucs2(char: str) -> None:
    """Lower-case c-cedilla, backtick, a raw ESC, a-acute and TAB are not GSM-7."""
    assert choose_encoding("hello " + char) is Encoding.UCS2


def test_escape_pair_is_never_split() -> None:
    """With 152 septets used, a euro sign starts the next part (brokers.md §5.4 example)."""
    result = segment("a" * 152 + "€" + "b" * 10)
    assert [s.units for s in result.segments] == [152, 12]
    assert result.segments[1].text.startswith("€")


def test_surrogate_pair_is_never_split() -> None:
    """An emoji that would straddle unit 67 moves whole to the next part."""
    result = segment("x" * 66 + "😜" + "y" * 10)
    assert [s.units for s in result.segments] == [66, 12]


def test_flag_is_kept_whole() -> None:
    """A regional-indicator flag (two surrogate pairs) is not cut between its two letters."""
    result = segment("x" * 65 + "🇮🇹" + "y" * 10)
    assert result.segments[0].text == "x" * 65
    assert result.segments[1].text.startswith("🇮🇹")


def test_combining_mark_stays_with_its_letter() -> None:
    """A combining accent is not separated from the letter before it."""
    text = "Ж" * 66 + "e\u0301" + "Ж" * 5
    result = segment(text)
    assert result.segments[0].text == "Ж" * 66


def test_truncate_keeps_what_fits_one_part() -> None:
    """TRUNCATE keeps 160 septets (or 70 units) and says it truncated."""
    result = segment("a" * 200, ParsingMode.TRUNCATE)
    assert (result.texts, result.truncated, result.segments[0].capacity) == (["a" * 160], True, 160)
    result = segment("€" * 81, ParsingMode.TRUNCATE)
    assert result.texts == ["€" * 80]


def test_truncate_of_a_short_text_changes_nothing() -> None:
    """A text that fits is returned whole and not marked truncated."""
    result = segment("short", ParsingMode.TRUNCATE)
    assert (result.texts, result.truncated) == (["short"], False)


def test_do_not_alter_sends_one_oversize_message() -> None:
    """NONE keeps a long text as one unchanged message and flags it as oversize."""
    result = segment("a" * 400, ParsingMode.NONE)
    assert (result.texts, result.oversize, result.units) == (["a" * 400], True, 400)


def test_references_come_from_the_injected_counter() -> None:
    """Split messages take consecutive references from the counter; single parts take none."""
    counter = ReferenceCounter(254)
    refs = [segment("a" * 200, next_reference=counter).reference for _ in range(3)]
    assert refs == [254, 255, 0]
    assert segment("short", next_reference=counter).reference is None


def test_sixteen_bit_counter_wraps_at_65536() -> None:
    """A 16-bit reference counter wraps after 65535."""
    counter = ReferenceCounter(65535, ReferenceSize.SIXTEEN_BIT)
    assert [counter(), counter()] == [65535, 0]


def test_unpaired_surrogate_is_refused() -> None:
    """A lone surrogate cannot be encoded and raises rather than being cut or replaced."""
    with pytest.raises(SegmentationError, match="unpaired surrogate U\\+D83D at 2"):
        segment("hi\ud83d")


def test_more_than_255_parts_is_refused() -> None:
    """SPLIT refuses a text that needs more parts than the UDH can number."""
    with pytest.raises(SegmentationError, match=str(MAX_PARTS)):
        segment("a" * (153 * MAX_PARTS + 1))
    assert len(segment("a" * (153 * MAX_PARTS)).segments) == MAX_PARTS


def test_empty_text_is_one_empty_part() -> None:
    """An empty message is one GSM-7 part of zero septets."""
    result = segment("")
    assert (result.encoding, result.texts, result.units) == (Encoding.GSM7, [""], 0)


@given(any_text, st.sampled_from(list(ReferenceSize)))
def test_segments_rejoin_to_the_text(text: str, size: ReferenceSize) -> None:
    """Split parts concatenated give back the original text."""
    assert "".join(segment(text, reference_size=size).texts) == text


@given(any_text, st.sampled_from(list(ReferenceSize)))
def test_no_part_is_over_capacity(text: str, size: ReferenceSize) -> None:
    """Each part's size, counted on its own, is within its capacity and equals its reported units."""
    result = segment(text, reference_size=size)
    for part in result.segments:
        assert units(part.text, result.encoding) == part.units <= part.capacity


@given(gsm_text)
def test_gsm_parts_are_full_except_around_escapes(text: str) -> None:
    """Every GSM-7 part but the last is filled to 153, or to 152 when an escape pair would straddle."""
    result = segment(text)
    if len(result.segments) > 1:
        assert all(p.units in (152, 153) for p in result.segments[:-1])


@given(gsm_basic_text)
def test_gsm_split_matches_plain_slicing(text: str) -> None:
    """Without escapes, GSM-7 parts are exactly 153-character slices."""
    result = segment(text)
    if len(text) > 160:
        assert result.texts == [text[i:i + 153] for i in range(0, len(text), 153)]


@given(ucs2_text)
def test_ucs2_parts_hold_whole_characters(text: str) -> None:
    """No UCS-2 part starts with a low surrogate or ends with a high one (checked on the UTF-16 bytes)."""
    for part in segment(text).texts:
        data = part.encode("utf-16-le")
        assert len(data) % 2 == 0
        if data:
            assert not 0xDC <= data[1] <= 0xDF
            assert not 0xD8 <= data[-1] <= 0xDB


@given(any_text)
def test_truncate_is_a_prefix_that_fits(text: str) -> None:
    """TRUNCATE keeps a prefix of the text within one single-part capacity."""
    result = segment(text, ParsingMode.TRUNCATE)
    kept = result.texts[0]
    assert text.startswith(kept)
    assert units(kept, result.encoding) <= capacity(result.encoding).single


def test_gsm_tables_have_the_documented_surprises() -> None:
    """0x09 is upper-case C-cedilla; lower-case c-cedilla and backtick are absent (brokers.md §5.1)."""
    assert "Ç" in gsm.BASIC
    assert "ç" not in gsm.BASIC
    assert "`" not in gsm.BASIC | gsm.EXTENSION
    assert len(gsm.BASIC) == 127
