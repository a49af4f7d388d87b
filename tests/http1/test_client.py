"""Tests for sim.http1.client: the pushes' keep-alive HTTP/1.1 client against real loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from sim.http1.client import Http1Pool, ResponseError


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Callable[..., Awaitable[None]]], Awaitable[str]]]:
    """Start asyncio servers whose handler writes raw bytes; yields a starter returning the base URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: Callable[..., Awaitable[None]]) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


async def test_post_with_content_length_and_reuse(aiohttp_server) -> None:
    """A POST reaches an aiohttp server with its headers and body, and the connection is reused."""
    seen: list[tuple[str, str, str, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, request.headers["Authorization"], await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/dr", handler)
    server = await aiohttp_server(app)
    pool = Http1Pool()
    url = f"http://127.0.0.1:{server.port}/dr?x=1"
    for n in range(3):
        assert (200, b"ok") == await pool.request("POST", url, {"Authorization": "Basic dTpw"}, f"n={n}".encode(), 5)
    assert [("POST", "/dr?x=1", "Basic dTpw", b"n=0"), ("POST", "/dr?x=1", "Basic dTpw", b"n=1"),
            ("POST", "/dr?x=1", "Basic dTpw", b"n=2")] == seen
    assert 1 == sum(len(c) for c in pool._idle.values())  # one connection served all three
    await pool.close()


async def test_chunked_answer(raw_server) -> None:
    """A chunked answer is read whole, trailers included."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n")
        await writer.drain()
        await reader.read()  # until the client closes
        writer.close()

    url = await raw_server(handler)
    pool = Http1Pool()
    assert (202, b"abcde") == await pool.request("POST", url + "/mo", {}, b"x", 5)
    await pool.close()


async def test_stale_idle_connection_is_retried_once(raw_server) -> None:
    """When the peer closed an idle connection, the request goes again on a fresh one."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # answer once, then close without saying so

    url = await raw_server(handler)
    pool = Http1Pool()
    assert (200, b"ok") == await pool.request("POST", url, {}, b"1", 5)
    await asyncio.sleep(0.05)
    assert (200, b"ok") == await pool.request("POST", url, {}, b"2", 5)
    await pool.close()


async def test_connection_close_answer_is_not_kept(raw_server) -> None:
    """An answer with Connection: close leaves no idle connection behind."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    url = await raw_server(handler)
    pool = Http1Pool()
    assert (500, b"") == await pool.request("POST", url, {}, b"", 5)
    assert 0 == sum(len(c) for c in pool._idle.values())
    await pool.close()


async def test_not_http_and_timeouts(raw_server) -> None:
    """A complete head that is not HTTP is a ResponseError; silence (or a head never finished) past the
    timeout is a TimeoutError."""
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"220 smtp ready\r\nESMTP\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # say nothing until the client gives up and closes
        writer.close()

    with pytest.raises(ResponseError, match=r"not an HTTP/1\.1 status line"):
        await Http1Pool().request("POST", await raw_server(garbage), {}, b"", 5)
    with pytest.raises(TimeoutError):
        await Http1Pool().request("POST", await raw_server(silent), {}, b"", 0.2)


async def test_header_injection_is_refused() -> None:
    """A header value with a line break is refused before anything is sent."""
    with pytest.raises(ResponseError, match="line break"):
        await Http1Pool().request("POST", "http://127.0.0.1:9/x", {"X": "a\r\nEvil: 1"}, b"", 1)


async def test_send_calls_back_without_a_task(aiohttp_server) -> None:
    """send calls back once with status and body; answers on a kept connection need no new task."""
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/dr", handler)
    server = await aiohttp_server(app)
    pool = Http1Pool()
    url = f"http://127.0.0.1:{server.port}/dr"
    await pool.request("POST", url, {}, b"", 5)  # opens the one connection
    got: list[tuple[int | None, bytes, BaseException | None]] = []
    tasks = len(asyncio.all_tasks())
    pool.send("POST", url, {"Content-Type": "text/plain"}, b"x", timeout=5, done=lambda *a: got.append(a))
    assert tasks == len(asyncio.all_tasks())
    while not got:
        await asyncio.sleep(0.001)
    assert [(200, b"ok", None)] == got
    await pool.close()
