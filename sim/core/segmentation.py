"""Encoding choice and segmentation of SMS text (3GPP TS 23.038, TS 23.040), as a pure function.

Theory of operation. A message is GSM-7 when every character is in the default alphabet or its extension
table, otherwise UCS-2 for the whole message (the choice is all-or-nothing: Twilio, "What is UCS-2
character encoding"). Sizes are counted in encoded units, never in characters: septets for GSM-7 (an
extension character costs two: ESC plus its code), UTF-16 code units for UCS-2 (an astral character such
as an emoji is a surrogate pair and costs two). A cut is only ever made between characters, so neither an
escape pair nor a surrogate pair can straddle two parts; in UCS-2 the cut also moves back to the start of
a grapheme cluster (a flag, a ZWJ sequence, a letter and its combining marks) whenever the part before it
stays non-empty (as AOSP's ``SmsMessageBase.findNextUnicodePosition`` does).

The three Message Parsing modes of the broker's Message Terminated tab (SMS Technical Reference, "Configure
Broker Message Terminated settings") are ``NONE`` ("Do not alter": one message, unchanged, however long),
``SPLIT`` (concatenated parts) and ``TRUNCATE`` (what fits in one part, by the same rules).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from sim.core import gsm
from sim.core.errors import SegmentationError

__all__ = [
    "MAX_PARTS",
    "Capacity",
    "Encoding",
    "ParsingMode",
    "ReferenceCounter",
    "ReferenceSize",
    "Segment",
    "Segmentation",
    "capacity",
    "choose_encoding",
    "segment",
    "units",
]


class Encoding(Enum):
    """The data coding of a message (TS 23.038 §4)."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


class ParsingMode(Enum):
    """The broker's Message Parsing setting."""

    NONE = "none"
    SPLIT = "split"
    TRUNCATE = "truncate"


class ReferenceSize(Enum):
    """The concatenation information element used for split messages (TS 23.040 §9.2.3.24.1 and .8)."""

    EIGHT_BIT = 8  # IEI 0x00: 05 00 03 ref total seq, 6 octets of UDH
    SIXTEEN_BIT = 16  # IEI 0x08: 06 08 04 ref-hi ref-lo total seq, 7 octets of UDH


@dataclass(frozen=True, slots=True)
class Capacity:
    """How many units one part holds, alone and as part of a concatenated message."""

    single: int
    concatenated: int


# 140 octets of user data per SMS (TS 23.040 §9.2.3.16): 160 septets or 70 UTF-16 units in one part. A
# concatenated part loses its UDH: 6 octets (8-bit reference) leave 153 septets (with fill bits) or 67
# units; 7 octets (16-bit reference) leave 152 septets or 66 units (TS 23.040 §9.2.3.24.1, §9.2.3.24.8).
_CAPACITIES = {
    (Encoding.GSM7, ReferenceSize.EIGHT_BIT): Capacity(160, 153),
    (Encoding.GSM7, ReferenceSize.SIXTEEN_BIT): Capacity(160, 152),
    (Encoding.UCS2, ReferenceSize.EIGHT_BIT): Capacity(70, 67),
    (Encoding.UCS2, ReferenceSize.SIXTEEN_BIT): Capacity(70, 66),
}

MAX_PARTS = 255
"""The UDH numbers parts with one octet (TS 23.040 §9.2.3.24.1), so a message has at most 255 parts."""

_REFERENCE_MODULUS = {ReferenceSize.EIGHT_BIT: 256, ReferenceSize.SIXTEEN_BIT: 65536}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ZWJ = "\u200d"


def capacity(encoding: Encoding, reference_size: ReferenceSize = ReferenceSize.EIGHT_BIT) -> Capacity:
    """The per-part capacity for an encoding and a concatenation reference size."""
    return _CAPACITIES[(encoding, reference_size)]


