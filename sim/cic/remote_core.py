"""A CIC node's SMS core served over HTTP (``core: {url: ...}``): each decision is one awaited request.

``RemoteCore`` is the node's seam (``sim.cic.core_seam.NodeCore``) around ``sim.core.remote.CoreClient``,
with aiohttp as the transport. Calls go one at a time, in the order the node makes them (as in process:
the ids and references each call carries must not be handed to two calls at once), and ``timeout`` bounds
each one, its wait for the calls before it included, so a node never hangs on its core. Whatever goes
wrong (the server cannot be reached, does not answer in time, answers an error or something that is not
the call's answer) raises ``CoreCallError`` (503) with a sentence naming the core's URL, the call and what
happened; the node logs it and answers the broker 503, which it retries (``sim.cic.records``).

After a call that failed once its request was sent (a timeout, a bad answer), the server may have taken
the ids it carried: they are dropped, and the next call carries fresh ones. The core is made on the server
at the first call; when the server no longer knows it (it restarted), the next call makes a new one, empty.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, cast

import aiohttp

from sim.core.config import CicConfig, RemoteCoreSettings
from sim.core.interactions import Interaction, InteractionState
from sim.core.protocol import CoreContext, Received, Refused, Sent
from sim.core.remote import CoreCallError, CoreClient
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms

__all__ = ["RemoteCore"]


class RemoteCore:
    """The node's seam to a core served over HTTP.

    Args:
        config: the CIC configuration (the core is made with its ``source``).
        context: the node's id source and reference counter.
        settings: the served core's URL and the timeout of one call.
    """

    is_node_core = True

    def __init__(self, config: CicConfig, context: CoreContext, settings: RemoteCoreSettings) -> None:
        self.client = CoreClient(config, context, settings.url)
        self.settings = settings
        self.calls = self.failures = 0
        self.last_error = ""
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def _call(self, call: str, **args: Any) -> Any:
        self.calls += 1
        try:
            async with asyncio.timeout(self.settings.timeout):
                async with self._lock:
                    return await self._exchange(call, args)
        except TimeoutError:
            self.client.drop_ids()
            raise self._failed(f"core at {self.settings.url} did not answer {call} within "
                               f"{self.settings.timeout:g} s") from None
        except CoreCallError as exc:
            raise self._failed(str(exc)) from exc

    async def _exchange(self, call: str, args: dict[str, Any]) -> Any:
        if self.client.core_id is None:
            path, body = self.client.create_request()
            self.client.created(*await self._post("make a core", path, body))
        path, body = self.client.request(call, **args)
        try:
            return self.client.answer(call, *await self._post(call, path, body))
        except CoreCallError:
            self.client.drop_ids()
            raise

    async def _post(self, what: str, path: str, body: dict[str, Any] | None,
                    method: str = "POST") -> tuple[int, Any]:
        url = self.settings.url + path
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(method, url, json=body) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError) as exc:
            raise CoreCallError(f"core at {self.settings.url} cannot be reached for {what}: "
                                f"{type(exc).__name__}: {exc}") from exc
        try:
            return status, json.loads(raw)
        except ValueError:
            raise CoreCallError(f"core at {self.settings.url} answered {what} with HTTP {status} and a body "
                                f"that is not JSON: {raw[:80]!r}") from None

    def _failed(self, message: str) -> CoreCallError:
        self.failures += 1
        self.last_error = message
        return CoreCallError(message)

    def describe(self) -> dict[str, Any]:
        """The core's URL, its id on the server, and how its calls went."""
        return {"kind": "http", "url": self.settings.url, "timeout": self.settings.timeout,
                "core": self.client.core_id, "calls": self.calls, "failures": self.failures,
                "last_error": self.last_error}

    async def retire(self) -> None:
        """Let the server forget the core, and close the connections (best effort: it may be down)."""
        try:
            if self.client.core_id is not None:
                async with asyncio.timeout(self.settings.timeout):
                    await self._post("delete", f"/cores/{self.client.core_id}", None, "DELETE")
        except (TimeoutError, CoreCallError):
            pass
        finally:
            self.client.core_id = None
            if self._session is not None:
                await self._session.close()
                self._session = None

    # -- the SmsCore calls --------------------------------------------------------------------------------

    async def receive(self, sms: InboundSms, now: float) -> Received:
        """``SmsCore.receive`` over HTTP."""
        return cast(Received, await self._call("receive", sms=sms, now=now))

    async def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """``SmsCore.send`` over HTTP."""
        return cast("Sent | Refused", await self._call("send", message=message, now=now))

    async def due(self, now: float) -> list[MtRequest]:
        """``SmsCore.due`` over HTTP."""
        return cast("list[MtRequest]", await self._call("due", now=now))

    async def next_due(self) -> float | None:
        """``SmsCore.next_due`` over HTTP."""
        return cast("float | None", await self._call("next_due"))

    async def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """``SmsCore.delivery_receipt`` over HTTP."""
        await self._call("delivery_receipt", receipt=receipt, now=now)

    async def interaction(self, interaction_id: str) -> Interaction | None:
        """``SmsCore.interaction`` over HTTP."""
        return cast("Interaction | None", await self._call("interaction", interaction_id=interaction_id))

    async def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """``SmsCore.set_state`` over HTTP."""
        return cast("Interaction | None",
                    await self._call("set_state", interaction_id=interaction_id, state=state))

    async def forget(self, interaction_id: str) -> bool:
        """``SmsCore.forget`` over HTTP."""
        return cast(bool, await self._call("forget", interaction_id=interaction_id))

    async def interactions(self) -> list[Interaction]:
        """``SmsCore.interactions`` over HTTP."""
        return cast("list[Interaction]", await self._call("interactions"))

    async def restore(self, snapshot: Mapping[str, Any]) -> None:
        """``SmsCore.restore`` over HTTP."""
        await self._call("restore", snapshot=snapshot)
