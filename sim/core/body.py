"""The one reading of JSON request bodies, and the one writing of JSON answers, for every door of the lab.

``json.loads`` alone lets through what later breaks a store or a view, or the server itself: a lone
surrogate written as ``"\\ud800"`` (text that cannot be encoded as UTF-8), ``NaN``, ``Infinity`` and
``1e999`` (numbers JSON does not have), a document nested so deep that parsing it raises
``RecursionError``, and an integer too long to convert (``ValueError``). ``loads`` refuses all of them
with a ``BodyError``, an ``InputError`` whose ``reason`` tells each speaker which of its own errors to
answer; nothing is parsed half-way, so nothing is stored.

``dumps`` is the other half: what a view writes can always be encoded, so a view never fails because
of what it shows.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from typing import Any, NoReturn

from sim.core.errors import InputError

__all__ = ["MAX_DEPTH", "BodyError", "BodyReason", "check_encodable", "dumps", "loads"]

#: Arrays and objects nested deeper than this are refused (no SMS document comes close).
MAX_DEPTH = 64


class BodyReason(Enum):
    """Why a body was refused, so each speaker can map it to its own answer."""

    MALFORMED = "malformed"      # not JSON, or JSON this lab does not take (non-finite, too deep, too long)
    ENCODING = "encoding"        # bytes that are not UTF-8, or text that cannot be encoded as UTF-8
    MEDIA_TYPE = "media_type"    # the Content-Type is not the one the door reads
    TOO_LARGE = "too_large"      # over the server's body limit


_STATUS = {BodyReason.MEDIA_TYPE: 415, BodyReason.TOO_LARGE: 413}


class BodyError(InputError):
    """A request body the lab refuses to read.

    Args:
        message: what was wrong, for the sender.
        reason: the kind of problem (the status follows from it: 415, 413, else 400).
    """

    def __init__(self, message: str, reason: BodyReason = BodyReason.MALFORMED) -> None:
        super().__init__(message, _STATUS.get(reason, 400))
        self.reason = reason


def _no_constant(name: str) -> NoReturn:
    raise BodyError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"{text[:40]} is out of range for a number")
    return value


def loads(data: bytes | str) -> Any:
    """The JSON value of ``data`` (UTF-8 bytes or text), every number finite and every string encodable.

    Raises:
        BodyError: ``ENCODING`` for bytes that are not UTF-8 or a string that cannot be encoded (a lone
            surrogate); ``MALFORMED`` for text that is not JSON, ``NaN``/``Infinity``/an out-of-range
            number, an integer too long to read, or nesting deeper than ``MAX_DEPTH``.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"the body is not valid UTF-8 (byte {exc.start})", BodyReason.ENCODING) from None
    else:
        text = check_encodable(data)
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BodyError(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    except ValueError as exc:  # an integer over the interpreter's digit limit
        raise BodyError(f"the body holds a number too long to read: {str(exc).split(':')[0]}") from None
    # Each check looks only where the text could hold what it looks for: a lone surrogate comes only from a
    # \uD800-\uDFFF escape, and nesting deeper than MAX_DEPTH needs more brackets than that.
    if _SURROGATE_ESCAPE.search(text) is not None:
        _check_strings(value)
    if text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_depth(value: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH``: one level of containers at a time, no recursion."""
    level = [value] if isinstance(value, (list, dict)) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise BodyError(f"the body is nested deeper than {MAX_DEPTH} levels")
        level = [m for item in level for m in (item.values() if isinstance(item, dict) else item)
                 if isinstance(m, (list, dict))]


def _check_strings(value: Any) -> None:
    """Refuse a string (or member name) that cannot be encoded, naming the member that holds it."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, name = stack.pop()
        if isinstance(item, str):
            check_encodable(item, name)
        elif isinstance(item, list):
            stack.extend((m, name) for m in item)
        elif isinstance(item, dict):
            stack.extend((m, check_encodable(k)) for k, m in item.items())


def check_encodable(text: str, name: str = "") -> str:
    """``text`` when it can be encoded as UTF-8.

    Raises:
        BodyError: ``ENCODING`` naming the first unpaired surrogate.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = f"{name!r}" if name else "a string"
        raise BodyError(f"{where} holds an unpaired surrogate (U+{ord(text[exc.start]):04X} at index "
                        f"{exc.start}), which is not text", BodyReason.ENCODING) from None
    return text


def dumps(data: Any, **options: Any) -> bytes:
    """``data`` as UTF-8 JSON (non-ASCII kept), never failing on text.

    A lone surrogate that reached a store anyway is written as its ``\\uXXXX`` escape, as
    ``ensure_ascii`` would, so the answer is still JSON; values JSON has no form for are written with
    ``str`` (``options`` go to ``json.dumps``).
    """
    options.setdefault("default", str)
    return json.dumps(data, ensure_ascii=False, **options).encode("utf-8", "backslashreplace")
