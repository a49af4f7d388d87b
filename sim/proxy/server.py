"""The ARR-style reverse proxy on aiohttp: URL rewrite, server farm with its URL test, TLS offload or
re-encrypt, and ARR's own 502.3 / 502.4 answers (IIS ARR documentation; SMS Technical Reference, "SMS
Reverse Proxy Setup" and "Server Farm and Switchover Considerations").

The decisions live in the sans-IO ``Farm`` and ``RewriteRule``; this shell only moves bytes: it probes each
member every ``interval`` (``burst`` probes at a time), forwards each request to the member ``Farm.pick``
chooses, and turns what goes wrong into ARR's answers in one place (``_arr_error``): no member -> 502.4; an
upstream timeout, a refused connection or, when re-encrypting, a member certificate the proxy does not
trust -> 502.3. With SSL offloading on, members are reached over HTTP; with it off, over HTTPS, verified
against ``upstream_ssl`` (for the CIC farm: the ServerGroup root and the CIC CA).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from sim.proxy.farm import Farm, HealthChange, HealthTest, NoMember
from sim.proxy.rewrite import RewriteRule

__all__ = ["ProxyServer", "ProxySettings", "probe_failure", "substatus_of"]

# Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; Host is set for the member.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length"}
SUBSTATUS_HEADER = "X-Smslab-Substatus"  # IIS keeps the substatus in its logs; the lab puts it on the wire
_ARR_TEXT = {
    "502.3": "Web server received an invalid response while acting as a gateway or proxy server.",
    "502.4": "No server is available to handle this request.",
}


@dataclass(frozen=True)
class ProxySettings:
    """What the proxy is configured with.

    Attributes:
        members: farm members as ``host:port``, in configuration order.
        rules: URL rewrite rules, tried in order; a request no rule matches gets 404.
        health: the farm's URL test (its ``url`` path and query are sent to each member).
        offload: SSL offloading: members over HTTP (True) or over HTTPS, verified (False).
        upstream_ssl: the client context for re-encrypt (what the proxy trusts).
        timeout: ARR's proxy time-out for a forwarded request, seconds (default 30).
        max_body: the largest request body forwarded, bytes.
    """

    members: Sequence[str]
    rules: Sequence[RewriteRule] = ()
    health: HealthTest = field(default_factory=HealthTest)
    offload: bool = True
    upstream_ssl: ssl.SSLContext | None = None
    timeout: float = 30.0
    max_body: int = 1 << 20


def substatus_of(response: aiohttp.ClientResponse) -> str:
    """The ARR substatus a response from the proxy carries (``""`` for a forwarded answer)."""
    return response.headers.get(SUBSTATUS_HEADER, "")


def probe_failure(exc: BaseException, timeout: float) -> str:
    """Why a URL test got no answer, in the words the farm view shows (refused, timed out, TLS, reset)."""
    if isinstance(exc, TimeoutError):
        return f"no response within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS: the member's certificate is not trusted ({exc.certificate_error})"
    if isinstance(exc, (ssl.SSLError, aiohttp.ClientSSLError)):
        return f"TLS handshake failed: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        reason = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
        return f"connection failed: {reason} ({exc.host}:{exc.port})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the member closed the connection without answering"
    return f"no answer: {type(exc).__name__}" + (f" ({exc})" if str(exc) else "")


def _epoch(loop_time: float) -> float:
    """An event-loop time as epoch seconds (UTC), the form every time in the lab's answers takes."""
    return round(time.time() - (asyncio.get_running_loop().time() - loop_time), 6)


