"""What Digital Channels reads off the wire: a request value, JSON with the line and column of a syntax
error, Basic credentials; the ``X-Hub-Signature`` HMAC is ``sim.core.signature``'s (re-exported).

Sans-IO: the shell builds a ``Request`` from aiohttp's and hands it on; nothing here touches a socket.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sim.core.signature import SignatureEncoding, sign, verify_signature
from sim.nexus.errors import NexusError

__all__ = ["JSON", "Request", "SignatureEncoding", "basic", "parse_form", "parse_json", "sign",
           "verify_signature"]

JSON = "application/json"


@dataclass(frozen=True)
class Request:
    """An HTTP request as the model sees it; header names are matched case-insensitively."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """A header's value, ``""`` when absent."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    def media_type(self) -> str:
        """The media type of ``Content-Type``, lower case, without parameters."""
        return self.header("Content-Type").split(";", 1)[0].strip().lower()


def parse_json(request: Request) -> object:
    """The JSON body of a request that must be ``application/json``.

    Raises:
        NexusError: 415 for another content type; 400 for text that is not UTF-8, or not JSON, giving the
            line and column of the error (the guide's ``mGageSMS`` body lacks a comma after ``url``).
    """
    if request.media_type() != JSON:
        shown = request.header("Content-Type") or "none"
        raise NexusError(f"Content-Type must be {JSON} (got {shown})", 415)
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NexusError(f"the body is not UTF-8: byte {exc.start} cannot be decoded", 400) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NexusError(f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                         400) from exc


def parse_form(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (a repeated name: the first wins).

    Raises:
        NexusError: 415 for another content type, 400 for a body that is not UTF-8.
    """
    if request.media_type() != "application/x-www-form-urlencoded":
        shown = request.header("Content-Type") or "none"
        raise NexusError(f"Content-Type must be application/x-www-form-urlencoded (got {shown})", 415)
    try:
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise NexusError(f"the form body cannot be read: {exc}", 400) from exc
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def basic(request: Request) -> tuple[str, str] | None:
    """The ``(username, password)`` of ``Authorization: Basic``, or ``None`` when absent or unreadable."""
    scheme, _, token = request.header("Authorization").partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None
