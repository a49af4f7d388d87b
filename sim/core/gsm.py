"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1).

Tables follow AOSP ``GsmAlphabet`` (``sLanguageTables[0]``, the default table). A character of the basic table
costs one septet; a character of the extension table is sent as ESC (0x1B) plus a code, so it costs two. ESC
itself is not a character a text can contain.
"""

from __future__ import annotations

import re

__all__ = ["BASIC", "EXTENSION", "EXTENSION_RE", "NON_GSM", "septets"]

# The 128 code points of the basic table, in order 0x00..0x7F; 0x1B (ESC) is written as a placeholder
# that is dropped below, since it introduces an extension character rather than standing for one.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC_TABLE) == 128

BASIC: frozenset[str] = frozenset(_BASIC_TABLE) - {"\x1b"}
"""Characters that cost one septet."""

EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""Characters of the extension table: ESC + code, two septets each (TS 23.038 §6.2.1; AOSP)."""

# Compiled once: finding the first character outside both tables is the hot path of encoding choice.
NON_GSM: re.Pattern[str] = re.compile(
    "[^" + "".join(re.escape(c) for c in sorted(BASIC | EXTENSION)) + "]"
)
"""Matches any character that forces the whole message to UCS-2."""

EXTENSION_RE = re.compile("[" + "".join(re.escape(c) for c in sorted(EXTENSION)) + "]")


def septets(text: str) -> int:
    """The number of septets ``text`` takes in GSM-7, assuming every character is in the alphabet."""
    return len(text) + len(EXTENSION_RE.findall(text))