class ProxyServer:
    """The reverse proxy: an aiohttp application plus the probe loop.

    Args:
        settings: the proxy settings (health events are stamped with the event loop's clock).
    """

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.farm = Farm(list(settings.members), settings.health)
        # ARR's "Failed Requests" counter: 502.3 only, never 502.4 (Scott Forsyth, "What the Failed Requests
        # counter in ARR really means").
        self.failed_requests = 0
        #: Called with (status, substatus) of every answer to a proxied request ("" for a forwarded one),
        #: and with every member health change (the lab's metrics and event stream listen here).
        self.answer_listeners: list[Callable[[int, str], None]] = []
        self.health_listeners: list[Callable[[HealthChange], None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application (inspection under ``/_smslab/``, everything else proxied)."""
        app = web.Application(client_max_size=self.settings.max_body)
        app.router.add_get("/_smslab/farm", self._farm_view)
        app.router.add_post("/_smslab/farm/verify", self._verify)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None,
                    probe: bool = True) -> str:
        """Serve on ``host:port`` (0: any free port) and start probing; returns the proxy's base URL."""
        # The body goes to the member as it came, Content-Encoding and all (as ARR forwards it): decoding
        # it here would forward decoded bytes under a header that says otherwise.
        self._runner = web.AppRunner(self.app(), auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        if probe:
            self._probe_task = asyncio.create_task(self._probe_loop())
        bound = self._runner.addresses[0]
        scheme = "https" if ssl_context else "http"
        return f"{scheme}://{bound[0]}:{bound[1]}"

    async def stop(self) -> None:
        """Stop probing and serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_startup(self, _app: web.Application) -> None:
        upstream = False if self.settings.offload else self.settings.upstream_ssl
        connector = aiohttp.TCPConnector(ssl=upstream if upstream is not None else True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def _on_cleanup(self, _app: web.Application) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- health test ----------------------------------------------------------------------------------

    def _member_url(self, member: str, path_and_query: str) -> str:
        scheme = "http" if self.settings.offload else "https"
        return f"{scheme}://{member}{path_and_query}"

    def _probe_path(self) -> str:
        parts = urlsplit(self.settings.health.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def probe(self, member: str) -> tuple[int | None, str, str]:
        """Send one URL test to ``member`` and record it; returns (status, body, verdict)."""
        assert self._session is not None
        status: int | None = None
        body = failure = ""
        try:
            timeout = aiohttp.ClientTimeout(total=self.settings.health.timeout)
            url = self._member_url(member, self._probe_path())
            async with self._session.get(url, timeout=timeout) as resp:
                status, body = resp.status, await resp.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError, OSError, ssl.SSLError) as exc:
            failure = probe_failure(exc, self.settings.health.timeout)
        now = asyncio.get_running_loop().time()
        change = self.farm.record_probe(member, status, body, now, failure)
        if change is not None:
            for listener in self.health_listeners:
                listener(change)
        return status, body, self.farm.last_probe[member][2]

    async def probe_all(self) -> None:
        """One round of the URL test: ``burst`` probes to every member, concurrently."""
        probes = [self.probe(m) for m in self.farm.members for _ in range(self.settings.health.burst)]
        await asyncio.gather(*probes)

    async def _probe_loop(self) -> None:
        while True:
            await self.probe_all()
            await asyncio.sleep(self.settings.health.interval)

    # -- forwarding -----------------------------------------------------------------------------------

    def _arr_error(self, substatus: str, detail: str) -> web.Response:
        """ARR answering by itself: 502 with the substatus (the one place such answers are made)."""
        if substatus == "502.3":
            self.failed_requests += 1
        text = f"HTTP Error {substatus} - Bad Gateway\n{_ARR_TEXT[substatus]}\n{detail}\n"
        return web.Response(status=502, text=text, headers={SUBSTATUS_HEADER: substatus})

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        response = await self._answer(request)
        if self.answer_listeners:
            substatus = response.headers.get(SUBSTATUS_HEADER, "")
            for listener in self.answer_listeners:
                listener(response.status, substatus)
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        target = next((p for rule in self.settings.rules
                       if (p := rule.apply(request.path, request.query_string)) is not None), None)
        if target is None:
            return web.Response(status=404, text=f"no rewrite rule matches {request.path}\n")
        member = self.farm.pick()
        if isinstance(member, NoMember):
            return self._arr_error(member.status, member.reason)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        peer = request.remote or ""
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        body = await request.read()
        assert self._session is not None
        try:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
            url = self._member_url(member, target)
            async with self._session.request(request.method, url, headers=headers, data=body, timeout=timeout,
                                             allow_redirects=False) as resp:
                payload = await resp.read()
                out = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP}
                return web.Response(status=resp.status, body=payload, headers=out)
        except TimeoutError:
            return self._arr_error("502.3", f"{member} did not answer within {self.settings.timeout:g} s")
        except aiohttp.ClientConnectorCertificateError as exc:
            return self._arr_error("502.3", f"{member} presented a certificate the proxy does not trust: "
                                            f"{exc.certificate_error}")
        except (aiohttp.ClientError, OSError) as exc:
            return self._arr_error("502.3", f"{member} failed: {type(exc).__name__}")

    # -- inspection -----------------------------------------------------------------------------------

    def farm_report(self) -> dict[str, Any]:
        """Per member: health, state, the last probe's status and verdict ("Verify URL Test")."""
        members = []
        for m in self.farm.members:
            at, status, verdict = self.farm.last_probe.get(m, (None, None, "not probed yet"))
            members.append({"member": m, "healthy": self.farm.healthy[m], "state": self.farm.state[m].value,
                            "last_probe": {"at": None if at is None else _epoch(at), "status": status,
                                           "verdict": verdict}})
        eligible = self.farm.eligible()
        return {"members": members, "active": eligible[0] if len(eligible) == 1 else None,
                "failed_requests": self.failed_requests, "offload": self.settings.offload}

    async def _farm_view(self, _request: web.Request) -> web.Response:
        return web.json_response(self.farm_report())

    async def _verify(self, _request: web.Request) -> web.Response:
        await self.probe_all()
        return web.json_response(self.farm_report())
