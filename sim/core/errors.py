"""The two kinds of error the core raises: misuse by the caller, and bad input from a peer or a file.

``UsageError`` means the caller misused the core (a bug on our side or the plugged-in core's caller);
``InputError`` means a peer or a file sent something invalid, and carries the HTTP status a shell should
answer with. ``ConfigError`` is the input error of configuration files: it holds every problem found, each
naming the field path, the value and the reason, so a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ConfigError", "InputError", "Problem", "SegmentationError", "UsageError"]


class UsageError(Exception):
    """The caller used an API against its contract (wrong type, wrong order of calls)."""


class InputError(Exception):
    """A peer sent something invalid.

    Args:
        message: what was wrong, written for the person who sent it.
        status: the HTTP status a shell answers with.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SegmentationError(InputError):
    """A text cannot be segmented (an unpaired surrogate, or more parts than the UDH can number)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration: where, what value, and why."""

    path: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason} (got {self.value!r})"


class ConfigError(InputError):
    """A configuration has one or more problems; ``problems`` lists them in file order.

    Args:
        problems: every problem found.
        source: the file (or other origin) the configuration came from, for the message.
    """

    def __init__(self, problems: Iterable[Problem], source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        lines = [f"{prefix}{p}" for p in self.problems]
        super().__init__("\n".join(lines) or f"{prefix}invalid configuration", status=400)
