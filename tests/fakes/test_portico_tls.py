"""The Portico fake over real loopback sockets with HTTPS: token, send and the DR webhook (trustme PKI)."""



from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from fakes import registry


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throw-away certificate authority."""
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def until(condition: Callable[[], bool]) -> None:
    """Wait for loopback socket I/O to finish; fail after 5 s."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), 5.0)


@pytest.fixture
async def https_sink(ca: trustme.CA) -> AsyncIterator[tuple[list[tuple[str, dict[str, str], bytes]], str]]:
    """A customer endpoint on a real HTTPS port (port 0, read back), recording what it receives."""
    got: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        got.append((request.path, dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(ca)).start()
    port = runner.addresses[0][1]
    yield got, f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def test_token_send_and_receipt_over_https(ca: trustme.CA, tmp_path: Path,
                                                 https_sink: tuple[list[Any], str]) -> None:
    """A client trusting the CA gets a token, sends, and the DR arrives at the HTTPS drUrl, authenticated."""
    got, base = https_sink
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    fake = registry.create("portico", "gc", {
        "clients": [{"id": "nexus", "secret": "s3cret"}], "dlr": {"delay": {"seconds": 0}},
        "push": {"ca": str(ca_file)},
        "numbers": [{"number": "18445551212", "dr_url": f"{base}/nexus/v3/sms/receipt",
                     "webhook_username": "ccid", "webhook_password": "gma-key"}]})
    url = await fake.start(ssl=server_context(ca))
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    try:
        assert url.startswith("https://127.0.0.1:")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as session:
            basic = "Basic " + base64.b64encode(b"nexus:s3cret").decode()
            async with session.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                                    headers={"Authorization": basic}) as reply:
                token = (await reply.json())["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            async with session.post(f"{url}/api/v2/messaging/sms", headers=bearer,
                                    json={"sender": "18445551212", "destination": "+13125550100",
                                          "message": "over TLS", "requestReceipt": True}) as reply:
                assert 200 == reply.status
                message_id = (await reply.json())["messageId"]
        await until(lambda: len(got) == 1)
    finally:
        await fake.stop()
    path, headers, body = got[0]
    payload = json.loads(body)
    assert ("/nexus/v3/sms/receipt", "Basic " + base64.b64encode(b"ccid:gma-key").decode()) == (
        path, headers["Authorization"])
    assert (message_id, "DELIVERED", "+18445551212", "+13125550100") == (
        payload["messageId"], payload["status"], payload["sender"], payload["destination"])
    assert [] == fake.errors
