"""Strict reading of request bodies, shared by every fake's wire shell.

aiohttp's own ``request.post()`` replaces invalid UTF-8 silently; a fake must instead reject it in the
broker's own format (issue 3, "Bad input"). These helpers raise ``WireError`` (an ``InputError`` with a
``reason`` and the ``field`` at fault); the fake's one error conversion turns it into the broker's status
and body, and, since nothing is captured before the body is read, nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from enum import Enum
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import MultiDict

from sim.core.body import BodyError, BodyReason, loads
from sim.core.errors import InputError
from sim.serving import read_body as read_raw_body

__all__ = [
    "FORM", "JSON", "WireError", "WireReason", "basic_credentials", "check_basic", "form_fields",
    "json_body", "params", "query_fields", "read_body", "split_form", "text_body", "wire_error",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class WireReason(Enum):
    """Why a request was refused, so each broker can map it to its own code."""

    MISSING = "missing"                  # a required parameter is absent or empty
    INVALID = "invalid"                  # a parameter has a bad value
    MALFORMED = "malformed"              # the body does not parse (form, JSON, XML)
    ENCODING = "encoding"                # not valid UTF-8
    MEDIA_TYPE = "media_type"            # wrong Content-Type
    TOO_LARGE = "too_large"              # over client_max_size
    UNAUTHORIZED = "unauthorized"        # credentials missing or wrong
    NOT_FOUND = "not_found"              # no such path (or resource)
    METHOD = "method"                    # method not allowed
    THROTTLED = "throttled"              # too many requests
    OTHER = "other"


_STATUS = {WireReason.MEDIA_TYPE: 415, WireReason.TOO_LARGE: 413, WireReason.UNAUTHORIZED: 401,
           WireReason.NOT_FOUND: 404, WireReason.METHOD: 405, WireReason.THROTTLED: 429}


class WireError(InputError):
    """A request the broker refuses.

    Args:
        message: what was wrong, for the sender.
        reason: the kind of problem.
        field: the parameter at fault, if any.
        status: the HTTP status; defaults by reason (400 unless 401/404/405/413/415/429 fits).
    """

    def __init__(self, message: str, reason: WireReason = WireReason.INVALID, field: str = "",
                 status: int | None = None) -> None:
        super().__init__(message, _STATUS.get(reason, 400) if status is None else status)
        self.reason = reason
        self.field = field


_BODY_REASON = {BodyReason.MALFORMED: WireReason.MALFORMED, BodyReason.ENCODING: WireReason.ENCODING,
                BodyReason.MEDIA_TYPE: WireReason.MEDIA_TYPE, BodyReason.TOO_LARGE: WireReason.TOO_LARGE}


def wire_error(error: BodyError) -> WireError:
    """The ``WireError`` of a body ``sim.core.body`` or ``sim.serving`` refused."""
    return WireError(str(error), _BODY_REASON[error.reason])


async def read_body(request: web.Request) -> bytes:
    """The raw body (``sim.serving.read_body``); too large (413) or undecodable (400) as a ``WireError``."""
    try:
        return await read_raw_body(request)
    except BodyError as exc:
        raise wire_error(exc) from None


def _media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


def split_form(raw: str) -> list[tuple[str, str]]:
    """The pairs ``parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")`` gives.

    The same rules (``&`` separates, ``+`` is a space, a name without ``=`` has an empty value, empty
    parts are skipped), written out because every MT a fake accepts goes through it
    (``loadtests.bench_fakes``).

    Raises:
        UnicodeDecodeError: a percent-encoded sequence is not UTF-8.
    """
    pairs = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_unquote(name), _unquote(value)))
    return pairs


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text, "utf-8", "strict") if "%" in text else text


def _parse_qs(raw: str, where: str) -> MultiDict[str]:
    if not raw:
        return MultiDict()
    try:
        return MultiDict(split_form(raw))
    except UnicodeDecodeError as exc:
        raise WireError(f"{where} is not valid UTF-8 after URL-decoding", WireReason.ENCODING) from exc


def query_fields(request: web.Request) -> MultiDict[str]:
    """The query string's fields, percent-decoded as strict UTF-8 (repeated names kept)."""
    raw = request.raw_path.partition("?")[2]
    return _parse_qs(raw, "query string")


async def form_fields(request: web.Request, *, allow_empty: bool = True) -> MultiDict[str]:
    """The form body's fields; the content type must be form-encoded when there is a body."""
    body = await read_body(request)
    if not body and allow_empty:
        return MultiDict()
    if _media_type(request) != FORM:
        raise WireError(f"Content-Type must be {FORM} (got {request.headers.get('Content-Type', '')!r})",
                        WireReason.MEDIA_TYPE)
    try:
        raw = body.decode("ascii")
    except UnicodeDecodeError as exc:  # a form body is ASCII: other bytes must be percent-encoded
        raise WireError("form body is not valid URL-encoded text", WireReason.ENCODING) from exc
    return _parse_qs(raw, "form body")


async def params(request: web.Request) -> MultiDict[str]:
    """Query-string fields followed by form-body fields, as brokers that accept either read them."""
    merged = query_fields(request)
    if request.method in ("GET", "HEAD"):
        return merged
    form = await form_fields(request)
    if not merged:
        return form
    merged.extend(form)
    return merged


async def text_body(request: web.Request, *media_types: str) -> str:
    """The body as strict UTF-8 text, its media type checked against ``media_types`` when given."""
    if media_types and _media_type(request) not in media_types:
        wanted = " or ".join(media_types)
        raise WireError(f"Content-Type must be {wanted} (got {request.headers.get('Content-Type', '')!r})",
                        WireReason.MEDIA_TYPE)
    body = await read_body(request)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("body is not valid UTF-8", WireReason.ENCODING) from exc


async def json_body(request: web.Request) -> Any:
    """The body parsed as JSON (``application/json`` or ``+json`` required) by ``sim.core.body.loads``."""
    media = _media_type(request)
    if media != JSON and not media.endswith("+json"):
        raise WireError(f"Content-Type must be {JSON} (got {request.headers.get('Content-Type', '')!r})",
                        WireReason.MEDIA_TYPE)
    try:
        return loads(await read_body(request))
    except BodyError as exc:
        raise wire_error(exc) from None


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """``(username, password)`` from ``Authorization: Basic``, or ``None`` when absent or unreadable."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def check_basic(request: web.Request, username: str, password: str) -> bool:
    """Whether the request carries exactly these Basic credentials (compared in constant time)."""
    given = basic_credentials(request)
    if given is None:
        return False
    same_user = hmac.compare_digest(given[0].encode(), username.encode())
    return hmac.compare_digest(given[1].encode(), password.encode()) and same_user
