"""Reading request bodies and writing JSON the way the platform does, sans-IO.

Bad bodies become ``ApiError`` here, so the handlers see only parsed values. The choices where the
platform's exact behaviour is unknown (documented in the package docstring):

* a JSON endpoint given another ``Content-Type`` answers 415 ``unsupported.media.type`` (a code the
  platform lists), not 400;
* a body over the size limit (the shared ``client_max_size``) answers 413
  ``request.entity.too.large`` (code [I]);
* bytes that are not UTF-8, text that is not JSON, or JSON this lab refuses everywhere (a lone
  surrogate, ``NaN``, nesting too deep: ``sim.core.body.loads``) answer 400 ``bad.request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from fakes.portico.errors import ApiError, bad_request, invalid_value
from sim.core import body as jsonbody

__all__ = ["dumps", "iso", "optional_text", "parse_form", "parse_json", "required_text", "url_field"]

JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"


def iso(seconds: float) -> str:
    """A clock reading as the platform writes dates: ISO 8601, UTC, milliseconds, ``Z``."""
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def dumps(data: object) -> bytes:
    """Compact UTF-8 JSON, as the platform sends it (``sim.core.body.dumps``: it never fails on text)."""
    return jsonbody.dumps(data, separators=(",", ":"))


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _text(body: bytes, limit: int) -> str:
    if len(body) > limit:
        raise ApiError(413, "request.entity.too.large",
                       f"The request body is larger than the limit of {limit} bytes.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"The request body is not valid UTF-8 (byte {exc.start}).") from exc


def parse_json(body: bytes, content_type: str, limit: int) -> object:
    """The JSON value of a request body.

    Raises:
        ApiError: 415 for another media type, 413 when too large, 400 for bad UTF-8, bad or no JSON.
    """
    media = _media_type(content_type)
    if media not in JSON_TYPES:
        raise ApiError(415, "unsupported.media.type",
                       f"Content-Type must be application/json (got '{media or 'none'}').")
    text = _text(body, limit)
    if not text.strip():
        raise bad_request("A request body is required.")
    try:
        return jsonbody.loads(text)
    except jsonbody.BodyError as exc:
        why = str(exc)
        raise bad_request(f"{why[:1].upper()}{why[1:]}.") from None


def parse_form(body: bytes, content_type: str) -> dict[str, str] | None:
    """The fields of a form body, or None when it is not a readable form (the caller decides the error)."""
    if _media_type(content_type) != FORM_TYPE:
        return None
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return None


def optional_text(data: Mapping[str, object], name: str, path: str = "") -> str:
    """A string member, ``""`` when absent or null.

    Raises:
        ApiError: 400 ``invalid.value`` when present and not a string.
    """
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_value(path + name, f"{path + name} must be a string (got {value!r})")
    return value


def required_text(data: Mapping[str, object], name: str, path: str = "") -> str:
    """A non-empty string member.

    Raises:
        ApiError: 400 ``invalid.value`` when absent, empty or not a string.
    """
    value = optional_text(data, name, path)
    if not value:
        raise invalid_value(path + name, f"{path + name} is required")
    return value


def url_field(data: Mapping[str, object], name: str, path: str = "", *, required: bool = False) -> str:
    """An absolute http(s) URL member (webhook and LOA URLs), ``""`` when optional and absent.

    Raises:
        ApiError: 400 ``invalid.value`` when malformed, or absent and required.
    """
    value = required_text(data, name, path) if required else optional_text(data, name, path)
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise invalid_value(path + name, f"{path + name} must be an absolute http or https URL "
                                         f"(got '{value}')")
    return value
