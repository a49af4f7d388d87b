"""What every server of the lab shares: stopping on a signal, one ready line, reading bodies, JSON answers.

A parent (a ``--processes`` lab, a user's script) starts the child, reads the first JSON line it prints for
its real URLs (everything binds port 0), and ends it with SIGTERM. ``stop_event`` and ``announce`` are those
two halves, written once; ``serve_until_stopped`` is the whole life of such a child between them (start,
announce, wait for the signal, stop), for the servers that need nothing more.

Every server reads a request body through ``read_body`` (and a JSON body through ``read_json``), so a body
too large, or one that cannot be decoded as its ``Content-Encoding`` says, is a ``BodyError`` each speaker
answers in its own format, never a 500; ``json_response`` writes what ``sim.core.body.dumps`` writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TextIO

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from sim.core.body import BodyError, BodyReason, dumps, loads

__all__ = ["JSON", "REDACTED", "RedactingFilter", "announce", "json_response", "media_type", "read_body",
           "read_json", "redact", "redact_logs", "serve_until_stopped", "stop_event"]

JSON = "application/json"


def stop_event(stop: asyncio.Event | None = None) -> asyncio.Event:
    """``stop`` when given (a test's own), else a new event set by SIGINT and SIGTERM on the running loop."""
    redact_logs()
    if stop is not None:
        return stop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def announce(line: Mapping[str, Any], out: TextIO | None = None) -> None:
    """Print ``line`` as one JSON line on ``out`` (stdout by default) and flush it at once."""
    out = out or sys.stdout
    out.write(json.dumps(dict(line)) + "\n")
    out.flush()


async def serve_until_stopped(start: Callable[[], Awaitable[str]],
                              stop_server: Callable[[], Awaitable[object]],
                              ready: Callable[[str], Mapping[str, Any]], *,
                              stop: asyncio.Event | None = None, out: TextIO | None = None) -> int:
    """Start a server, print its ready line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it.

    Args:
        start: starts the server and returns its URL (with the real port).
        stop_server: stops it; called whatever ends the wait, once it has started.
        ready: the ready line for the URL (``announce`` prints it on ``out``).
        stop: a test's own event; ``None`` waits for SIGINT or SIGTERM (``stop_event``).
        out: where the ready line goes (stdout by default).

    Returns:
        0, the exit status of a server stopped by its signal.
    """
    # The signal handlers go in before the server binds, so a signal from a quick parent is not lost.
    stop = stop_event(stop)
    url = await start()
    try:
        announce(ready(url), out)
        await stop.wait()
    finally:
        await stop_server()
    return 0


async def read_body(request: web.Request) -> bytes:
    """The raw body of ``request``, as every server of the lab reads it.

    Raises:
        BodyError: ``TOO_LARGE`` over the application's ``client_max_size``; ``MALFORMED`` when the body
            cannot be read as its headers say (a ``Content-Encoding: gzip`` body that is not gzip, a
            broken chunked encoding).
    """
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyError(f"request body too large (limit {request.client_max_size} bytes)",
                        BodyReason.TOO_LARGE) from None
    except RequestPayloadError as exc:
        # The rest of the body is as unreadable and the connection cannot carry another request: end the
        # body here (else aiohttp drains it after the answer, fails again and logs it as unhandled), and
        # answer with "Connection: close" (aiohttp takes it from the request's should_close) and close.
        request.content.feed_eof()
        request._message = request._message._replace(should_close=True)
        request.protocol.close()
        raise BodyError(f"the request body cannot be read: {str(exc).splitlines()[-1].strip()}") from None


def media_type(request: web.Request) -> str:
    """The request's media type, lower-cased, without parameters (``""`` when there is none)."""
    return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


async def read_json(request: web.Request, *, empty: Any = None) -> Any:
    """The ``application/json`` body of ``request``, read with ``sim.core.body.loads``.

    Args:
        request: the request.
        empty: what an empty body means; ``None`` refuses it as not JSON.

    Raises:
        BodyError: ``MEDIA_TYPE`` for any other Content-Type (none included), and what ``read_body`` and
            ``loads`` raise.
    """
    if media_type(request) != JSON:
        given = request.headers.get("Content-Type", "")
        raise BodyError(f"Content-Type must be {JSON} (got {given[:80]!r})", BodyReason.MEDIA_TYPE)
    raw = await read_body(request)
    if empty is not None and not raw.strip():
        return empty
    return loads(raw)


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer (UTF-8, non-ASCII kept) that can always be written (``sim.core.body.dumps``)."""
    return web.Response(body=dumps(data), status=status, content_type=JSON, charset="utf-8")


# -- what the lab logs -----------------------------------------------------------------------------------

#: Header lines and form or query fields that carry credentials, as a request or its raw bytes show them
#: (aiohttp quotes the raw line of a request it cannot parse, e.g. ``b'api-key: ...\x01'``).
_SECRET_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization|x-api-key|api-?key|cookie)(\s*:\s*)"
                            r"([^\r\n'\"]+)")
_SECRET_FIELD = re.compile(r"(?i)(?<![\w-])(pass|password|passwd|pwd|secret|client_secret|api_?key|"
                           r"access_token|token)=([^&\s'\"]+)")
#: What a log shows in place of a credential.
REDACTED = "***"
_AIOHTTP_LOGGERS = ("aiohttp.server", "aiohttp.access", "aiohttp.web", "aiohttp.client", "aiohttp.internal")


def redact(text: str) -> str:
    """``text`` with the values of credential headers (``Authorization``, ``api-key``...) and credential
    fields (``Pass=``, ``password=``, ``client_secret=``...) replaced by ``REDACTED``."""
    text = _SECRET_HEADER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _SECRET_FIELD.sub(lambda m: f"{m[1]}={REDACTED}", text)


class RedactingFilter(logging.Filter):
    """A filter that redacts a record's message and traceback (``redact``) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_logs() -> None:
    """Redact credentials in everything aiohttp logs for the lab's servers (idempotent).

    aiohttp's log of a request it could not parse repeats the raw request line or header, credentials
    and all; its access log repeats query strings.
    """
    for name in _AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
