"""Tests for sim.cic.corpproxy: the corporate HTTP proxy (mitmproxy, own process, Basic proxy auth).

One proxy serves the whole module (starting one costs about a second); each test clears its records.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from sim.cic.corpproxy import CorporateProxy, CorporateProxyError, proxy_authorization

LOGIN, PASSWORD = "cicproxy", "s3cret word"


@pytest.fixture(scope="module")
def corp() -> Iterator[CorporateProxy]:
    proxy = CorporateProxy(LOGIN, PASSWORD)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def proxy(corp: CorporateProxy) -> CorporateProxy:
    corp.clear()
    return corp


class Gateway:
    """A broker gateway stand-in that remembers what reached it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append({"method": request.method, "path": request.path_qs, "body": await request.text(),
                          "proxy_authorization": request.headers.get("Proxy-Authorization")})
        return web.Response(status=202, text="queued")


async def serve(gateway: Gateway, tls: ssl.SSLContext | None = None) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", gateway.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    return runner, f"{'https' if tls else 'http'}://127.0.0.1:{runner.addresses[0][1]}"


async def closed(runner: web.AppRunner, timeout: float = 5.0) -> None:
    """Wait until the proxy has closed its side of the tunnels (it does so after the client closes)."""
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while runner.server.connections and loop.time() < deadline:
        await asyncio.sleep(0.01)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    g = Gateway()
    runner, url = await serve(g)
    yield g, url
    await closed(runner)
    await runner.cleanup()


def record(method: str, url: str, auth: tuple[bool, bool], status: int | None, *, forwarded: bool,
           error: str = "") -> dict[str, Any]:
    present, ok = auth
    return {"method": method, "url": url, "auth_present": present, "auth_ok": ok, "user": LOGIN if ok else "",
            "status": status, "forwarded": forwarded, "error": error}


def without_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert all(isinstance(r.pop("at"), float) for r in records)
    return records


def test_basic_value() -> None:
    """The header value is Basic and base64 of login:password (RFC 7617)."""
    assert "Basic Y2ljcHJveHk6czNjcmV0IHdvcmQ=" == proxy_authorization(LOGIN, PASSWORD)


async def test_the_right_credentials_reach_the_gateway(proxy: CorporateProxy, gateway: tuple[Gateway, str]) -> None:
    """An MT with the right Proxy-Authorization is forwarded, without that header, and recorded."""
    g, url = gateway
    async with aiohttp.ClientSession() as s, s.post(f"{url}/send?to=1", data="hello", proxy=proxy.url,
                                                    headers=proxy.authorization()) as r:
        assert (202, "queued") == (r.status, await r.text())
    assert [{"method": "POST", "path": "/send?to=1", "body": "hello", "proxy_authorization": None}] == g.seen
    assert [record("POST", f"{url}/send?to=1", (True, True), 202, forwarded=True)] == without_time(proxy.wait_records(1))


@pytest.mark.parametrize("headers", [{}, {"Proxy-Authorization": proxy_authorization(LOGIN, "wrong")},
                                     {"Proxy-Authorization": "Bearer abc"}])
async def test_missing_or_wrong_credentials_get_407(proxy: CorporateProxy, gateway: tuple[Gateway, str],
                                                    headers: dict[str, str]) -> None:
    """Without the right credentials the proxy answers 407 with a Basic challenge and forwards nothing."""
    g, url = gateway
    async with aiohttp.ClientSession() as s, s.get(f"{url}/send", proxy=proxy.url, headers=headers) as r:
        assert (407, 'Basic realm="mitmproxy"') == (r.status, r.headers.get("Proxy-Authenticate"))
    assert [] == g.seen
    assert [record("GET", f"{url}/send", (bool(headers), False), 407, forwarded=False)] == without_time(proxy.wait_records(1))


async def test_https_gateways_are_tunnelled_untouched(proxy: CorporateProxy) -> None:
    """A CONNECT with credentials opens a tunnel; the client verifies the broker's own certificate."""
    ca = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(served)
    g = Gateway()
    runner, url = await serve(g, served)
    try:
        trust = ssl.create_default_context()
        ca.configure_trust(trust)
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{url}/send", data="hi", proxy=proxy.url, proxy_headers=proxy.authorization(),
                              ssl=trust) as r:
                assert 202 == r.status
            with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
                await s.get(f"{url}/send", proxy=proxy.url, ssl=trust)
            assert 407 == refused.value.status
    finally:
        await closed(runner)
        await runner.cleanup()
    assert ["/send"] == [x["path"] for x in g.seen]
    address = url.removeprefix("https://")
    assert [record("CONNECT", address, (True, True), 200, forwarded=True),
            record("CONNECT", address, (False, False), 407, forwarded=False)] == without_time(proxy.wait_records(2))


async def test_an_unreachable_gateway_is_a_502_and_recorded(proxy: CorporateProxy) -> None:
    """A gateway refusing connections gives the client the proxy's 502; the record holds the error."""
    async with aiohttp.ClientSession() as s, s.get("http://127.0.0.1:9/send", proxy=proxy.url,
                                                   headers=proxy.authorization()) as r:
        assert 502 == r.status
    [found] = without_time(proxy.wait_records(1))
    assert record("GET", "http://127.0.0.1:9/send", (True, True), None, forwarded=False, error=found["error"]) == found
    assert "refused" in found["error"] or "failed" in found["error"]


def test_it_stops_with_no_process_left() -> None:
    """stop() ends the child by its PID; its records stay readable; no process is left behind."""
    proxy = CorporateProxy("u", "p")
    url = proxy.start()
    pid = proxy.pid
    assert pid is not None
    assert url == f"http://{proxy.address}"
    proxy.stop()
    assert proxy.pid is None
    assert [] == proxy.records()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_credentials_mitmproxy_cannot_check_are_refused() -> None:
    """A ':' in the login (RFC 7617) or in the password (mitmproxy's parser) is refused up front."""
    with pytest.raises(ValueError, match="login"):
        CorporateProxy("a:b", "p")
    with pytest.raises(ValueError, match="password"):
        CorporateProxy("a", "p:q")


def test_a_child_that_fails_is_reported() -> None:
    """When the child cannot start, start() raises with the child's own error and leaves nothing running."""
    proxy = CorporateProxy("u", "p", host="192.0.2.1")  # TEST-NET-1: not an address of this machine
    with pytest.raises(CorporateProxyError, match="did not start"):
        proxy.start()
    assert proxy.pid is None
