"""Tests of sim.cic.remote_core: a node whose core is served over HTTP (``core: {url}``), and its failures.

The served core is ``sim.cic.core_server``'s application on a real loopback socket, with a test middleware
in front that makes it slow or garbles its answers; "down" is the socket closed, then opened again on the
same port. Each failure must give the broker a 503 (it retries), a clear line in the node's log and in
``GET /_smslab/node``, store nothing, and the retried MO must be stored once the core is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from nodekit import LOCAL, Clock, call, config, kaleyra, running

from sim.cic.core_server import core_app
from sim.cic.node import CicNode
from sim.core.reference import ReferenceCore
from sim.core.remote import CoreCallError, CoreHost

MO = {"device_address": "13175550123", "inbound_address": LOCAL, "message": "Hello", "message_id": "m-1"}
TIMEOUT = 0.3


class ServedCore:
    """The reference core served on loopback, with a switch for each failure."""

    def __init__(self) -> None:
        self.host = CoreHost(ReferenceCore)
        self.mode = ""  # "", "slow" (answers after the timeout, having decided) or "garble"
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = core_app(self.host)
        app.middlewares.insert(0, self._fault)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _fault(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if self.mode == "garble" and request.path.endswith("/receive"):
            return web.json_response({"received": {"interaction": "not one"}})
        response = await handler(request)
        if self.mode == "slow":
            await asyncio.sleep(TIMEOUT * 3)
        return response


@pytest.fixture
async def served() -> AsyncIterator[ServedCore]:
    core = ServedCore()
    await core.start()
    yield core
    await core.stop()


def remote(served: ServedCore) -> Any:
    return config(kaleyra(), route_to=("kaleyra", "main"), core={"url": served.url, "timeout": TIMEOUT})


def texts(node: CicNode) -> list[list[str]]:
    return [[e["text"] for e in r["transcript"]] for r in node.records.store.interactions()]


async def test_an_mo_is_decided_by_the_served_core_and_stored() -> None:
    """An MO goes to the served core, which starts the interaction; the node stores it and answers 200."""
    core = ServedCore()
    await core.start()
    try:
        async with running(remote(core)) as node:
            assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
            assert [["Hello"]] == texts(node)
            status, described = await call("GET", node.control_url + "/_smslab/node")
            assert (200, "http", core.url, 0, "") == (status, described["core"]["kind"], described["core"]["url"],
                                                    described["core"]["failures"], described["core"]["last_error"])
            assert 1 == len(core.host)
    finally:
        await core.stop()


async def test_a_core_that_is_down_gives_503_a_clear_error_and_the_retry_is_stored(served: ServedCore) -> None:
    """Core down: the broker gets 503, the log and GET /_smslab/node say why, nothing is stored; once the
    core is back on its port, the broker's retry is stored."""
    async with running(remote(served)) as node:
        await served.stop()
        status, text = await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert 503 == status
        assert f"core at {served.url} cannot be reached" in text
        assert [] == texts(node)
        assert any("MO to /kaleyra/mo (broker kaleyra) answered 503, nothing stored: core at "
                   f"{served.url} cannot be reached" in e["message"] for e in node.log)
        _, described = await call("GET", node.control_url + "/_smslab/node")
        assert described["core"]["last_error"].startswith(f"core at {served.url} cannot be reached for make a core")
        await served.start()
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert [["Hello"]] == texts(node)


async def test_a_slow_core_times_out_with_503_and_the_retry_is_stored_once(served: ServedCore) -> None:
    """A core slower than the timeout: 503 within about the timeout, never a hang; it had decided, so the
    retry is a duplicate to it, yet the node stores the MO (once) because its store lacks it."""
    async with running(remote(served)) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data={**MO, "message_id": "m-0"})
        served.mode = "slow"
        started = asyncio.get_running_loop().time()
        status, text = await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert (503, True) == (status, asyncio.get_running_loop().time() - started < TIMEOUT * 2.5)
        assert f"core at {served.url} did not answer receive within {TIMEOUT:g} s" in text
        assert [["Hello"]] == texts(node)  # only the first MO (same conversation, message m-0)
        served.mode = ""
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert [["Hello", "Hello"]] == texts(node)
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)  # a further retry adds nothing
        assert [["Hello", "Hello"]] == texts(node)


async def test_a_malformed_answer_gives_503_naming_what_was_wrong(served: ServedCore) -> None:
    """An answer that is not the call's: 503 and a log line naming the call and the bad field; the retry,
    once the core answers well, is stored."""
    async with running(remote(served)) as node:
        served.mode = "garble"
        status, text = await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert 503 == status
        assert f"core at {served.url} answered receive badly: the answer to receive" in text
        assert [] == texts(node)
        served.mode = ""
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        assert [["Hello"]] == texts(node)


async def test_an_agent_send_with_the_core_down_is_refused_503_by_the_control_api(served: ServedCore) -> None:
    """POST /_smslab/agent/send while the core is down answers 503 with the reason; the node keeps serving."""
    async with running(remote(served)) as node:
        await served.stop()
        status, answer = await call("POST", node.control_url + "/_smslab/agent/send",
                                    json={"to": "+13175550123", "text": "Hi", "classification": "Local"})
        assert 503 == status
        assert answer["error"].startswith(f"core at {served.url} cannot be reached")
        assert 200 == (await call("GET", node.control_url + "/_smslab/node"))[0]


async def test_a_restarted_core_server_is_given_a_new_core(served: ServedCore) -> None:
    """A server that forgot the core (restarted) answers 404: that MO gets 503, the next makes a new core."""
    async with running(remote(served)) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        await served.stop()
        served.host = CoreHost(ReferenceCore)
        await served.start()
        status, text = await call("POST", node.sms_urls["kaleyra"], data={**MO, "message_id": "m-2"})
        assert (503, True) == (status, "no longer knows this core" in text)
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data={**MO, "message_id": "m-2"})
        assert 1 == len(served.host)


async def test_an_idle_sweep_the_core_fails_is_tried_again_once_it_is_back(served: ServedCore) -> None:
    """The idle timeout with the core down raises a clear CoreCallError and loses nothing: once the core
    is back, the same sweep puts the quiet chat in IDLE."""
    clock = Clock()
    idle_on = {"parameters": {"EnableIdleTimeout": 1, "PartyIdleTime": 120, "PartyIdleGraceTime": 60}}
    cfg = config(kaleyra(), core={"url": served.url, "timeout": TIMEOUT}, web_services=idle_on)
    async with running(cfg, clock=clock) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        await served.stop()
        clock.now += 121
        with pytest.raises(CoreCallError, match=f"core at {served.url} cannot be reached for interaction"):
            await node.records.sweep_idle(clock.now)
        await served.start()
        clock.now += 2
        [changed] = await node.records.sweep_idle(clock.now)
        assert ["idle"] == [r["state"] for r in node.records.store.interactions() if r["id"] == changed]
