"""Reading plain mappings (from YAML or JSON) into typed values, collecting every problem on the way.

Every configuration in smslab (the CIC SMS settings, broker definitions, fake settings, scenarios) is read
with a ``Reader``: it walks the mapping, converts and checks each field, and records a ``Problem`` with the
field path, the value and the reason for anything wrong, instead of stopping at the first one. The caller
builds its frozen objects from what the reader returns and calls ``Reader.raise_if_problems`` once at the
end: everything is parsed up front, and each error names the path, the value and the reason.

Example::

    r = Reader(data, "brokers[0]")
    name = r.text("name")
    port = r.integer("mo.incoming_port", default=8080, minimum=1, maximum=65535)
    r.done()                       # unknown keys are problems too
    r.raise_if_problems(source="lab.yaml")
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

from sim.core.errors import ConfigError, Problem

__all__ = ["MISSING", "Problems", "Reader", "unique"]

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Problems:
    """A list of problems shared by a reader and the readers it makes for nested fields."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, value: object, reason: str) -> None:
        """Record one problem."""
        self.items.append(Problem(path, value, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)


def _join(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


class Reader:
    """Typed access to one mapping, recording problems under its path.

    Args:
        data: the mapping to read (anything else is itself a problem).
        path: the mapping's path in the file, e.g. ``brokers[0].mt``.
        problems: the shared problem list; a new one when omitted.
    """

    def __init__(self, data: object, path: str = "", problems: Problems | None = None) -> None:
        self.path = path
        self.problems = problems if problems is not None else Problems()
        self.used: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.problems.add(path or "(top)", data, "must be a mapping")
            data = {}
        self.data: Mapping[str, Any] = data

    # -- plumbing -----------------------------------------------------------------------------------

    def at(self, key: str) -> str:
        """The full path of ``key`` under this reader."""
        return _join(self.path, key)

    def problem(self, key: str, value: object, reason: str) -> None:
        """Record a problem about ``key`` of this mapping."""
        self.problems.add(self.at(key), value, reason)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present."""
        return key in self.data

    def raw(self, key: str, default: Any = MISSING) -> Any:
        """The value of ``key`` as it is; a 'required' problem when it is missing and has no default."""
        self.used.add(key)
        if key in self.data:
            return self.data[key]
        if default is MISSING:
            self.problems.add(self.at(key), None, "is required")
        return default

    def done(self, *ignored: str) -> None:
        """Report every key that no accessor read (a misspelt field should not pass silently)."""
        for key in self.data:
            if key not in self.used and key not in ignored:
                self.problems.add(self.at(str(key)), self.data[key], "is not a known field")

    def raise_if_problems(self, source: str = "") -> None:
        """Raise ``ConfigError`` with every problem recorded so far, if any.

        Raises:
            ConfigError: when anything was recorded.
        """
        if self.problems:
            raise ConfigError(list(self.problems), source)

    # -- typed accessors ----------------------------------------------------------------------------

    def child(self, key: str, default: Any = MISSING) -> Reader:
        """A reader for the nested mapping at ``key`` (an empty one when it is absent and optional)."""
        value = self.raw(key, {} if default is MISSING else default)
        return Reader(value, self.at(key), self.problems)

    def items(self, key: str, default: Any = MISSING) -> list[tuple[str, Any]]:
        """The list at ``key``, each element paired with its path ``key[i]``."""
        value = self.raw(key, default)
        if value is MISSING or value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, value, "must be a list")
            return []
        return [(_join(self.at(key), i), v) for i, v in enumerate(value)]

    def children(self, key: str) -> list[Reader]:
        """Readers for each mapping in the list at ``key`` (optional; absent means empty)."""
        return [Reader(v, p, self.problems) for p, v in self.items(key, [])]

    def text(self, key: str, default: Any = MISSING, *, allow_empty: bool = True,
             pattern: str | None = None) -> str:
        """A string field; numbers are not silently turned into strings."""
        value = self.raw(key, default)
        if value is MISSING:
            return ""
        if not isinstance(value, str):
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # YAML reads 8080 or 13175550100 as ints; their text is what was meant
            else:
                self.problem(key, value, "must be a string")
                return "" if default is MISSING else str(default)
        out = str(value)
        if not allow_empty and not out:
            self.problem(key, out, "must not be empty")
        if pattern is not None and out and re.fullmatch(pattern, out) is None:
            self.problem(key, out, f"must match {pattern}")
        return out

    def boolean(self, key: str, default: Any = MISSING) -> bool:
        """A boolean; 0 and 1 are accepted, as CIC server parameters are written that way."""
        value = self.raw(key, default)
        if value is MISSING:
            return False
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1"):
            return str(value) == "1"
        self.problem(key, value, "must be true, false, 0 or 1")
        return bool(default) if default is not MISSING else False

    def integer(self, key: str, default: Any = MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """An integer within optional bounds (inclusive)."""
        value = self.raw(key, default)
        if value is MISSING:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            else:
                self.problem(key, value, "must be a whole number")
                return int(default) if isinstance(default, int) else 0
        self._bounds(key, value, minimum, maximum)
        return value

    def number(self, key: str, default: Any = MISSING, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        """A real number within optional bounds (inclusive)."""
        value = self.raw(key, default)
        if value is MISSING:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value, default):
            why = "must be a finite number" if isinstance(value, float) else "must be a number"
            self.problem(key, value, why)
            return float(default) if isinstance(default, (int, float)) else 0.0
        self._bounds(key, value, minimum, maximum)
        return float(value)

    def _bounds(self, key: str, value: float, minimum: float | None, maximum: float | None) -> None:
        if minimum is not None and value < minimum:
            self.problem(key, value, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.problem(key, value, f"must be at most {maximum}")

    def choice(self, key: str, enum: type[E], default: Any = MISSING) -> E:
        """A member of ``enum``, matched by value, case-insensitively."""
        value = self.raw(key, default)
        if isinstance(value, enum):
            return value
        members = list(enum)
        for member in members:
            if isinstance(value, str) and str(member.value).lower() == value.lower():
                return member
        if value is not MISSING:
            allowed = ", ".join(str(m.value) for m in members)
            self.problem(key, value, f"must be one of {allowed}")
        return default if isinstance(default, enum) else members[0]

    def regex(self, key: str, default: Any = MISSING, flags: int = 0) -> re.Pattern[str]:
        """A regular expression, compiled now so a bad one is reported at load time."""
        source = self.text(key, default)
        try:
            return re.compile(source, flags)
        except re.error as exc:
            self.problem(key, source, f"is not a valid regular expression: {exc}")
            return re.compile(re.escape(source), flags)

    def strings(self, key: str, default: Any = MISSING) -> tuple[str, ...]:
        """A list of strings (a single string counts as a list of one)."""
        value = self.raw(key, default)
        if value is MISSING or value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.problem(key, value, "must be a list of strings")
            return ()
        return tuple(str(v) for v in value)

    def mapping(self, key: str, default: Any = MISSING) -> dict[str, str]:
        """A flat mapping of names to string values (e.g. broker options)."""
        value = self.raw(key, default)
        if value is MISSING or value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(key, value, "must be a mapping of names to values")
            return {}
        out: dict[str, str] = {}
        for name, item in value.items():
            if isinstance(item, (dict, list)):
                self.problems.add(_join(self.at(key), str(name)), item, "must be a single value")
                continue
            out[str(name)] = "" if item is None else str(item)
        return out

    def custom(self, key: str, convert: Callable[[Any], T], default: Any = MISSING) -> T | None:
        """Apply ``convert`` to the value; a ``ValueError`` it raises becomes the problem's reason."""
        value = self.raw(key, default)
        if value is MISSING:
            return None
        try:
            return convert(value)
        except ValueError as exc:
            self.problem(key, value, str(exc))
            return None


def _finite(value: float, default: Any) -> bool:
    """Whether ``value`` is finite; NaN would pass every bound (each comparison is false) and infinity is no
    setting's value, so only a default may be infinite (e.g. "no maximum")."""
    return math.isfinite(value) or value is default


def unique(problems: Problems, entries: Sequence[tuple[str, object]], what: str) -> None:
    """Record a problem for each entry whose value repeats an earlier one (empty values are skipped)."""
    seen: dict[object, str] = {}
    for path, value in entries:
        if value in (None, ""):
            continue
        if value in seen:
            problems.add(path, value, f"must be unique among {what} (also at {seen[value]})")
        else:
            seen[value] = path
