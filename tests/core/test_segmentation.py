"""Tests for sim.core.segmentation: encoding choice, capacities, cutting rules, modes, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
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

# From the tests of TwilioDevEd/message-segment-calculator.
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
    """With 152 septets used, a euro sign starts the next part (as AOSP's findGsmSeptetLimitIndex cuts)."""
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
    """0x09 is upper-case C-cedilla; lower-case c-cedilla and backtick are absent (AOSP GsmAlphabet)."""
    assert "Ç" in gsm.BASIC
    assert "ç" not in gsm.BASIC
    assert "`" not in gsm.BASIC | gsm.EXTENSION
    assert len(gsm.BASIC) == 127


# -- the strategies split, and the boundaries are pinned with literal numbers (issue 19) -------------------


@pytest.mark.parametrize("strategy", [any_text, ucs2_text, gsm_text, gsm_basic_text],
                         ids=["any_text", "ucs2_text", "gsm_text", "gsm_basic_text"])
def test_the_shared_strategies_draw_messages_that_split_into_three_parts_and_more(strategy: st.SearchStrategy[str]) -> None:
    """Over 100 draws each strategy gives at least 20 multipart messages and one of three parts or more."""
    parts: list[int] = []

    @settings(max_examples=100, database=None, deadline=None)
    @given(strategy)
    def draw(text: str) -> None:
        parts.append(len(segment(text).segments))

    draw()
    assert sum(n > 1 for n in parts) >= 20, parts
    assert max(parts) >= 3, parts


@pytest.mark.parametrize(("text", "size", "units_of_parts"), [
    ("a" * 160, ReferenceSize.EIGHT_BIT, [160]),
    ("a" * 161, ReferenceSize.EIGHT_BIT, [153, 8]),
    ("a" * 161, ReferenceSize.SIXTEEN_BIT, [152, 9]),
    ("a" * 306, ReferenceSize.EIGHT_BIT, [153, 153]),
    ("a" * 306, ReferenceSize.SIXTEEN_BIT, [152, 152, 2]),
    ("Ж" * 70, ReferenceSize.EIGHT_BIT, [70]),
    ("Ж" * 71, ReferenceSize.EIGHT_BIT, [67, 4]),
    ("Ж" * 71, ReferenceSize.SIXTEEN_BIT, [66, 5]),
    ("Ж" * 200, ReferenceSize.EIGHT_BIT, [67, 67, 66]),
    ("Ж" * 200, ReferenceSize.SIXTEEN_BIT, [66, 66, 66, 2]),
])
def test_single_and_concatenated_capacities_at_their_edges(text: str, size: ReferenceSize,
                                                           units_of_parts: list[int]) -> None:
    """160 septets and 70 units are one part; one more splits at 153/67 (8-bit reference) or 152/66 (16-bit)."""
    result = segment(text, reference_size=size)
    each = {(Encoding.GSM7, True): 160, (Encoding.UCS2, True): 70,
            (Encoding.GSM7, False): 153 if size is ReferenceSize.EIGHT_BIT else 152,
            (Encoding.UCS2, False): 67 if size is ReferenceSize.EIGHT_BIT else 66}[(result.encoding, len(units_of_parts) == 1)]
    assert (units_of_parts, [each] * len(units_of_parts)) == (
        [p.units for p in result.segments], [p.capacity for p in result.segments])


@pytest.mark.parametrize(("text", "oversize"), [("a" * 160, False), ("a" * 161, True), ("Ж" * 70, False),
                                                ("Ж" * 71, True)])
def test_do_not_alter_flags_oversize_only_past_one_part(text: str, oversize: bool) -> None:
    """NONE marks 161 septets or 71 units as oversize, and exactly 160 or 70 as not."""
    result = segment(text, ParsingMode.NONE)
    assert (oversize, [text], ParsingMode.NONE) == (result.oversize, result.texts, result.mode)


def test_split_and_truncate_say_their_mode_and_the_whole_size() -> None:
    """A split result and a truncated one carry their mode and the units of the whole original text."""
    split, cut = segment("a" * 200), segment("a" * 200, ParsingMode.TRUNCATE)
    assert (ParsingMode.SPLIT, 200, ParsingMode.TRUNCATE, 200) == (split.mode, split.units, cut.mode, cut.units)


def test_exactly_255_parts_are_allowed_and_256_refused() -> None:
    """A text of 255 full parts splits; one septet more would need part 256 and is refused."""
    assert (255, 255) == (MAX_PARTS, len(segment("a" * (153 * 255)).segments))
    with pytest.raises(SegmentationError, match="more than 255 parts"):
        segment("a" * (153 * 255 + 1))


def test_a_reference_counter_starts_at_zero() -> None:
    """Without a start, the first reference handed out is 0."""
    counter = ReferenceCounter()
    assert [0, 1] == [counter(), counter()]


def _cut(text: str) -> list[str]:
    return segment(text).texts


def test_two_adjacent_flags_at_a_cut_both_stay_whole() -> None:
    """The cut falls right after the first flag: both flags whole, one in each part."""
    assert ["Ж" * 63 + "🇮🇹", "🇫🇷y"] == _cut("Ж" * 63 + "🇮🇹🇫🇷y")


def test_a_cut_inside_the_second_of_two_flags_moves_back_between_them() -> None:
    """The 67th unit ends inside the second flag: the part ends after the first, not after a lone letter."""
    assert ["Ж" * 61 + "🇮🇹", "🇫🇷yyyyy"] == _cut("Ж" * 61 + "🇮🇹🇫🇷yyyyy")


def test_a_message_of_flags_from_its_first_character_is_cut_between_flags() -> None:
    """Twenty flags: the first part holds sixteen (64 units), never half of one, counting from index 0."""
    parts = _cut("🇮🇹" * 20)
    assert ["🇮🇹" * 16, "🇮🇹" * 4] == parts


def test_a_flag_at_index_0_stays_whole_and_first() -> None:
    """A flag that starts the message is not moved or cut by the first part's boundary search."""
    assert ["🇮🇹" + "Ж" * 63, "Ж" * 7] == _cut("🇮🇹" + "Ж" * 70)


def test_a_cluster_longer_than_a_part_is_cut_where_the_part_ends() -> None:
    """A letter with 70 combining marks cannot fit one part: it is cut at 67 units rather than never."""
    assert ["a" + "\u0301" * 66, "\u0301" * 4 + "b"] == _cut("a" + "\u0301" * 70 + "b")


def test_a_zwj_sequence_straddling_a_cut_moves_whole_to_the_next_part() -> None:
    """A family emoji (three people joined by ZWJ, 8 units) that would cross unit 67 starts the next part."""
    family = "👨\u200d👩\u200d👧"
    assert ["Ж" * 63, family] == _cut("Ж" * 63 + family)


def test_a_skin_tone_modifier_stays_with_its_emoji() -> None:
    """The cut after the thumbs-up would leave its skin tone alone: the pair moves to the next part."""
    assert ["Ж" * 65, "👍🏽yy"] == _cut("Ж" * 65 + "👍🏽yy")


def test_a_tag_sequence_flag_stays_whole() -> None:
    """England's flag (a black flag, five tag letters and a cancel tag, 14 units) is not cut among its tags."""
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert ["Ж" * 60, england + "y"] == _cut("Ж" * 60 + england + "y")


@pytest.mark.parametrize("mark", ["\u093e", "\u20dd"], ids=["Mc", "Me"])
def test_spacing_and_enclosing_marks_stay_with_their_base(mark: str) -> None:
    """A spacing (Mc) or enclosing (Me) mark right after the cut takes its base letter with it."""
    assert ["Ж" * 66, "क" + mark + "yyyy"] == _cut("Ж" * 66 + "क" + mark + "yyyy")


def test_an_emoji_whose_low_surrogate_ends_a_part_is_not_moved() -> None:
    """U+1F431 (D83D DC31) ending exactly at unit 67: its low surrogate is not taken for a high one."""
    assert ["Ж" * 65 + "🐱", "yyyyy"] == _cut("Ж" * 65 + "🐱yyyyy")


def test_a_cluster_longer_than_two_parts_is_cut_at_each_part_end() -> None:
    """A letter with 140 combining marks: parts of 67, 67 and the rest, the middle one starting and ending inside it."""
    assert ["a" + "\u0301" * 66, "\u0301" * 67, "\u0301" * 7 + "b"] == _cut("a" + "\u0301" * 140 + "b")


def test_a_lone_regional_indicator_before_a_letter_is_a_boundary() -> None:
    """After a flag and one more regional indicator, the cut before the next letter stays where it is."""
    assert ["Ж" * 61 + "🇮🇹🇫", "ЖЖЖЖЖ"] == _cut("Ж" * 61 + "🇮🇹🇫" + "ЖЖЖЖЖ")


@pytest.mark.parametrize("flags", ["🇦🇿🇿🇦", "🇿🇦🇦🇿"], ids=["A-first", "Z-first"])
def test_the_first_and_last_regional_indicators_pair_up_like_any_other(flags: str) -> None:
    """Flags made of U+1F1E6 (A) and U+1F1FF (Z), the ends of the range, are kept whole at a cut."""
    assert ["Ж" * 61 + flags[:2], flags[2:] + "yyyyy"] == _cut("Ж" * 61 + flags + "yyyyy")


@pytest.mark.parametrize("selector", ["\ufe00", "\ufe0f"], ids=["VS1", "VS16"])
def test_variation_selectors_at_both_ends_of_their_range_stay_with_their_base(selector: str) -> None:
    """U+FE00 and U+FE0F right after the cut take the heart before them into the next part."""
    assert ["Ж" * 66, "❤" + selector + "yyyy"] == _cut("Ж" * 66 + "❤" + selector + "yyyy")


def test_the_character_after_the_variation_selectors_is_a_boundary() -> None:
    """U+FE10 (a vertical comma, not a selector) may start a part: the cut before it stays."""
    assert ["Ж" * 66 + "x", "\ufe10yyyy"] == _cut("Ж" * 66 + "x\ufe10yyyy")


@pytest.mark.parametrize("tone", ["\U0001f3fb", "\U0001f3ff"], ids=["light", "dark"])
def test_skin_tones_at_both_ends_of_their_range_stay_with_their_emoji(tone: str) -> None:
    """U+1F3FB and U+1F3FF, the lightest and darkest tones, move with the thumbs-up they modify."""
    assert ["Ж" * 65, "👍" + tone + "yy"] == _cut("Ж" * 65 + "👍" + tone + "yy")


def test_sizes_are_whole_units() -> None:
    """A UCS-2 size is a count of UTF-16 units, an int, as is every part's."""
    result = segment("Ж" * 71)
    assert [int, int, int] == [type(result.units), *(type(p.units) for p in result.segments)]


def test_a_flag_at_the_second_cut_is_kept_whole_too() -> None:
    """Three parts: the second cut moves back before a flag just as the first would (the index runs on)."""
    assert ["Ж" * 67, "Ж" * 65, "🇮🇹yy"] == _cut("Ж" * 132 + "🇮🇹yy")


@pytest.mark.parametrize("after", ["\U0001f400", "\U000e0080", "\U000e01f0"], ids=["U+1F400", "U+E0080", "U+E01F0"])
def test_the_character_just_past_each_extending_range_starts_a_cluster(after: str) -> None:
    """Past the skin tones, the tags and the supplementary selectors, a character may start a part."""
    assert ["Ж" * 66 + "x", after + "yyyy"] == _cut("Ж" * 66 + "x" + after + "yyyy")


@pytest.mark.parametrize("mark", ["\U000e0020", "\U000e007f", "\U000e0100", "\U000e01ef"],
                         ids=["tag space", "cancel tag", "VS17", "VS256"])
def test_the_first_tag_and_the_first_supplementary_selector_extend(mark: str) -> None:
    """The first and last tags and supplementary selectors, right after the cut, take the character before along."""
    assert ["Ж" * 66, "x" + mark + "yyyy"] == _cut("Ж" * 66 + "x" + mark + "yyyy")


def test_the_character_just_past_the_regional_indicators_is_not_one() -> None:
    """U+1F200 after a lone regional indicator is a boundary, as a letter would be."""
    assert ["Ж" * 61 + "🇮🇹🇫", "\U0001f200yyy"] == _cut("Ж" * 61 + "🇮🇹🇫\U0001f200yyy")
