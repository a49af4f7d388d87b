"""The Digital Channels error envelope, and the one place a refusal becomes status and body.

Digital Channels wraps every answer of its aggregator-facing API as ``{"status": {"code", "message"}}``
plus ``data`` (Genesys Multicloud CX developer documentation, "Third-Party Messaging API", the media
upload's 200 and 400 answers: ``status.code`` 0 on success). The numeric codes of its errors are not
published (GAP): smslab puts the HTTP status in ``status.code``, so a client reading either agrees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sim.core.errors import InputError, Problem

__all__ = ["NexusError", "bad_request", "envelope", "from_problems", "render_error"]


class NexusError(InputError):
    """A request Digital Channels refuses.

    Args:
        message: what was wrong, for the caller.
        status: the HTTP status answered (400, 401, 403, 404, 405, 409, 413, 415, 502).
        headers: extra response headers (``Allow`` on a 405).
    """

    def __init__(self, message: str, status: int = 400, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status)
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> NexusError:
    """A 400 with ``message``."""
    return NexusError(message, 400)


def from_problems(problems: Iterable[Problem], what: str) -> NexusError:
    """A 400 listing every problem of a request body (each ``path: reason (got value)``)."""
    listed = "; ".join(str(p) for p in problems)
    return NexusError(f"invalid {what}: {listed}", 400)


def envelope(data: object = None, code: int = 0, message: str = "OK") -> bytes:
    """The JSON of a successful answer: ``status`` (code 0) plus ``data`` when there is any."""
    body: dict[str, object] = {"status": {"code": code, "message": message}}
    if data is not None:
        body["data"] = data
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def render_error(error: InputError) -> tuple[int, bytes, dict[str, str]]:
    """Status, envelope body and headers of a refusal (any ``InputError``; its status is kept)."""
    status = error.status if 400 <= error.status <= 599 else 400
    headers = dict(getattr(error, "headers", {}) or {})
    return status, envelope(code=status, message=str(error)), headers