def choose_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the default alphabet or its extension table, else UCS-2."""
    return Encoding.UCS2 if gsm.NON_GSM.search(text) else Encoding.GSM7


def units(text: str, encoding: Encoding) -> int:
    """The size of ``text`` in septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if encoding is Encoding.GSM7:
        return gsm.septets(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class Segment:
    """One part: its text, the units it takes and the units it may take."""

    text: str
    units: int
    capacity: int


@dataclass(frozen=True, slots=True)
class Segmentation:
    """The result of segmenting one message.

    Attributes:
        encoding: the encoding of every part.
        mode: the parsing mode applied.
        segments: the parts, in order; one for a message that fits, or in modes NONE and TRUNCATE.
        units: the size of the whole original text.
        reference: the concatenation reference shared by the parts, ``None`` for a single part.
        truncated: TRUNCATE dropped text.
        oversize: NONE kept a message larger than one part.
    """

    encoding: Encoding
    mode: ParsingMode
    segments: tuple[Segment, ...]
    units: int
    reference: int | None = None
    truncated: bool = False
    oversize: bool = False

    @property
    def texts(self) -> list[str]:
        """The text of each part."""
        return [s.text for s in self.segments]


class ReferenceCounter:
    """Concatenation references from a counter, so runs are reproducible (no global random generator).

    Args:
        start: the first reference handed out.
        size: the reference size, which sets where the counter wraps (256 or 65536).
    """

    def __init__(self, start: int = 0, size: ReferenceSize = ReferenceSize.EIGHT_BIT) -> None:
        self._modulus = _REFERENCE_MODULUS[size]
        self._next = start % self._modulus

    def __call__(self) -> int:
        value = self._next
        self._next = (value + 1) % self._modulus
        return value

    @property
    def state(self) -> tuple[int, int]:
        """The next reference it hands out and the modulus it wraps at (a core over HTTP is given both)."""
        return self._next, self._modulus

    def advance_to(self, value: int) -> None:
        """Go on from ``value`` (what a core over HTTP answers it would hand out next)."""
        self._next = value % self._modulus


def segment(
    text: str,
    mode: ParsingMode = ParsingMode.SPLIT,
    *,
    reference_size: ReferenceSize = ReferenceSize.EIGHT_BIT,
    next_reference: Callable[[], int] | None = None,
) -> Segmentation:
    """Segment ``text`` per the broker's Message Parsing mode.

    Args:
        text: the message text.
        mode: NONE (do not alter), SPLIT or TRUNCATE.
        reference_size: 8-bit or 16-bit concatenation reference, which sets the concatenated capacity.
        next_reference: called once per split message for its reference; ``None`` leaves it unassigned.

    Raises:
        SegmentationError: the text holds an unpaired surrogate, or SPLIT would need more than 255 parts.
    """
    result = _segmented(text, mode, reference_size)
    if next_reference is not None and len(result.segments) > 1 and mode is ParsingMode.SPLIT:
        return replace(result, reference=next_reference())
    return result


@functools.lru_cache(maxsize=1024)
def _segmented(text: str, mode: ParsingMode, reference_size: ReferenceSize) -> Segmentation:
    """The segmentation of ``text`` without a reference, remembered: a campaign sends one text to many
    recipients, and a node segments each message twice (to check it, then to send it). The result is frozen,
    so sharing it is safe; an error is raised again each time, never remembered."""
    encoding = choose_encoding(text)
    cap = capacity(encoding, reference_size)
    if encoding is Encoding.UCS2:
        lone = _LONE_SURROGATE.search(text)
        if lone:
            raise SegmentationError(
                f"text has an unpaired surrogate U+{ord(lone.group()):04X} at {lone.start()}")
    total = units(text, encoding)
    if total <= cap.single or mode is ParsingMode.NONE:
        seg = Segment(text, total, cap.single)
        return Segmentation(encoding, mode, (seg,), total, oversize=total > cap.single)
    if mode is ParsingMode.TRUNCATE:
        seg = _parts(text, encoding, cap.single, limit=1)[0]
        return Segmentation(encoding, mode, (seg,), total, truncated=True)
    parts = _parts(text, encoding, cap.concatenated, limit=MAX_PARTS + 1)
    if len(parts) > MAX_PARTS:
        raise SegmentationError(f"text needs more than {MAX_PARTS} parts, the most a concatenated SMS has")
    return Segmentation(encoding, mode, tuple(parts), total)


# Cutting works on the encoded form, so that every step but the per-part loop runs in C. GSM-7: each
# extension character is expanded to ESC + character, one string position per septet; a cut right after an
# ESC moves back one, so the pair stays whole. UCS-2: the UTF-16 code units themselves; a cut right after a
# high surrogate moves back one unit, so the pair stays whole.
_ESC = "\x1b"


def _parts(text: str, encoding: Encoding, cap: int, limit: int) -> list[Segment]:
    """Cut ``text`` into parts of at most ``cap`` units; stop after ``limit`` parts."""
    if encoding is Encoding.GSM7:
        return _gsm_parts(text, cap, limit)
    return _ucs2_parts(text, cap, limit)


def _gsm_parts(text: str, cap: int, limit: int) -> list[Segment]:
    septet_string = gsm.EXTENSION_RE.sub("\x1b\\g<0>", text)
    size = len(septet_string)
    parts: list[Segment] = []
    start = 0
    while start < size and len(parts) < limit:
        end = min(size, start + cap)
        if end < size and septet_string[end - 1] == _ESC:
            end -= 1
        parts.append(Segment(septet_string[start:end].replace(_ESC, ""), end - start, cap))
        start = end
    return parts


def _ucs2_parts(text: str, cap: int, limit: int) -> list[Segment]:
    data = text.encode("utf-16-le", "surrogatepass")
    size = len(data) // 2
    parts: list[Segment] = []
    start = char_start = 0
    while start < size and len(parts) < limit:
        end = min(size, start + cap)
        if end < size and 0xD8 <= data[2 * end - 1] <= 0xDB:  # the unit before the cut is a high surrogate
            end -= 1
        chunk = data[2 * start:2 * end].decode("utf-16-le")
        if end < size:
            chunk, end = _back_to_cluster(text, char_start, chunk, end)
        parts.append(Segment(chunk, end - start, cap))
        start, char_start = end, char_start + len(chunk)
    return parts


def _back_to_cluster(text: str, char_start: int, chunk: str, end: int) -> tuple[str, int]:
    """Move a UCS-2 cut back to the start of a grapheme cluster, unless that would empty the part."""
    keep = len(chunk)
    while keep > 0 and not _cluster_boundary(text, char_start + keep):
        keep -= 1
    if keep in (0, len(chunk)):  # already a boundary, or one cluster larger than a part
        return chunk, end
    moved = chunk[keep:]
    return chunk[:keep], end - len(moved.encode("utf-16-le")) // 2


def _cluster_boundary(text: str, i: int) -> bool:
    """Whether a grapheme cluster may start at ``text[i]`` (a simplified UAX #29 for SMS cut points)."""
    ch, prev = text[i], text[i - 1]
    if prev == _ZWJ or _extends(ch):
        return False
    if _regional(ch) and _regional(prev):
        run = 0
        j = i - 1
        while j >= 0 and _regional(text[j]):
            run += 1
            j -= 1
        return run % 2 == 0  # flags are pairs of regional indicators; an odd run means ch closes a pair
    return True


def _extends(ch: str) -> bool:
    """Characters that attach to the one before: marks (the variation selectors, U+FE00-FE0F and
    U+E0100-E01EF, are nonspacing marks too), ZWJ, skin tones and tags."""
    code = ord(ch)
    return (
        ch == _ZWJ
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF
