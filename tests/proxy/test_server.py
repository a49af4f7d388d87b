"""Tests for sim.proxy.server over real loopback sockets: rewrite and forwarding, 502.4, 502.3, re-encrypt."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from certs.pki import Pki
from sim.proxy.farm import HealthTest
from sim.proxy.rewrite import RewriteRule
from sim.proxy.server import ProxyServer, ProxySettings, probe_failure, substatus_of

RULE = RewriteRule.build("/receivesms.php", ".*", "/receivesms.php{R:0}")
HEALTH = HealthTest(url="http://farm/receivesms.php?healthcheckignore=1", interval=3600, timeout=1.0,
                    acceptable=((200, 299),), response_match="alive")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler, ssl_context: object = None) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)  # type: ignore[arg-type]
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"{host}:{port}"


async def node(request: web.Request) -> web.Response:
    """A CIC node stand-in: alive for the probe, echoing what reached it otherwise."""
    if "healthcheckignore" in request.query:
        return web.Response(text="SMS Server alive")
    body = await request.text()
    return web.json_response({"path": request.path_qs, "xff": request.headers.get("X-Forwarded-For"),
                              "body": body, "method": request.method}, status=202)


async def backup(request: web.Request) -> web.Response:
    """A backup node: 503 to everything (one of the selectable GAP behaviours)."""
    return web.Response(status=503, text="not active")


@pytest.fixture
async def cleanup() -> AsyncIterator[list[object]]:
    things: list[object] = []
    yield things
    for thing in reversed(things):
        await thing.cleanup() if isinstance(thing, web.AppRunner) else await thing.stop()  # type: ignore[attr-defined]


async def start_proxy(cleanup: list[object], members: list[str], **kw: object) -> tuple[ProxyServer, str]:
    proxy = ProxyServer(ProxySettings(members, [RULE], HEALTH, **kw))  # type: ignore[arg-type]
    url = await proxy.start(probe=False)
    cleanup.append(proxy)
    await proxy.probe_all()
    return proxy, url


async def test_forwards_to_the_active_member_with_query_and_xff(cleanup: list[object]) -> None:
    """The MO reaches the healthy node at the rewritten path, query kept, X-Forwarded-For added."""
    active, a = await serve(node)
    passive, b = await serve(backup)
    cleanup += [active, passive]
    proxy, url = await start_proxy(cleanup, [b, a])
    async with aiohttp.ClientSession() as s, s.post(f"{url}/receivesms.php?From=3175550000",
                                                    data="Message=hi") as r:
        assert (r.status, substatus_of(r)) == (202, "")
        assert await r.json() == {"path": "/receivesms.php?From=3175550000", "xff": "127.0.0.1",
                                  "body": "Message=hi", "method": "POST"}
    assert proxy.farm_report()["active"] == a


async def test_no_healthy_member_is_502_4(cleanup: list[object]) -> None:
    """With both members failing the URL test, ARR answers 502.4 itself and counts no failed request."""
    one, a = await serve(backup)
    two, b = await serve(backup)
    cleanup += [one, two]
    proxy, url = await start_proxy(cleanup, [a, b])
    async with aiohttp.ClientSession() as s, s.post(f"{url}/receivesms.php", data="x") as r:
        assert (r.status, substatus_of(r)) == (502, "502.4")
        assert (await r.text()).startswith("HTTP Error 502.4 - Bad Gateway\nNo server is available")
    assert proxy.failed_requests == 0
    report = proxy.farm_report()
    assert [m["last_probe"]["verdict"] for m in report["members"]] == ["status 503 is not acceptable"] * 2


async def test_a_refused_probe_says_the_connection_was_refused(cleanup: list[object]) -> None:
    """A member nobody listens on is reported as refused, not as a timeout, with the probe's time in epoch seconds."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    member = f"127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there now: the connection is refused at once
    before = time.time()
    proxy, _ = await start_proxy(cleanup, [member])
    probe = proxy.farm_report()["members"][0]["last_probe"]
    assert (probe["status"], probe["verdict"]) == (None, f"connection failed: Connection refused ({member})")
    assert before - 1 <= probe["at"] <= time.time() + 1


def test_probe_failure_names_each_reason() -> None:
    """A timeout, a reset and another client error each get their own words."""
    assert probe_failure(TimeoutError(), 2.5) == "no response within 2.5 s"
    assert probe_failure(aiohttp.ServerDisconnectedError(), 30) == \
        "the member closed the connection without answering"
    assert probe_failure(aiohttp.ClientPayloadError("bad chunk"), 30) == "no answer: ClientPayloadError (bad chunk)"


