"""How Digital Channels sends through each provider: Genesys Cloud (Portico), Kaleyra, a custom gateway.

The I/O half of sending (``sim.nexus.model`` decides what to send; this module sends it with aiohttp):

* **Portico** (Option 3): a token from ``<PurecloudIDP url>/oauth/token`` with Basic
  ``clientId:clientSecret`` and ``grant_type=client_credentials``, kept until ``refresh_margin`` seconds
  before its ``expires_in`` runs out (and dropped on a 401), then
  ``POST <PorticoSMS url>/api/v2/messaging/sms`` with ``{sender, destination, message, requestReceipt:
  true}`` (the Genesys Cloud JavaScript SDK 179.0.0's ``SmsMessageRequest``); the answer's
  ``messageId`` names later receipts.
* **Kaleyra** (Option 1): ``POST <mGageSMS url><kaleyra.mt_path>`` (DirectTEXT's
  ``/a2w_preRouter/httpApiRouter``, the path every public client uses) as a form with ``reply_to``,
  ``recipient``, ``body`` and ``reporting_key1`` (our message id), Basic ``username:password``; success is
  ``<code>100</code>`` and the recipient's ``<messageId>``.
* **Async** (Option 2): ``POST`` the channel's ``webhook.url`` with ``{"messages": [...]}``, signed
  ``X-Hub-Signature: sha1=<HMAC-SHA1 with webhook.secret>``, an ``X-B3-TraceId`` and every
  ``header:<name>`` option of the section ("Third-party messaging webhook"; "Add custom HTTP headers").
  Any 2xx is processed; its ``messageId`` names receipts (a 2xx without one is accepted, and noted, since
  receipts then cannot be matched). A 5xx, or no answer within ``webhook.timeout`` (10 s), is
  redelivered after each delay of ``webhook.retries``; a 4xx is final.

Every attempt is logged (bounded) for the control API.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sim.nexus.model import Nexus, Outbound
from sim.nexus.services import Provider
from sim.nexus.wire import sign

__all__ = ["Attempt", "Sender"]

_CODE = re.compile(r"<code>\s*([^<]*?)\s*</code>")
_MESSAGE_ID = re.compile(r"<messageId>\s*([^<]*?)\s*</messageId>")


@dataclass(frozen=True)
class Attempt:
    """One try at handing a message to its provider."""

    message_id: str
    provider: str
    url: str
    status: int  # 0: no answer (connection error or timeout)
    outcome: str
    at: float

    def to_json(self) -> dict[str, object]:
        """As the control API lists it."""
        return {"message_id": self.message_id, "provider": self.provider, "url": self.url,
                "status": self.status, "outcome": self.outcome, "at": self.at}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Final(Exception):
    """The provider refused the message for good (no redelivery)."""


class _Again(Exception):
    """Worth trying again (a 5xx, a timeout, a connection error)."""


class Sender:
    """Sends a model's ``Outbound`` messages and reports their fate back to it.

    Args:
        model: the Digital Channels model (its services hold the URLs and secrets).
        session: the HTTP client session.
        now: the clock (``time.time`` by default).
        sleep: how redelivery waits (``asyncio.sleep`` by default).
    """

    def __init__(self, model: Nexus, session: aiohttp.ClientSession, now: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.model, self.session, self.now, self.sleep = model, session, now, sleep
        self.attempts: deque[Attempt] = deque(maxlen=10_000)
        self._tokens: dict[str, tuple[str, float]] = {}
        self.tokens_fetched = 0

    async def send(self, out: Outbound) -> None:
        """Send one message, redelivering as the provider's rules say; the model learns the outcome."""
        delays = list(self.model.settings.retries) if out.provider is Provider.ASYNC else []
        while True:
            try:
                provider_id = await self._once(out)
            except _Again as exc:
                if not delays:
                    self.model.interactions.failed(out.message_id, str(exc))
                    return
                await self.sleep(delays.pop(0))
                continue
            except _Final as exc:
                self.model.interactions.failed(out.message_id, str(exc))
                return
            self.model.interactions.accepted(out.message_id, provider_id)
            return

    async def _once(self, out: Outbound) -> str:
        if out.provider is Provider.PORTICO:
            return await self._portico(out)
        if out.provider is Provider.MGAGE:
            return await self._kaleyra(out)
        return await self._async(out)

    def _log(self, out: Outbound, url: str, status: int, outcome: str) -> None:
        self.attempts.append(Attempt(out.message_id, out.provider.value, url, status, outcome, self.now()))

    async def _post(self, out: Outbound, url: str, timeout: float, **kwargs: Any) -> tuple[int, bytes]:
        try:
            async with self.session.post(url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            self._log(out, url, 0, f"no answer within {timeout:g} s")
            raise _Again(f"no answer within {timeout:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            self._log(out, url, 0, f"cannot connect: {type(exc).__name__}")
            raise _Again(f"cannot reach {url}: {type(exc).__name__}") from exc

    # -- Portico -----------------------------------------------------------------------------------

    async def token(self, ccid: str) -> str:
        """A Genesys Cloud token for the tenant: the kept one, or a new one near or past its expiry."""
        kept = self._tokens.get(ccid)
        if kept is not None and self.now() < kept[1] - self.model.settings.refresh_margin:
            return kept[0]
        idp = self.model.services.get(ccid, "PurecloudIDP")
        url = idp.url.rstrip("/") + "/oauth/token"
        auth = _basic(str(idp.secret.get("clientId", "")), str(idp.secret.get("clientSecret", "")))
        try:
            async with self.session.post(url, data={"grant_type": "client_credentials"},
                                         headers={"Authorization": auth},
                                         timeout=aiohttp.ClientTimeout(total=30.0)) as resp:
                status, body = resp.status, _json(await resp.read())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _Final(f"the Genesys Cloud login at {url} cannot be reached: {type(exc).__name__}") from exc
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise _Final(f"the Genesys Cloud login refused the client: {status} {body}")
        self.tokens_fetched += 1
        token = str(body["access_token"])
        self._tokens[ccid] = (token, self.now() + float(body.get("expires_in", 0)))
        return token

    async def _portico(self, out: Outbound, again: bool = True) -> str:
        api = self.model.services.get(out.ccid, "PorticoSMS")
        url = api.url.rstrip("/") + "/api/v2/messaging/sms"
        token = await self.token(out.ccid)
        to = out.to if out.to.startswith("+") else "+" + out.to
        payload = {"sender": "+" + out.channel_id.lstrip("+"), "destination": to, "message": out.text,
                   "requestReceipt": True}
        bearer = {"Authorization": f"Bearer {token}"}
        status, raw = await self._post(out, url, 30.0, json=payload, headers=bearer)
        if status == 401 and again:
            self._log(out, url, status, "token refused; a new one is fetched")
            self._tokens.pop(out.ccid, None)
            return await self._portico(out, again=False)
        body = _json(raw)
        if status == 200 and isinstance(body, dict) and body.get("messageId"):
            self._log(out, url, status, "accepted")
            return str(body["messageId"])
        self._log(out, url, status, f"refused: {raw[:200].decode('utf-8', 'replace')}")
        raise _Final(f"Genesys Cloud refused the message: {status}")

    # -- Kaleyra -----------------------------------------------------------------------------------

    async def _kaleyra(self, out: Outbound) -> str:
        service = self.model.services.get(out.ccid, "mGageSMS")
        url = service.url.rstrip("/") + self.model.settings.kaleyra_mt_path
        form = {"reply_to": out.channel_id, "recipient": out.to, "body": out.text,
                "reporting_key1": out.message_id}
        auth = _basic(str(service.secret.get("username", "")), str(service.secret.get("password", "")))
        status, raw = await self._post(out, url, 60.0, data=form, headers={"Authorization": auth})
        text = raw.decode("utf-8", "replace")
        code, found = _CODE.search(text), _MESSAGE_ID.search(text)
        if status == 200 and code is not None and code.group(1) == "100" and found is not None:
            self._log(out, url, status, "accepted")
            return found.group(1)
        self._log(out, url, status, f"refused: {text[:200]}")
        raise _Final(f"Kaleyra refused the message: {status} code {code.group(1) if code else 'none'}")

    # -- Async -------------------------------------------------------------------------------------

    async def _async(self, out: Outbound) -> str:
        channel = self.model.services.async_channel(out.ccid, out.channel_id)
        if channel is None:
            raise _Final(f"channel {out.channel_id} is no longer provisioned")
        message = {"messageId": out.message_id, "channelId": out.channel_id,
                   "channelType": channel.kind.value, "from": out.channel_id, "to": out.to, "type": "Text",
                   "text": out.text}
        body = json.dumps({"messages": [message]}, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {**out.headers, "X-Hub-Signature": sign(channel.webhook_secret, body,
                                                          self.model.settings.signature),
                   "X-B3-TraceId": self.model.new_id().replace("-", ""), "Content-Type": "application/json"}
        status, raw = await self._post(out, channel.webhook_url, self.model.settings.webhook_timeout,
                                       data=body, headers=headers)
        if status >= 500:
            self._log(out, channel.webhook_url, status, "5xx: to be redelivered")
            raise _Again(f"the webhook answered {status}")
        if not 200 <= status < 300:
            self._log(out, channel.webhook_url, status, "refused")
            raise _Final(f"the webhook answered {status}")
        answer = _json(raw)
        provider_id = str(answer.get("messageId") or "") if isinstance(answer, dict) else ""
        self._log(out, channel.webhook_url, status, "accepted" if provider_id else
                  "accepted without messageId: receipts cannot be matched")
        return provider_id


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None
