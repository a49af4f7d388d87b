"""The fake base: model, capture, faults, DLR scheduler and pusher behind a thin aiohttp shell.

A broker subclasses ``FakeBroker`` and supplies its wire routes (``wire_routes``), its error format
(``error_response``) and what an injected MO looks like on its wire (``inject_mo``); it schedules DLRs with
``self.scheduler.schedule(delay, item)`` and delivers them in ``deliver_dlr``. Everything else is here,
once: the inspection API under ``/_smslab/``, the one fault middleware, the one error conversion, the body
limit, starting on a real port (HTTP or HTTPS) and stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import socket
import ssl as ssllib
import struct
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import web

from fakes.common.capture import Captured, CaptureStore
from fakes.common.carrier import LiveCarrier, parts_of
from fakes.common.clock import Clock, RealClock
from fakes.common.dlr import DlrScheduler
from fakes.common.faults import Fault, FaultHook, FaultKind
from fakes.common.inspect import MoRequest, inspect_routes
from fakes.common.push import Push, Pusher
from fakes.common.settings import CommonSettings, client_tls
from fakes.common.wire import WireError, WireReason
from fakes.common.wirelog import Exchange, WireLog, as_text
from sim.carrier.model import Submitted
from sim.carrier.population import Mo
from sim.core.errors import InputError
from sim.core.types import DeliveryState

__all__ = ["INSPECT_PREFIX", "FakeBroker", "MoRequest"]

#: The reserved prefix of the inspection API on every fake (what it received, listed and reset there).
INSPECT_PREFIX = "/_smslab/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The seqs of the MT records captured while serving the current request (the wire log pairs them with it).
_CAPTURED: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("captured", default=None)


class FakeBroker:
    """What every fake broker shares.

    Args:
        name: the fake's name (stamped on captured records, reported by ``health``).
        settings: the shared settings (``read_common``).
        clock: the clock; a ``RealClock`` when omitted.
        rng: the random generator; ``random.Random(settings.seed)`` when omitted.
    """

    kind: ClassVar[str] = "fake"

    def __init__(self, name: str, settings: CommonSettings, *, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self.name = name
        self.settings = settings
        self.clock: Clock = clock or RealClock()
        self.rng = rng or random.Random(settings.seed)
        self.capture = CaptureStore(name, settings.capture_limit)
        self.capture.listeners.append(_note_captured)
        self.wire = WireLog()  # the bytes of the last requests that captured records, and of the pushes
        self.faults = FaultHook(self.rng, settings.faults)
        self.errors: list[BaseException] = []
        self.scheduler: DlrScheduler[Any] = DlrScheduler(self.clock, self.deliver_dlr, settings.dlr_limit,
                                                         on_error=self.record_error)
        p = settings.push
        self.pusher = Pusher(self.clock, settings.retry, self.faults, time_scale=settings.time_scale,
                             concurrency=p.concurrency, max_pending=p.max_pending,
                             attempts_limit=p.attempts_limit, timeout=p.timeout, ssl=client_tls(p),
                             on_error=self.record_error)
        self.carrier = self._new_carrier()
        self._carrier_pending = 0
        self._mo_tasks: set[asyncio.Task[Any]] = set()
        self.url = ""
        self._runner: web.AppRunner | None = None

    # -- what a broker supplies -----------------------------------------------------------------------

    def wire_routes(self) -> list[web.AbstractRouteDef]:
        """The broker's own routes (MT endpoints and the like)."""
        raise NotImplementedError

    def error_response(self, error: InputError) -> web.StreamResponse:
        """The broker's own answer to a refused request (status and body in its format)."""
        raise NotImplementedError

    def error_response_for(self, request: web.Request, error: InputError) -> web.StreamResponse:
        """The answer to a refused ``request``; brokers with several formats (by path) override this."""
        return self.error_response(error)

    def throttle_response(self, fault: Fault, request: web.Request | None = None) -> web.StreamResponse:
        """The broker's 429 answer for a throttle fault; by default its error body with ``Retry-After``."""
        error = WireError("too many requests", WireReason.THROTTLED, status=429)
        response = self.error_response(error) if request is None else self.error_response_for(request, error)
        response.headers["Retry-After"] = str(fault.retry_after)
        return response

    async def inject_mo(self, mo: MoRequest) -> Captured:
        """Build the MO push in the broker's format, capture it, submit it and return the record.

        Raises:
            InputError: when the request cannot be pushed (no MO URL, an unknown extra field).
        """
        raise InputError(f"{self.kind} fakes do not push MOs", 409)

    def deliver_dlr(self, item: Any) -> None:
        """Called by the scheduler when a DLR scheduled with ``self.scheduler.schedule`` falls due."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what was captured, pending DLRs and pushes (``DELETE /_smslab/messages``).

        With carriers, the carrier model starts afresh too: its clock, its queues and its populations.
        """
        self.capture.clear()
        self.scheduler.clear()
        self.pusher.clear()
        self.wire.clear()
        if self.carrier is not None:
            running = self.carrier.started is not None
            self.carrier.stop()
            self.carrier, self._carrier_pending = self._new_carrier(), 0
            if running and self.carrier is not None:
                self.carrier.start()

    def _new_carrier(self) -> LiveCarrier | None:
        s = self.settings
        if not s.carriers:
            return None
        # Its own generator, so the ids and faults the fake draws do not move the carrier's run.
        return LiveCarrier(self.clock, s.carriers, random.Random(f"carrier:{s.seed}"), s.time_scale,
                           self._carrier_dlr, populations=s.populations, on_mo=self._population_mo,
                           on_error=self.record_error)

    # -- shared helpers for brokers -------------------------------------------------------------------

    def mo_target(self, mo: MoRequest) -> str:
        """The URL an MO goes to: the request's own, else ``mo_url``.

        Raises:
            InputError: 409 when neither is set.
        """
        url = mo.url or self.settings.mo_url
        if not url:
            raise InputError(f"fake {self.name!r} has no mo_url and the request gave no 'url'", 409)
        return url

    def carrier_admits(self, recipients: list[str], sender: str) -> None:
        """Refuse a request the carriers would throttle, before anything of it is captured.

        Raises:
            WireError: THROTTLED (the broker's own throttle answer) when a recipient's carrier is over its
                cap with ``over_cap: throttle``, or its queue is full.
        """
        if self.carrier is not None and not self.carrier.admits(recipients, sender):
            raise WireError("the carrier's throughput cap is reached: try again later", WireReason.THROTTLED,
                            status=429)

    def to_carrier(self, recipient: str, sender: str, text: str, message_id: str,
                   deliver: Callable[[DeliveryState], None] | None) -> None:
        """Hand an accepted MT to the carrier model; ``deliver(state)`` when its DLR reaches the broker.

        Only with ``carriers``; without them each fake plans with ``settings.dlr`` and its scheduler. The
        MT takes its carrier slot whether or not a DR is wanted (``deliver`` ``None``). Past ``dlr.limit``
        DLRs pending, the DR is counted as overflow, as the scheduler does.
        """
        assert self.carrier is not None
        if deliver is not None and self._carrier_pending >= self.settings.dlr_limit:
            self.scheduler.overflow += 1
            deliver = None
        if deliver is not None:
            self._carrier_pending += 1
        answer = self.carrier.submit(message_id, recipient, sender, parts_of(text), deliver)
        if answer is Submitted.THROTTLED and deliver is not None:
            # A later recipient of one request over the cap (``admits`` passed the request whole): the
            # broker has taken it, the carrier has not, so its DR says FAILED at once.
            self._carrier_pending -= 1
            deliver(DeliveryState.FAILED)

    def _carrier_dlr(self, deliver: Callable[[DeliveryState], None] | None, state: DeliveryState,
                     code: str) -> None:
        if deliver is None:
            return
        self._carrier_pending -= 1
        self.scheduler.delivered += 1
        try:
            deliver(state)
        except Exception as exc:  # as the scheduler does: one bad DR must not stop the others
            self.record_error(exc)

    def _population_mo(self, mo: Mo) -> None:
        request = MoRequest(mo.sender, mo.to, mo.text)
        task = asyncio.get_running_loop().create_task(self.inject_mo(request))
        self._mo_tasks.add(task)
        task.add_done_callback(self._mo_done)

    def _mo_done(self, task: asyncio.Task[Any]) -> None:
        self._mo_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.record_error(task.exception())  # type: ignore[arg-type]

    def push(self, push: Push) -> bool:
        """Submit a push through the one pusher (push faults apply), sent as ``push.method`` says;
        ``False`` when not sent."""
        sent = push.sent_as(self.settings.push.method)
        self.wire.push(sent)
        return self.pusher.submit(sent)

    def record_error(self, error: BaseException) -> None:
        """Keep an unexpected error from inside the server, for ``check`` to re-raise in the test."""
        if len(self.errors) < 100:
            self.errors.append(error)

    def check(self) -> None:
        """Re-raise the first unexpected error raised inside the fake (pytest-httpserver's habit)."""
        if self.errors:
            raise self.errors[0]

    def health(self) -> dict[str, Any]:
        """What ``GET /_smslab/health`` answers."""
        return {"name": self.name, "kind": self.kind, "status": "ok", "url": self.url,
                "time": self.clock.now(), "captured": self.capture.stats(), "dlr": self.scheduler.stats(),
                "pushes": self.pusher.stats(), "faults": len(self.faults.active()),
                "faults_applied": self.faults.applied, "errors": len(self.errors),
                **({"carrier": self.carrier.stats()} if self.carrier is not None else {})}

    # -- the shell --------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """A new application for this fake (also what ``aiohttp_client`` tests use, without sockets)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=self.settings.client_max_size)
        app.add_routes(inspect_routes(self))
        app.add_routes(self.wire_routes())
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0,
                    ssl: ssllib.SSLContext | None = None) -> str:
        """Serve on ``host:port`` (0: any free port) and return the base URL with the real port."""
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"{'https' if ssl else 'http'}://{shown}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving, stop the scheduler and the pusher."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_startup(self, app: web.Application) -> None:
        self.scheduler.start()
        await self.pusher.start()
        if self.carrier is not None:
            self.carrier.start()

    async def _on_cleanup(self, app: web.Application) -> None:
        if self.carrier is not None:
            self.carrier.stop()
        for task in list(self._mo_tasks):
            task.cancel()
        await self.scheduler.stop()
        await self.pusher.stop()

    def wire_of(self, record: Captured) -> dict[str, Any]:
        """What was on the wire for ``record``: the request and answer (an MT), or the push with its
        attempts (an MO or a DLR); a part the wire log has forgotten is ``None``."""
        if record.kind == "mt":
            exchange = self.wire.exchange_of(record.seq)
            return exchange.to_json() if exchange is not None else {"request": None, "answer": None}
        push = self.wire.push_of(record.kind, record.message_id)
        attempts = [a.to_json() for a in self.pusher.attempts
                    if a.kind == record.kind and a.message_id == record.message_id]
        if push is None:
            return {"request": None, "attempts": attempts}
        headers = [[k, v] for k, v in self.pusher.headers_of(push).items()]
        return {"request": {"method": push.method, "url": push.url, "headers": headers,
                            "body": as_text(push.body)}, "attempts": attempts}

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INSPECT_PREFIX):
            return await handler(request)
        captured: list[int] = []
        token = _CAPTURED.set(captured)
        try:
            response = await self._serve(request, handler)
        finally:
            _CAPTURED.reset(token)
        if captured:
            body = response.body if isinstance(response, web.Response) else b""
            self.wire.exchange(captured, Exchange(
                request.method, request.path_qs, tuple(request.headers.items()), await request.read(),
                response.status, tuple(response.headers.items()), body if isinstance(body, bytes) else b""))
        return response

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            fault = self.faults.for_request(request.path) if self.faults.armed else None
            if fault is not None:
                return await self._apply(fault, request, handler)
            return await handler(request)
        except InputError as exc:
            return self.error_response_for(request, exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            reason = {404: WireReason.NOT_FOUND, 405: WireReason.METHOD,
                      413: WireReason.TOO_LARGE}.get(exc.status, WireReason.OTHER)
            return self.error_response_for(request, WireError(exc.reason, reason, status=exc.status))
        except Exception as exc:
            self.record_error(exc)
            error = InputError(f"internal error in the fake: {type(exc).__name__}", 500)
            return self.error_response_for(request, error)

    async def _apply(self, fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
        # The one place request faults act; nothing is captured unless the handler runs.
        if fault.kind is FaultKind.LATENCY:
            await self.clock.sleep(fault.delay)
            return await handler(request)
        if fault.kind is FaultKind.ERROR:
            if fault.body:
                return web.Response(status=fault.status, body=fault.body.encode(),
                                    content_type=fault.content_type)
            return self.error_response_for(request, InputError("fault injected", fault.status))
        if fault.kind is FaultKind.THROTTLE:
            return self.throttle_response(fault, request)
        if fault.kind is FaultKind.MALFORMED:
            return _malformed(await handler(request), fault)
        if fault.kind is FaultKind.HANG:
            await self.clock.sleep(fault.delay)
        _reset(request)
        # Never reaches the client: writing to the aborted transport fails and aiohttp drops it quietly.
        return web.Response(status=500, text="connection dropped by a fault")


def _note_captured(record: Captured) -> None:
    captured = _CAPTURED.get()
    if captured is not None and record.kind == "mt":
        captured.append(record.seq)


def _malformed(response: web.StreamResponse, fault: Fault) -> web.StreamResponse:
    """The answer with its body replaced: the fault's body, or the real body cut in half."""
    if fault.body:
        return web.Response(status=response.status, body=fault.body.encode(), content_type=fault.content_type)
    body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
    out = web.Response(status=response.status, body=body[: len(body) // 2])
    out.headers["Content-Type"] = response.headers.get("Content-Type", "application/octet-stream")
    return out


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), so the client sees a reset, not a clean close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
