"""A lean HTTP/1.1 client for the fakes' MO and DR pushes: keep-alive connections, one request at a time
per connection, the status and body read back, nothing else.

Why not aiohttp's client, nor asyncio streams: a fake pushes one DLR for every MT it accepts, from the same
event loop that serves the MTs, so a push must cost well under what serving an MT costs
(``smslab bench fakes``). Each connection here is a plain ``asyncio.Protocol``: ``send`` writes the request
at once on an idle connection and the answer is parsed in ``data_received``, which calls the caller back;
no task and no future per push (only opening a connection takes a task). ``request`` is the awaitable
form of the same thing.

Idle connections are kept per (scheme, host, port); one the peer closes is dropped when it closes. A
request on a reused connection that the peer closed before answering goes once more on a fresh connection.
Answers are framed by Content-Length, chunked transfer coding, or the end of the connection (RFC 9112 §6).
"""

from __future__ import annotations

import asyncio
import ssl as ssllib
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sim.http1.parse import ResponseError, parse_response

__all__ = ["Done", "Http1Pool", "ResponseError"]

#: What ``send`` calls back with: ``(status, body, None)``, or ``(None, b"", error)``.
Done = Callable[[int | None, bytes, BaseException | None], None]
_Key = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request outstanding, the answer parsed as it arrives."""

    def __init__(self, pool: Http1Pool, key: _Key) -> None:
        self.pool, self.key = pool, key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._done: Done | None = None
        self._buffer = b""
        self._timer: asyncio.TimerHandle | None = None
        self._retry: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def start(self, request: bytes, deadline: float, done: Done, retry: Callable[[], None] | None) -> None:
        """Write ``request``; ``done`` is called once with its answer; ``retry`` if a stale peer closed."""
        assert self.transport is not None
        self._done, self._retry, self._buffer = done, retry, b""
        self._timer = self.pool.loop.call_at(deadline, self._timed_out)
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if self._done is None:  # bytes nobody asked for: the connection's state is unknown
            self._close()
            return
        self._buffer += data
        try:
            answer = parse_response(self._buffer, eof=False)
        except ResponseError as exc:
            self._finish(None, b"", exc, keep=False)
            return
        if answer is not None:
            status, body, keep = answer
            self._finish(status, body, None, keep)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost reads a close-framed answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self._done is None:
            return
        if not self._buffer and self._retry is not None:  # a stale keep-alive: once more, fresh
            retry, self._done = self._retry, None
            self._cancel_timer()
            retry()
            return
        try:
            answer = parse_response(self._buffer, eof=True)
        except ResponseError as bad:
            self._finish(None, b"", bad, keep=False)
            return
        if answer is not None:
            self._finish(answer[0], answer[1], None, keep=False)
            return
        error = exc if isinstance(exc, OSError) else asyncio.IncompleteReadError(self._buffer, None)
        self._finish(None, b"", error, keep=False)

    def _timed_out(self) -> None:
        self._timer = None
        self._finish(None, b"", TimeoutError(), keep=False)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self, status: int | None, body: bytes, error: BaseException | None, keep: bool) -> None:
        done, self._done, self._retry, self._buffer = self._done, None, None, b""
        self._cancel_timer()
        if keep and not self.closed:
            self.pool.release(self)
        else:
            self._close()
        if done is not None:
            done(status, body, error)

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection and forget its caller (the pool is closing)."""
        self._done = self._retry = None
        self._cancel_timer()
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


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
        self._idle: defaultdict[_Key, list[_Connection]] = defaultdict(list)
        self._busy: set[_Connection] = set()
        self._opening: set[asyncio.Task[None]] = set()
        self._targets: dict[str, tuple[_Key, str, str]] = {}
        self.loop = asyncio.get_running_loop()

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float,
             done: Done) -> None:
        """Send one request; ``done(status, body, error)`` is called once, from the loop, when it ends.

        The error, when there is one, is a ``TimeoutError`` (no complete answer within ``timeout``
        seconds), an ``OSError`` (the connection failed), an ``asyncio.IncompleteReadError`` (closed
        mid-answer) or a ``ResponseError`` (the answer is not HTTP/1.1).

        Raises:
            ResponseError: at once, for a URL that is not http(s) or a header that would break the request.
        """
        key, target, host = self._target(url)
        request = _head(method, target, host, headers, len(body)) + body
        deadline = self.loop.time() + timeout
        self._dispatch(key, request, deadline, done)

    async def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
                      timeout: float) -> tuple[int, bytes]:
        """Send one request and wait for its status and body.

        Raises:
            TimeoutError: no complete answer within ``timeout`` seconds.
            OSError: the connection failed.
            ResponseError: the answer is not HTTP/1.1, or a header value would break the request.
        """
        future: asyncio.Future[tuple[int, bytes]] = self.loop.create_future()

        def done(status: int | None, payload: bytes, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result((status or 0, payload))

        self.send(method, url, headers, body, timeout=timeout, done=done)
        return await future

    def release(self, conn: _Connection) -> None:
        """Take back a connection whose answer was read whole (kept idle, or closed beyond the limit)."""
        self._busy.discard(conn)
        idle = self._idle[conn.key]
        if len(idle) < self._idle_limit:
            idle.append(conn)
        else:
            conn.abort()

    def forget(self, conn: _Connection) -> None:
        """Drop a closed connection from the pool."""
        self._busy.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def close(self) -> None:
        """Close every connection; requests still in flight are dropped without a call back."""
        for task in self._opening:
            task.cancel()
        for conn in [*self._busy, *(c for conns in self._idle.values() for c in conns)]:
            conn.abort()
        self._busy.clear()
        self._idle.clear()
        self._opening.clear()

    # -- internals ---------------------------------------------------------------------------------------

    def _target(self, url: str) -> tuple[_Key, str, str]:
        # A fake pushes to a handful of URLs, again and again: split each once.
        known = self._targets.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ResponseError(f"cannot push to {url!r}: not an http or https URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        known = ((parts.scheme, parts.hostname, port), target, parts.netloc)
        if len(self._targets) < 1024:
            self._targets[url] = known
        return known

    def _dispatch(self, key: _Key, request: bytes, deadline: float, done: Done) -> None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.closed or conn.transport is None or conn.transport.is_closing():
                continue
            self._busy.add(conn)
            conn.start(request, deadline, done, lambda: self._open(key, request, deadline, done))
            return
        self._open(key, request, deadline, done)

    def _open(self, key: _Key, request: bytes, deadline: float, done: Done) -> None:
        task = self.loop.create_task(self._open_and_send(key, request, deadline, done))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open_and_send(self, key: _Key, request: bytes, deadline: float, done: Done) -> None:
        scheme, host, port = key
        extra: dict[str, Any] = {"ssl": self._ssl, "server_hostname": host} if scheme == "https" else {}
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await self.loop.create_connection(lambda: _Connection(self, key), host, port,
                                                            **extra)
        except (OSError, TimeoutError) as exc:
            done(None, b"", exc)
            return
        self._busy.add(conn)
        conn.start(request, deadline, done, None)


_HEADER_CACHE: dict[tuple[str, str], bytes] = {}
_HEAD_CACHE: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], bytes] = {}


def _header(name: str, value: str) -> bytes:
    """One checked ``name: value\\r\\n`` line."""
    line = _HEADER_CACHE.get((name, value))
    if line is None:
        if any(c in name + value for c in "\r\n\0"):
            raise ResponseError(f"header {name!r} has a line break or NUL in its name or value")
        line = f"{name}: {value}\r\n".encode("latin-1")
        if len(_HEADER_CACHE) < 4096:
            _HEADER_CACHE[(name, value)] = line
    return line


def _head(method: str, target: str, host: str, headers: Mapping[str, str], length: int) -> bytes:
    # A fake's pushes repeat a few (method, URL, headers): each head but its length is built once.
    key = (method, target, host, tuple(headers.items()))
    start = _HEAD_CACHE.get(key)
    if start is None:
        lines = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), _header("Host", host)]
        lines += [_header(name, value) for name, value in headers.items()]
        start = b"".join(lines)
        if len(_HEAD_CACHE) < 1024:
            _HEAD_CACHE[key] = start
    return b"%sContent-Length: %d\r\n\r\n" % (start, length)
