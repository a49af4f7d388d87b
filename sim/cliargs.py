"""Argument types every ``smslab`` command shares, so a bad value is refused by the parser with a reason.

``argparse`` calls a ``type`` with the text given and turns an ``ArgumentTypeError`` into
``smslab X: error: argument --port: ...`` and exit 2, before anything is bound or started. Each function
here is such a type: a port, a count or a duration that must be positive, a share between 0 and 1, an HTTP
URL. They live in the shared layer because the fakes, the simulated CIC and proxy, the scenarios and the
benches all parse the same kinds of value.
"""

from __future__ import annotations

import argparse
import math
import re
from urllib.parse import urlsplit

__all__ = ["http_url", "port", "positive_float", "positive_int", "seconds", "share", "summary", "whole"]


def port(text: str) -> int:
    """A TCP port: a whole number from 0 (any free port) to 65535."""
    value = _int(text, "a port")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 0 to 65535 (got {text})")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (a count of messages, rounds, workers)."""
    value = _int(text, "a count")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {text})")
    return value


def whole(text: str) -> int:
    """A whole number of at least 0."""
    value = _int(text, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {text})")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds, minutes)."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text})")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds, 0 or more (a pause that may be none)."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {text})")
    return value


def share(text: str) -> float:
    """A fraction above 0 and at most 1."""
    value = _float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1 (got {text})")
    return value


def http_url(text: str) -> str:
    """An absolute ``http://`` or ``https://`` URL with a host (and a valid port, when one is given)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"is not a valid URL: {exc} (got {text!r})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL with a host (got {text!r})")
    return text


def summary(doc: str | None) -> str:
    """The first paragraph of a module docstring as plain help text (``reST`` literals lose their quotes)."""
    first = (doc or "").strip().split("\n\n")[0]
    return " ".join(re.sub(r"``([^`]*)``", r"\1", first).split())


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} is a whole number (got {text!r})") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text})")
    return value
