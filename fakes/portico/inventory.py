"""The pool of numbers the fake offers on ``/available``, generated from the fake's random seed.

A search is answered by a ``random.Random`` seeded with the fake's seed and the query, so the same query
gives the same numbers every run, and a number drops out once it is provisioned. Toll-free numbers use the
North American toll-free prefixes; long codes real US or Canadian area codes (the SDK 179.0.0 says US/CA
only).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fakes.portico.errors import invalid_value
from fakes.portico.settings import AREA_CODES, TOLLFREE_PREFIXES, NumberKind

__all__ = ["Search", "check_order_number", "normalise", "parse_search", "search"]

DEFAULT_RESULTS = 10  # SDK 179.0.0: numberOfResults defaults to 10
MAX_RESULTS = 100  # and is at most 100
VANITY = re.compile(r"[A-Za-z0-9]{4,7}")  # SDK 179.0.0: vanity is 4-7 alphanumerics
_KEYPAD = {c: d for d, letters in {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO",
                                     "7": "PQRS", "8": "TUV", "9": "WXYZ"}.items() for c in letters}
NUMBER_PATTERNS = {
    NumberKind.TOLLFREE: re.compile(rf"1(?:{'|'.join(TOLLFREE_PREFIXES)})\d{{7}}"),
    NumberKind.LONGCODE: re.compile(r"1[2-9]\d{2}[2-9]\d{6}"),  # NANP: area and exchange start 2-9
}
# Query parameters of longcodes/available that the fake's pool has no geography for: accepted,
# validated as text, and not used to filter (documented in the package docstring).
UNFILTERED = ("state", "city", "postalCode")


@dataclass(frozen=True)
class Search:
    """A parsed ``/available`` query."""

    kind: NumberKind
    count: int = DEFAULT_RESULTS
    vanity: str = ""
    area_code: str = ""
    exchange_code: str = ""
    country: str = "US"
    ends_with: str = ""
    starts_with: str = ""


def normalise(kind: NumberKind, value: str) -> str | None:
    """The number code without ``+`` (``18445551212``, as the SDK writes it), or None when malformed."""
    code = value[1:] if value.startswith("+") else value
    return code if NUMBER_PATTERNS[kind].fullmatch(code) else None


def _digits(query: Mapping[str, str], name: str, pattern: str) -> str:
    value = query.get(name, "")
    if value and re.fullmatch(pattern, value) is None:
        raise invalid_value(name, f"{name} must match {pattern} (got '{value}')")
    return value


def parse_search(kind: NumberKind, query: Mapping[str, str]) -> Search:
    """Validate the query of ``GET …/available``.

    Raises:
        ApiError: 400 ``invalid.value`` naming the first bad parameter.
    """
    raw = query.get("numberOfResults", str(DEFAULT_RESULTS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RESULTS:
        raise invalid_value("numberOfResults", f"numberOfResults must be 1 to {MAX_RESULTS} (got '{raw}')")
    vanity = query.get("vanity", "")
    if vanity and VANITY.fullmatch(vanity) is None:
        raise invalid_value("vanity", f"vanity must be 4 to 7 letters or digits (got '{vanity}')")
    if kind is NumberKind.TOLLFREE:
        return Search(kind, int(raw), vanity.upper())
    country = query.get("country", "US").upper()
    if country not in AREA_CODES:
        raise invalid_value("country", f"country must be US or CA (got '{country}')")
    return Search(kind, int(raw), vanity.upper(), _digits(query, "areaCode", r"[2-9]\d\d"),
                  _digits(query, "exchangeCode", r"[2-9]\d\d"), country,
                  _digits(query, "endsWith", r"\d{1,4}"), _digits(query, "longCode", r"\+?1?\d{1,10}"))


def _tail(s: Search) -> str:
    """The fixed last digits a number must end with (vanity letters on the keypad, or ``endsWith``)."""
    vanity = "".join(_KEYPAD.get(c, c) for c in s.vanity)
    return vanity or s.ends_with


def _candidate(s: Search, rng: random.Random) -> str:
    if s.kind is NumberKind.TOLLFREE:
        head = "1" + rng.choice(TOLLFREE_PREFIXES)
    else:
        head = "1" + (s.area_code or rng.choice(AREA_CODES[s.country]))
        head += s.exchange_code or str(rng.randint(200, 999))
    number = head + "".join(str(rng.randint(0, 9)) for _ in range(11 - len(head)))
    tail = _tail(s)
    # A long tail may overwrite the exchange; ``search`` drops the numbers that are then malformed.
    return number[:11 - len(tail)] + tail


def search(s: Search, seed: int, taken: Callable[[str], bool]) -> list[str]:
    """Up to ``s.count`` numbers matching the search and not yet provisioned, the same on every run.

    Args:
        s: the parsed query.
        seed: the fake's inventory seed.
        taken: tells whether a number is already provisioned.

    Raises:
        ApiError: 400 when ``longCode`` asks for a prefix no generated number can have.
    """
    rng = random.Random(f"{seed}:{s}")  # a str seed is hashed stably, unlike hash()
    prefix = s.starts_with.lstrip("+")
    if prefix and not prefix.startswith("1"):
        prefix = "1" + prefix
    found: list[str] = []
    for _ in range(s.count * 50):  # bounded: a narrow query may match fewer numbers than asked
        number = _candidate(s, rng)
        if prefix and not number.startswith(prefix):
            number = prefix + number[len(prefix):]
        if number in found or taken(number) or normalise(s.kind, number) is None:
            continue
        found.append(number)
        if len(found) == s.count:
            break
    return found


def check_order_number(kind: NumberKind, value: object, field: str) -> str:
    """The normalised code of a number named in an order, or a 400 naming the field.

    Raises:
        ApiError: 400 ``invalid.value``.
    """
    code = normalise(kind, value) if isinstance(value, str) else None
    if code is None:
        expected = "a toll-free number such as 18445551212" if kind is NumberKind.TOLLFREE \
            else "a US or Canadian long code such as 13125551212"
        raise invalid_value(field, f"{field} must be {expected} (got {value!r})")
    return code