async def test_upstream_timeout_is_502_3(cleanup: list[object]) -> None:
    """A member that answers the probe but hangs on the request gives 502.3, counted as failed."""
    async def slow(request: web.Request) -> web.Response:
        if "healthcheckignore" in request.query:
            return web.Response(text="alive")
        await asyncio.sleep(5)
        return web.Response(text="late")

    runner, a = await serve(slow)
    cleanup.append(runner)
    proxy, url = await start_proxy(cleanup, [a], timeout=0.2)
    async with aiohttp.ClientSession() as s, s.post(f"{url}/receivesms.php", data="x") as r:
        assert (r.status, substatus_of(r)) == (502, "502.3")
    assert proxy.failed_requests == 1


async def test_unknown_path_is_404(cleanup: list[object]) -> None:
    """A path no rewrite rule covers is not forwarded."""
    runner, a = await serve(node)
    cleanup.append(runner)
    _, url = await start_proxy(cleanup, [a])
    async with aiohttp.ClientSession() as s, s.get(f"{url}/elsewhere") as r:
        assert (r.status, await r.text()) == (404, "no rewrite rule matches /elsewhere\n")


@pytest.mark.parametrize(("trust", "status", "substatus"), [("proxy", 202, ""), ("broker", 502, "502.3")])
async def test_reencrypt_verifies_the_node_chain(cleanup: list[object], pki: Pki, trust: str, status: int,
                                                 substatus: str) -> None:
    """Re-encrypting, a proxy trusting the ServerGroup root and CIC CA forwards; trusting only the public CA
    it answers 502.3, and the node fails its URL test too."""
    runner, a = await serve(node, pki.server_ssl_context("node-primary"))
    cleanup.append(runner)
    proxy, url = await start_proxy(cleanup, [a], offload=False, upstream_ssl=pki.client_ssl_context(trust))
    proxy.farm.bring_back(a, 0.0)  # let the request through so the forwarding path itself is checked
    async with aiohttp.ClientSession() as s, s.post(f"{url}/receivesms.php", data="x") as r:
        assert (r.status, substatus_of(r)) == (status, substatus)
        if substatus:
            assert "certificate the proxy does not trust" in await r.text()


async def test_verify_url_test_endpoint(cleanup: list[object]) -> None:
    """POST /_smslab/farm/verify probes now and reports each member's status and verdict."""
    active, a = await serve(node)
    passive, b = await serve(backup)
    cleanup += [active, passive]
    _, url = await start_proxy(cleanup, [a, b])
    async with aiohttp.ClientSession() as s, s.post(f"{url}/_smslab/farm/verify") as r:
        report = await r.json()
    assert report["active"] == a
    assert [(m["healthy"], m["last_probe"]["status"]) for m in report["members"]] == [(True, 200), (False, 503)]


async def test_probe_url_without_a_path_keeps_its_query(cleanup: list[object]) -> None:
    """A URL test such as http://farm?healthcheckignore=1 probes / with the query kept."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.Response(text="alive")

    runner, a = await serve(record)
    cleanup.append(runner)
    proxy = ProxyServer(ProxySettings([a], [RULE], HealthTest(url="http://farm?healthcheckignore=1")))
    await proxy.start(probe=False)
    cleanup.append(proxy)
    await proxy.probe_all()
    assert ["/?healthcheckignore=1"] == seen


async def test_listeners_hear_every_answer_with_its_substatus_and_every_health_flip(cleanup: list[object]) -> None:
    """answer_listeners get (status, substatus) of each proxied answer (502.4, 404, a forwarded 202);
    health_listeners get each member's health change, once per flip."""
    good, a = await serve(node)
    bad, b = await serve(backup)
    cleanup += [good, bad]
    proxy = ProxyServer(ProxySettings([a, b], [RULE], HEALTH))
    answers: list[tuple[int, str]] = []
    flips: list[tuple[str, bool]] = []
    proxy.answer_listeners.append(lambda status, substatus: answers.append((status, substatus)))
    proxy.health_listeners.append(lambda change: flips.append((change.member, change.healthy)))
    url = await proxy.start(probe=False)
    cleanup.append(proxy)
    await proxy.probe_all()
    await proxy.probe_all()  # no flip the second time
    async with aiohttp.ClientSession() as s:
        for path in ("/receivesms.php", "/nowhere"):
            async with s.post(url + path, data="x") as r:
                await r.read()
        proxy.farm.healthy[a] = False
        async with s.post(url + "/receivesms.php", data="x") as r:
            await r.read()
    assert [(202, ""), (404, ""), (502, "502.4")] == answers
    assert [(b, False)] == flips
