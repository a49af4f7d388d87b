"""A lean HTTP/1.1 client for the fakes' MO and DR pushes: keep-alive connections, one request at a time
per connection, the status and body read back, nothing else.

Why not aiohttp's client: a fake pushes one DLR for every MT it accepts, from the same event loop that serves
the MTs, and aiohttp's client costs about as much per request as serving one (``smslab bench fakes``). Pushes
need little of it: a method, a URL, a few headers, a small body, the status. This client keeps idle
connections per (scheme, host, port), reuses one when it can, retries once on a fresh connection when a
reused one turns out closed by the peer, and reads responses framed by Content-Length, chunked transfer
coding, or the end of the connection (RFC 9112 §6).
"""

from __future__ import annotations

import asyncio
import ssl as ssllib
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["Http1Pool", "ResponseError"]

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_MAX_HEADER_LINES = 100
_MAX_BODY = 1 << 20


class ResponseError(ValueError):
    """The peer answered something that is not an HTTP/1.1 response."""


class Http1Pool:
    """Keep-alive HTTP/1.1 connections for pushes.

    Args:
        ssl: the client TLS context for ``https`` targets (``None``: the default trust store; ``False``:
            no verification).
        idle_per_host: idle connections kept per host at most.
    """

    def __init__(self, ssl: ssllib.SSLContext | bool | None = None, idle_per_host: int = 64) -> None:
        if ssl is None or ssl is True:
            ssl = ssllib.create_default_context()
        elif ssl is False:
            ssl = ssllib.create_default_context()
            ssl.check_hostname = False
            ssl.verify_mode = ssllib.CERT_NONE
        self._ssl = ssl
        self._idle_limit = idle_per_host
        self._idle: defaultdict[tuple[str, str, int], list[_Conn]] = defaultdict(list)

    async def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
                      timeout: float) -> tuple[int, bytes]:
        """Send one request; returns the status and body.

        Raises:
            TimeoutError: no complete answer within ``timeout`` seconds.
            OSError: the connection failed.
            ResponseError: the answer is not HTTP/1.1, or a header value would break the request.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ResponseError(f"cannot push to {url!r}: not an http or https URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = _head(method, target, parts.netloc, headers, len(body))
        async with asyncio.timeout(timeout):
            reused = bool(self._idle[key])
            conn = self._idle[key].pop() if reused else await self._open(key)
            try:
                try:
                    status, payload, keep = await _exchange(conn, head + body)
                except (asyncio.IncompleteReadError, ConnectionError):
                    if not reused:
                        raise
                    conn[1].close()
                    conn = await self._open(key)  # the peer had closed the idle connection: one fresh try
                    status, payload, keep = await _exchange(conn, head + body)
            except BaseException:  # a timeout or a bad answer: this connection's state is unknown
                conn[1].close()
                raise
        if keep and len(self._idle[key]) < self._idle_limit:
            self._idle[key].append(conn)
        else:
            conn[1].close()
        return status, payload

    async def _open(self, key: tuple[str, str, int]) -> _Conn:
        scheme, host, port = key
        if scheme == "https":
            return await asyncio.open_connection(host, port, ssl=self._ssl, server_hostname=host)
        return await asyncio.open_connection(host, port)

    async def close(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()


def _head(method: str, target: str, host: str, headers: Mapping[str, str], length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0"):
            raise ResponseError(f"header {name!r} has a line break or NUL in its name or value")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _exchange(conn: _Conn, request: bytes) -> tuple[int, bytes, bool]:
    reader, writer = conn
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")  # the whole head in one read
    status_line, *lines = head[:-4].split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ResponseError(f"not an HTTP/1.1 status line: {status_line[:60]!r}")
    if len(lines) > _MAX_HEADER_LINES:
        raise ResponseError(f"more than {_MAX_HEADER_LINES} header lines")
    fields: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    keep = fields.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return int(code), await _chunked(reader), keep
    if "content-length" in fields:
        length = int(fields["content-length"])
        if length > _MAX_BODY:
            raise ResponseError(f"answer body of {length} bytes is over {_MAX_BODY}")
        return int(code), await reader.readexactly(length), keep
    if int(code) in (204, 304) or 100 <= int(code) < 200:
        return int(code), b"", keep
    return int(code), await reader.read(_MAX_BODY), False  # framed by the end of the connection


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer fields, if any
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) > _MAX_BODY:
            raise ResponseError(f"answer body over {_MAX_BODY} bytes")
