"""Tests for sim.nexus.providers: the Genesys Cloud token's life, a refused token, Kaleyra's refusals."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sim.nexus.model import Nexus
from sim.nexus.providers import Sender
from tests.nexus.tenant import CCID, nexus

SECTION = {"chat.Main": {"channelId": "18445551212", "endpoint": "chat.Main", "provider": "Portico"},
           "chat.K": {"channelId": "1650466114", "endpoint": "chat.K", "provider": "mGage"}}


class GenesysCloud:
    """A stand-in login and API host: counts tokens, refuses the first API call with 401 when told to."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.auth: list[str] = []
        self.refuse_next = False

    async def token(self, request: web.Request) -> web.Response:
        self.auth.append(request.headers["Authorization"])
        self.tokens.append(f"t{len(self.tokens)}")
        return web.json_response({"access_token": self.tokens[-1], "token_type": "bearer", "expires_in": 100})

    async def sms(self, request: web.Request) -> web.Response:
        if self.refuse_next:
            self.refuse_next = False
            return web.json_response({"code": "bad.credentials", "status": 401}, status=401)
        assert request.headers["Authorization"] == f"Bearer {self.tokens[-1]}"
        return web.json_response({"messageId": "gc-1"})

    async def kaleyra(self, request: web.Request) -> web.Response:
        return web.Response(text="<httpApiResponse><code>102</code><description>bad</description>"
                                 "</httpApiResponse>", content_type="text/xml")


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[GenesysCloud, str]]:
    gc = GenesysCloud()
    app = web.Application()
    app.router.add_post("/oauth/token", gc.token)
    app.router.add_post("/api/v2/messaging/sms", gc.sms)
    app.router.add_post("/a2w_preRouter/httpApiRouter", gc.kaleyra)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield gc, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _model(url: str) -> Nexus:
    return nexus(services={"PurecloudIDP": {"url": url, "secret": {"clientId": "c", "clientSecret": "s"}},
                           "PorticoSMS": {"url": url},
                           "mGageSMS": {"url": url, "secret": {"username": "u", "password": "p"}}},
                 senders=SECTION)


def _reply(model: Nexus, section: str) -> Any:
    sender = model.senders.get(section)
    chat = model.interactions.inbound(sender, "+13125550100", "hi", "", 0.0)
    return model.reply(chat.id, "hello", 0.0)


async def test_token_kept_until_margin_then_renewed(cloud: tuple[GenesysCloud, str]) -> None:
    """The token is fetched once with Basic clientId:clientSecret, kept, and renewed within refresh_margin."""
    gc, url = cloud
    model = _model(url)
    now = [0.0]
    async with aiohttp.ClientSession() as session:
        sender = Sender(model, session, now=lambda: now[0])
        assert await sender.token(CCID) == await sender.token(CCID) == "t0"
        now[0] = 100 - 30  # expires_in 100, refresh_margin 30
        assert await sender.token(CCID) == "t1"
    assert gc.auth[0] == "Basic " + base64.b64encode(b"c:s").decode()


async def test_refused_token_is_replaced_once(cloud: tuple[GenesysCloud, str]) -> None:
    """A 401 from the API drops the token, fetches a new one and sends again; the message is accepted."""
    gc, url = cloud
    model = _model(url)
    message, out = _reply(model, "chat.Main")
    async with aiohttp.ClientSession() as session:
        sender = Sender(model, session)
        await sender.token(CCID)
        gc.refuse_next = True
        await sender.send(out)
    assert (message.state, message.provider_id, gc.tokens) == ("sent", "gc-1", ["t0", "t1"])


async def test_kaleyra_refusal_fails_the_message(cloud: tuple[GenesysCloud, str]) -> None:
    """A DirectTEXT answer other than code 100 fails the message, naming the code."""
    _, url = cloud
    model = _model(url)
    message, out = _reply(model, "chat.K")
    async with aiohttp.ClientSession() as session:
        await Sender(model, session).send(out)
    assert (message.state, message.status) == ("failed", "Kaleyra refused the message: 200 code 102")


async def test_unreachable_login_fails_the_message() -> None:
    """A login host that cannot be reached fails the message with the reason; nothing stays pending."""
    model = _model("http://127.0.0.1:9")
    message, out = _reply(model, "chat.Main")
    async with aiohttp.ClientSession() as session:
        await Sender(model, session).send(out)
    assert message.state == "failed"
    assert "cannot be reached" in message.status
