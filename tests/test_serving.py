"""Tests for sim.serving: the stop event every serve entry point waits on, and its one ready line."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import signal
from typing import Any

import pytest
from aiohttp import web

from sim.core.body import BodyError
from sim.serving import (
    announce,
    json_response,
    read_json,
    redact,
    redact_logs,
    serve_until_stopped,
    stop_event,
)


async def test_a_given_event_is_used_as_it_is() -> None:
    """A caller's own stop event comes back unchanged (tests stop a server without signals)."""
    mine = asyncio.Event()
    assert stop_event(mine) is mine


async def test_sigterm_sets_the_new_event() -> None:
    """Without an event, SIGTERM to this process sets the one returned, and the handlers are removed after."""
    loop = asyncio.get_running_loop()
    stop = stop_event()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    assert stop.is_set()


def test_announce_prints_one_flushed_json_line() -> None:
    """The ready line is one JSON object followed by a newline."""
    out = io.StringIO()
    announce({"name": "k1", "url": "http://127.0.0.1:1"}, out)
    assert ['{"name": "k1", "url": "http://127.0.0.1:1"}'] == out.getvalue().splitlines()
    assert {"name": "k1", "url": "http://127.0.0.1:1"} == json.loads(out.getvalue())


class _Server:
    """A server that records what happens to it (the life ``serve_until_stopped`` gives it)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> str:
        self.events.append("start")
        return "http://127.0.0.1:8080"

    async def stop(self) -> None:
        self.events.append("stop")


async def test_serve_until_stopped_announces_then_stops_the_server_when_told() -> None:
    """The ready line carries the started server's URL; setting the event stops the server, exit 0."""
    server, stop, out = _Server(), asyncio.Event(), io.StringIO()
    task = asyncio.ensure_future(serve_until_stopped(server.start, server.stop,
                                                     lambda url: {"name": "p", "url": url}, stop=stop, out=out))
    while not out.getvalue():
        await asyncio.sleep(0)
    assert ['{"name": "p", "url": "http://127.0.0.1:8080"}'] == out.getvalue().splitlines()
    assert ["start"] == server.events
    stop.set()
    assert 0 == await asyncio.wait_for(task, 2.0)
    assert ["start", "stop"] == server.events


async def test_serve_until_stopped_stops_the_server_when_the_ready_line_fails() -> None:
    """A ready line that cannot be written still stops the started server, and the error comes out."""
    server, out = _Server(), io.StringIO()
    out.close()
    with pytest.raises(ValueError, match="closed file"):
        await serve_until_stopped(server.start, server.stop, lambda url: {"url": url},
                                  stop=asyncio.Event(), out=out)
    assert ["start", "stop"] == server.events


# -- reading bodies, JSON answers, redaction ---------------------------------------------------------------


def _echo_app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        try:
            return json_response({"got": await read_json(request, empty={})})
        except BodyError as exc:
            return json_response({"error": str(exc), "reason": exc.reason.value}, exc.status)

    app = web.Application(client_max_size=64)
    app.router.add_post("/echo", echo)
    return app


@pytest.mark.parametrize(("data", "headers", "status", "reason"), [
    (b"not gzip at all", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400, "malformed"),
    (b"{}", {"Content-Type": "text/plain"}, 415, "media_type"),
    (b"{}", {}, 415, "media_type"),
    (b"[" * 70, {"Content-Type": "application/json"}, 413, "too_large"),
    (b'{"a": NaN}', {"Content-Type": "application/json"}, 400, "malformed"),
    (b'{"a": "\\ud800"}', {"Content-Type": "application/json"}, 400, "encoding"),
], ids=["bogus-gzip", "text-plain", "no-type", "too-large", "nan", "surrogate"])
async def test_read_json_refuses_with_a_reason_each_speaker_maps(aiohttp_client: Any, data: bytes,
                                                                 headers: dict[str, str], status: int,
                                                                 reason: str) -> None:
    """A body that cannot be decoded, of another type, too large or holding what JSON lacks is a BodyError."""
    client = await aiohttp_client(_echo_app())
    resp = await client.post("/echo", data=data, headers=headers)
    assert (status, reason) == (resp.status, (await resp.json())["reason"])


async def test_read_json_reads_real_gzip_and_an_empty_body(aiohttp_client: Any) -> None:
    """A body that is gzip as it says is read; an empty body is the given default."""
    client = await aiohttp_client(_echo_app())
    packed = await client.post("/echo", data=gzip.compress(b'{"a": 1}'),
                               headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    empty = await client.post("/echo", data=b"", headers={"Content-Type": "application/json"})
    assert [(200, {"got": {"a": 1}}), (200, {"got": {}})] == [(packed.status, await packed.json()),
                                                              (empty.status, await empty.json())]


def test_json_response_writes_a_lone_surrogate_as_its_escape() -> None:
    """A view of stored text that cannot be encoded still answers JSON."""
    response = json_response({"text": "x\ud800"})
    assert (b'{"text": "x\\ud800"}', "application/json") == (response.body, response.content_type)


def test_redact_hides_credential_headers_and_fields() -> None:
    """api-key, Authorization and Pass=/password= values are replaced; other text is left as it is."""
    raw = ("b'api-key: k-123\\x01' Authorization: Basic dTpw\r\nHost: x\r\n"
           "GET /api/sending?User=u&Pass=hunter2&PhoneNumber=5551234567 client_secret=s3 compass=north")
    assert ("b'api-key: ***' Authorization: ***\r\nHost: x\r\n"
            "GET /api/sending?User=u&Pass=***&PhoneNumber=5551234567 client_secret=*** compass=north") == redact(raw)


async def test_aiohttps_log_of_a_request_it_cannot_parse_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """The raw header or request line aiohttp quotes in its error log shows no credential."""
    redact_logs()
    runner = web.AppRunner(web.Application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        for raw in (b"POST /v1/HXAP1/sms HTTP/1.1\r\nHost: x\r\napi-key: k-123\x01\r\n\r\n",
                    b"GET /api/sending?User=u&Pass=hunter2\x00 HTTP/1.1\r\nHost: x\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            assert (await reader.read(100)).startswith(b"HTTP/1.0 400")
            writer.close()
    finally:
        await runner.cleanup()
    logged = caplog.text
    assert logged.count("Error handling request") == 2
    assert "api-key: ***" in logged
    assert "Pass=***" in logged
    assert "k-123" not in logged
    assert "hunter2" not in logged
