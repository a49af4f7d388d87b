"""HTTP values and field encodings shared by both ends (no sockets: plain values in and out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from sim.brokerdef.definition import Placement
from sim.core.body import loads
from sim.core.errors import InputError

__all__ = [
    "FORM_TYPE",
    "JSON_TYPE",
    "XML_TYPE",
    "Account",
    "HttpAnswer",
    "HttpRequest",
    "body_for",
    "decode_fields",
    "decode_json_object",
    "encode_fields",
    "join_url",
    "media_type",
]

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
XML_TYPE = "text/xml; charset=utf-8"
# A request with more fields than this is not an SMS request; parse_qsl stops there instead of growing.
_MAX_FIELDS = 1000


@dataclass(frozen=True)
class Account:
    """A broker account as CIC holds it (SMS Technical Reference, "Configure Broker Accounts")."""

    id: str
    login: str = ""
    password: str = ""


@dataclass(frozen=True)
class HttpRequest:
    """A request one end makes: method, full URL (query included), headers and body."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str:
        """The first value of header ``name`` (case-insensitive), or ``""``."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    @property
    def query(self) -> str:
        """The query string of :attr:`url`, without ``?``."""
        return urlsplit(self.url).query

    @property
    def path(self) -> str:
        """The path of :attr:`url`."""
        return urlsplit(self.url).path


@dataclass(frozen=True)
class HttpAnswer:
    """An answer one end gives: status, headers and body."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def join_url(base: str, path: str, query: str = "") -> str:
    """``base`` (a gateway or push URL) joined with ``path`` and ``query``.

    CIC "combines this destination with a service path" (SMS Technical Reference, "Configure Broker
    Message Terminated settings"), so the gateway's own path, if any, is kept in front of the outgoing path.
    """
    url = base.rstrip("/") + path if path else base
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def encode_fields(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs as an ``application/x-www-form-urlencoded`` string (UTF-8, the encoding of every sample)."""
    return urlencode(list(pairs), encoding="utf-8")


def media_type(content_type: str) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def decode_fields(query: str, content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The fields of a query string plus a form body (DirectTEXT clients use either).

    Raises:
        InputError: a field is not valid UTF-8, or there are too many.
    """
    pairs = _parse(query)
    if body and media_type(content_type) == FORM_TYPE:
        try:
            pairs += _parse(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"the form body is not valid UTF-8: {exc}") from exc
    return pairs


def _parse(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=_MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise InputError(f"a field is not valid UTF-8 once decoded: {exc}") from exc
    except ValueError as exc:
        raise InputError(f"the request has too many fields: {exc}") from exc


def decode_json_object(body: bytes) -> dict[str, object]:
    """A JSON object body, read by ``sim.core.body.loads``.

    Raises:
        InputError: the body is not UTF-8 JSON the lab takes (``BodyError``), or not an object.
    """
    document = loads(body)
    if not isinstance(document, dict):
        raise InputError("the JSON body must be an object")
    return document


def body_for(placement: Placement, pairs: Sequence[tuple[str, str]]) -> tuple[str, str, bytes]:
    """``(query, content_type, body)`` carrying flat ``pairs`` in ``placement`` (not XML)."""
    if placement is Placement.QUERY:
        return encode_fields(pairs), "", b""
    if placement is Placement.FORM:
        return "", FORM_TYPE, encode_fields(pairs).encode("ascii")
    return "", JSON_TYPE, json.dumps(dict(pairs), ensure_ascii=False).encode("utf-8")
