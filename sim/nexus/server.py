"""The Digital Channels aiohttp shell: the sans-IO ``Nexus`` model behind a real port, and its control API.

Every ``/nexus/...`` request is read whole (over ``max_body`` answers 413 without reading further) and
handed to the model with the wall clock's ``now``; what the model says to send is sent by
``sim.nexus.providers.Sender`` in a task of its own, so a slow provider never holds an answer up.

The lab's own routes, under ``/_smslab/`` (answers in the same envelope):

=========================================  =================================================
``GET /_smslab/health``                    counts, the settings in effect
``GET /_smslab/interactions``              chat interactions (``?kind=chat|campaign_response``, ``?section=``)
``GET /_smslab/interactions/{id}``         one interaction with its messages and their states
``POST /_smslab/interactions/{id}/reply``  an agent's reply ``{"text"}``: sent through the section's provider
``DELETE /_smslab/interactions``           forget interactions, parked messages, campaigns, attempts
``GET /_smslab/parked``                    MOs for channels no section names (``unprovisioned: keep``)
``GET /_smslab/attempts``                  every attempt at handing a message to a provider
``POST /_smslab/campaigns``                a CX Contact campaign (``sim.nexus.campaigns``), sent at its rate
``GET /_smslab/campaigns[/{id}]``          campaigns, each recipient's state
=========================================  =================================================
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from sim.nexus.errors import NexusError, envelope, render_error
from sim.nexus.model import Nexus, Outbound, Reply
from sim.nexus.providers import Sender
from sim.nexus.settings import NexusSettings
from sim.nexus.wire import Request

__all__ = ["NexusServer"]


def _answer(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, headers=dict(reply.headers))


def _refused(error: NexusError) -> web.Response:
    status, body, headers = render_error(error)
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json", **headers})


def _ok(data: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=envelope(data), content_type="application/json")


class NexusServer:
    """One Digital Channels server.

    Args:
        settings: the validated settings (service URLs already real: ``fake:`` resolved by the lab).
        seed: the seed of every id it draws.
    """

    def __init__(self, settings: NexusSettings, seed: int = 0) -> None:
        import random  # noqa: PLC0415 - the seeded generator is the model's; only built here

        self.model = Nexus(settings, random.Random(seed))
        self.url = ""
        self.sender: Sender | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []

    # -- the app ------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """A new application (also what ``aiohttp_client`` tests use, without sockets)."""
        app = web.Application(client_max_size=self.model.settings.max_body + 1,
                              middlewares=[self._refusals])
        app.add_routes([
            web.get("/_smslab/health", self._health),
            web.get("/_smslab/interactions", self._interactions),
            web.delete("/_smslab/interactions", self._clear),
            web.get("/_smslab/interactions/{id}", self._interaction),
            web.post("/_smslab/interactions/{id}/reply", self._reply),
            web.get("/_smslab/parked", self._parked),
            web.get("/_smslab/attempts", self._attempts),
            web.post("/_smslab/campaigns", self._start_campaign),
            web.get("/_smslab/campaigns", self._campaigns),
            web.get("/_smslab/campaigns/{id}", self._campaign),
            web.route("*", "/nexus/{tail:.*}", self._nexus),
        ])
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession()
        self.sender = Sender(self.model, self._session)

    async def _cleanup(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @web.middleware
    async def _refusals(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except NexusError as error:
            return _refused(error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            allow = exc.headers.get("Allow")
            return _refused(NexusError(exc.reason, exc.status, {"Allow": allow} if allow else None))
        except Exception as exc:  # an error inside the model: recorded, answered, never a dropped request
            self.errors.append(exc)
            return _refused(NexusError(f"internal error: {type(exc).__name__}", 500))
        return response

    async def _nexus(self, request: web.Request) -> web.StreamResponse:
        limit = self.model.settings.max_body
        if request.content_length is not None and request.content_length > limit:
            raise NexusError(f"the body is {request.content_length} bytes; the limit is {limit}", 413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise NexusError(f"the body is over the limit of {limit} bytes", 413) from exc
        reply = self.model.handle(Request(request.method, request.path, dict(request.headers), body,
                                          dict(request.query)), time.time())
        for out in reply.sends:
            self._spawn(out)
        return _answer(reply)

    def _spawn(self, out: Outbound) -> None:
        assert self.sender is not None
        task = asyncio.get_running_loop().create_task(self.sender.send(out))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every send under way has finished (tests and benches)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # -- the control routes -------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return _ok(self.health())

    def health(self) -> dict[str, Any]:
        """What ``GET /_smslab/health`` answers."""
        s = self.model.settings
        return {"kind": "nexus", "url": self.url, "status": "ok", "ccid": s.ccid,
                "interactions": len(self.model.interactions.listing()), "parked": len(self.model.parked),
                "refused": self.model.refused, "sending": len(self._tasks), "errors": len(self.errors),
                "variants": {"signature": s.signature.value, "unprovisioned": s.unprovisioned.value,
                             "webhook_timeout": s.webhook_timeout, "retries": list(s.retries),
                             "kaleyra_inbound_auth": s.kaleyra_auth.value}}

    async def _interactions(self, request: web.Request) -> web.StreamResponse:
        return _ok(self.model.interactions.listing(request.query.get("kind"), request.query.get("section")))

    async def _interaction(self, request: web.Request) -> web.StreamResponse:
        return _ok(self.model.interactions.get(request.match_info["id"]).to_json())

    async def _reply(self, request: web.Request) -> web.StreamResponse:
        try:
            data = json.loads(await request.read() or b"{}")
        except ValueError as exc:
            raise NexusError(f"the body is not valid JSON: {exc}", 400) from exc
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str):
            raise NexusError("the body must be {\"text\": <the agent's reply>}", 400)
        message, out = self.model.reply(request.match_info["id"], text, time.time())
        self._spawn(out)
        return _ok(message.to_json(), 202)

    async def _start_campaign(self, request: web.Request) -> web.StreamResponse:
        try:
            data = json.loads(await request.read() or b"null")
        except ValueError as exc:
            raise NexusError(f"the body is not valid JSON: {exc}", 400) from exc
        campaign, sends = self.model.campaign(data, time.time())
        task = asyncio.get_running_loop().create_task(self._paced(sends, campaign.rate))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return _ok(campaign.to_json(), 202)

    async def _paced(self, sends: tuple[Outbound, ...], rate: float) -> None:
        """Hand the campaign's messages on at ``rate`` per second."""
        for i, out in enumerate(sends):
            if i:
                await asyncio.sleep(1.0 / rate)
            self._spawn(out)

    async def _campaigns(self, request: web.Request) -> web.StreamResponse:
        return _ok([c.to_json() for c in self.model.campaigns.values()])

    async def _campaign(self, request: web.Request) -> web.StreamResponse:
        found = self.model.campaigns.get(request.match_info["id"])
        if found is None:
            raise NexusError(f"no campaign {request.match_info['id']}", 404)
        return _ok(found.to_json())

    async def _clear(self, request: web.Request) -> web.StreamResponse:
        self.reset()
        return _ok(None)

    def reset(self) -> None:
        """Forget interactions, parked messages, campaigns and attempts (what the lab's reset asks)."""
        self.model.interactions.clear()
        self.model.parked.clear()
        self.model.campaigns.clear()
        if self.sender is not None:
            self.sender.attempts.clear()

    async def _parked(self, request: web.Request) -> web.StreamResponse:
        return _ok(list(self.model.parked))

    async def _attempts(self, request: web.Request) -> web.StreamResponse:
        sender = self.sender
        return _ok([a.to_json() for a in sender.attempts] if sender is not None else [])

    # -- serving ------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: any free port); the base URL with the real port."""
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving (sends under way are cancelled)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
