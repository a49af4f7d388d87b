"""A simulated CIC node: the SMS Server's listeners, the broker clients, the SMS core and the store.

Theory of operation. ``start`` binds one listener per configured Incoming HTTP Port (``listeners``), the
control API (``control``), opens the SQLite store of ``records`` (a ``sim.cic.records.Records``: the core,
the store and the mirror) and starts the timer task (consolidation, idle timeout, daily purge). What a
listener does with a request depends on the role and the fault, decided in one place (``_gate``): the
active node serves (MO -> core -> store -> mirror -> 2xx; DR -> core -> store), a backup gives
``backup_answer`` (what a real backup answers is not public: a setting), a down node has no sockets at
all. A probe carrying ``healthcheckignore=1`` gets the health answer on the active node and nothing else
happens (SMS Technical Reference, "Health Test for Server Farm"). Every change to an interaction is written
to the store and awaited through ``records.mirror_to`` before the broker is answered, so a 2xx means the
backup has it (same document, "Recovery of SMS Interactions in Switchover").

Role and fault changes are synchronous: closing sockets happens at once; reopening them is scheduled on
the loop, and ``await node.settled()`` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl as ssllib
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sim.cic.clients import BrokerWire, DefinitionWire, Http, definition_for
from sim.cic.control import ControlBinding, PeerMirror
from sim.cic.core_seam import NodeCore
from sim.cic.listeners import Listener, Route, dr_path, route_table
from sim.cic.portico_client import PorticoWire
from sim.cic.records import Records
from sim.cic.remote_core import RemoteCore
from sim.cic.roles import NodeFault, Role
from sim.cic.settings import BackupAnswer, NodeSettings, SmsScheme
from sim.core.config import BrokerConfig, CicConfig
from sim.core.errors import ConfigError, Problem
from sim.core.loading import load_core_class
from sim.core.protocol import CoreContext, CoreFactory, SmsCore
from sim.core.remote import CoreCallError
from sim.core.segmentation import ReferenceCounter
from sim.serving import redact

__all__ = ["CicNode", "NodeFault", "Role"]

class CicNode:
    """One CIC server of the pair: sockets, role and faults around its ``records`` (core, store, mirror).

    Args:
        config: the CIC configuration (brokers, routes, server and Web Services parameters).
        settings: the node's own settings.
        role: the role it starts in.
        core_factory: builds the SMS core; the class named by ``config.core`` when omitted, and a core over
            HTTP (``sim.cic.remote_core``) when ``config.remote_core`` says ``core: {url: ...}``.
        clock: the node's clock (seconds); ``time.time`` when omitted.

    Raises:
        ConfigError: a broker type the node cannot speak, two brokers on one port and path, or an HTTPS
            listener (an HTTPS broker, or ``sms_scheme: https``) without ``tls_cert``/``tls_key``.
    """

    def __init__(self, config: CicConfig, settings: NodeSettings, *, role: Role = Role.ACTIVE,
                 core_factory: CoreFactory | None = None, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self.settings = settings
        self.clock: Callable[[], float] = clock or time.time
        self.log: deque[dict[str, Any]] = deque(maxlen=settings.log_limit)
        self.public_bases: dict[str, str] = {}
        self._role, self._fault = role, NodeFault.NONE
        remote = config.remote_core is not None and core_factory is None
        self._factory: CoreFactory | None = None if remote else core_factory or load_core_class(config.core)
        self._references = ReferenceCounter(1)
        self._table = route_table(config)
        self.wires: dict[str, BrokerWire] = _wires(config, self.clock)
        self.records = Records(config, self.wires, new_core=self._new_core, name=settings.name,
                               clock=self.clock, log=self.error, active=self._active,
                               dr_url=self.public_dr_url)
        self._tls_ports = _tls_ports(settings, self._table)
        self._listener_ssl = _listener_ssl(settings, self._table, self._tls_ports)
        self.listeners: dict[int, Listener] = {}
        self._control = ControlBinding(self, settings.host, settings.control_port)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.Task[None] | None = None
        self._stopping = False
        self._tmpdir = ""
        self._http: Http | None = None
        self._peer: PeerMirror | None = None

    # -- the core -----------------------------------------------------------------------------------------

    def _new_core(self) -> SmsCore | NodeCore:
        context = CoreContext(lambda: uuid.uuid4().hex[:16], self._references)
        if self._factory is None:
            assert self.config.remote_core is not None
            return RemoteCore(self.config, context, self.config.remote_core)
        return self._factory(self.config, context)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, bind every listener and the control API, start the timer task."""
        path = self.settings.store
        if not path:
            self._tmpdir = tempfile.mkdtemp(prefix=f"smslab-{self.settings.name}-")
            path = str(Path(self._tmpdir) / "node.sqlite")
        self.records.open_store(path)
        await self.records.purge()
        connector = aiohttp.TCPConnector(ssl=_client_ssl(self.settings.mt_ca), limit=100)
        self._http = Http(aiohttp.ClientSession(connector=connector))
        self.records.http = self._http
        for port, routes in sorted(self._table.items()):
            ssl = self._listener_ssl if port in self._tls_ports else None
            listener = Listener(port, routes, self.settings.host, self.settings.bind_port(port), self._on_sms,
                                ssl=ssl, client_max_size=self.settings.client_max_size)
            await listener.open()  # always bind once, so the ports are known even for a refusing backup
            self.listeners[port] = listener
        await self._control.open()
        self._apply()
        await self.settled()
        self._timer = asyncio.get_running_loop().create_task(self._timers())

    async def stop(self) -> None:
        """Close everything; the store file stays unless the node made it itself."""
        self._stopping = True
        self._notify()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.settled()
        for listener in self.listeners.values():
            await listener.cleanup()
        await self._control.cleanup()
        if self._http is not None:
            await self._http.session.close()
        if self._peer is not None:
            await self._peer.close()
        await self.records.close_core()
        self.records.close_store()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def settled(self) -> None:
        """Wait until every scheduled reopening of sockets has happened."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- role and faults ----------------------------------------------------------------------------------

    @property
    def role(self) -> Role:
        """The node's role."""
        return self._role

    @property
    def fault(self) -> NodeFault:
        """The fault in effect."""
        return self._fault

    def set_role(self, role: Role) -> None:
        """ACTIVE serves; BACKUP answers per ``backup_answer``; DOWN closes listeners and control."""
        self._role = role
        self._apply()

    def set_fault(self, fault: NodeFault) -> None:
        """Inject a fault (``NONE`` clears it)."""
        self._fault = fault
        self._apply()

    def ts_ping(self) -> bool:
        """The TsServer's answer to the peer's ping: none from a down or hung node."""
        return self._role is not Role.DOWN and self._fault is not NodeFault.HANG and not self._stopping

    def _sms_open(self) -> bool:
        if self._stopping or self._role is Role.DOWN or self._fault is NodeFault.PARTITION:
            return False
        return not (self._role is Role.BACKUP and self.settings.backup_answer is BackupAnswer.REFUSE)

    def _apply(self) -> None:
        """Close what must be closed now; schedule the reopening of the rest; wake held requests."""
        self._notify()
        wanted = self._sms_open()
        bindings: list[Any] = list(self.listeners.values())
        for listener in bindings:
            if not wanted:
                listener.close()
        control = self._role is not Role.DOWN and not self._stopping
        if not control:
            self._control.close()
        to_open = [b for b in bindings if wanted and not b.is_open]
        if control and not self._control.is_open and self._control.bound:
            to_open.append(self._control)
        if to_open and not self._stopping:
            task = asyncio.get_running_loop().create_task(self._open_all(to_open))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _open_all(self, bindings: list[Any]) -> None:
        for binding in bindings:
            try:
                await binding.open()
            except OSError as exc:
                self.error(f"cannot listen again on {binding.host}:{binding.bound}: {exc}")

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def wait_change(self) -> None:
        """Wait for the next role or fault change (a hung server never answers on its own)."""
        await self._wake.wait()

    def _active(self) -> bool:
        return self._role is Role.ACTIVE

    async def set_peer_url(self, url: str) -> None:
        """Mirror to the node whose control API is at ``url`` over HTTP (``""``: mirror nowhere)."""
        if self._peer is not None:
            await self._peer.close()
        self._peer = PeerMirror(url, self.settings.mirror_timeout) if url else None
        self.records.mirror_to = self._peer

    async def reset(self) -> None:
        """Forget interactions, store rows, the mirror and the log (between tests)."""
        await self.records.reset()
        self.log.clear()

    def describe(self) -> dict[str, Any]:
        """What ``GET /_smslab/node`` answers."""
        return {"name": self.settings.name, "role": self._role.value, "fault": self._fault.value,
                "sms_urls": self.sms_urls, "dr_urls": self.dr_urls, "public_dr_urls": self.public_dr_urls,
                "bound_ports": {str(k): v for k, v in self.bound_ports.items()},
                "control_url": self.control_url, "interactions": self.records.count(),
                "core": self.records.node_core.describe()}

    # -- addresses -------------------------------------------------------------------------------------

    @property
    def bound_ports(self) -> dict[int, int]:
        """Configured Incoming HTTP Port -> bound port."""
        return {port: listener.bound for port, listener in self.listeners.items()}

    @property
    def control_url(self) -> str:
        """The control API's base URL."""
        return self._control.base()

    def _base_of(self, broker: BrokerConfig) -> str:
        listener = self.listeners.get(broker.mo.incoming_port)
        return listener.base() if listener is not None else ""

    @property
    def sms_urls(self) -> dict[str, str]:
        """Broker name -> this node's URL of its Incoming Path."""
        return {b.name: self._base_of(b) + b.mo.incoming_path for b in self._mo_brokers()}

    @property
    def dr_urls(self) -> dict[str, str]:
        """Broker name -> this node's URL of its delivery-receipt path."""
        return {b.name: self._base_of(b) + dr_path(b) for b in self._mo_brokers() if dr_path(b)}

    @property
    def public_dr_urls(self) -> dict[str, str]:
        """Broker name -> the ``ExternalDeliveryStatusURI`` this node hands it (brokers with a DR path)."""
        return {b.name: url for b in self.config.brokers if (url := self.public_dr_url(b))}

    def public_dr_url(self, broker: BrokerConfig) -> str:
        """The ``ExternalDeliveryStatusURI`` handed to the broker: ``public_bases`` (the proxy) first."""
        if not dr_path(broker):
            return ""
        if broker.name in self.public_bases:
            return self.public_bases[broker.name].rstrip("/") + dr_path(broker)
        if "://" in broker.mo.delivery_receipt_url:
            return broker.mo.delivery_receipt_url
        return self._base_of(broker) + dr_path(broker)

    def _mo_brokers(self) -> list[BrokerConfig]:
        return [b for b in self.config.brokers if b.enabled and b.mo.enabled and b.mo.incoming_port in
                self.listeners]

    # -- the SMS listeners' gate -----------------------------------------------------------------------

    async def _on_sms(self, request: web.Request, route: Route) -> web.StreamResponse:
        while True:
            answer = self._gate()
            if answer != "hold":
                break
            await self.wait_change()
        if answer == "reset":
            return _reset(request)
        if answer != "serve":
            return web.Response(status=int(answer), text=f"CIC node {self.settings.name} is the backup")
        if self._fault is NodeFault.SLOW:
            await asyncio.sleep(self.settings.slow_delay)
        if request.query.get("healthcheckignore") == "1":
            return web.Response(status=self.settings.health_status, text=self.settings.health_body)
        if self._fault is NodeFault.CRASH_ON_MO and route.kind == "mo":
            self._fault = NodeFault.NONE
            self.set_role(Role.DOWN)  # the crash kills the node: it stays dead until restored
            return _reset(request)
        return await self.records.handle_push(request, route)

    def _gate(self) -> str:
        """``serve``, ``hold``, ``reset`` or a status to answer, from the role and the fault."""
        if self._stopping or self._role is Role.DOWN or self._fault is NodeFault.PARTITION:
            return "reset"
        if self._fault is NodeFault.HANG:
            return "hold"
        if self._role is Role.BACKUP:
            answer = self.settings.backup_answer
            return {BackupAnswer.HANG: "hold", BackupAnswer.REFUSE: "reset"}.get(answer, answer.value)
        return "serve"

    # -- timers ---------------------------------------------------------------------------------------

    async def _timers(self) -> None:
        while True:
            try:
                await self.records.run_timers()
            except Exception as exc:  # the timer task must outlive one bad round
                self.error(f"timer task: {type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.records.timers_changed.wait(), await self._next_sleep())
            self.records.timers_changed.clear()

    async def _next_sleep(self) -> float:
        tick = self.settings.tick
        try:
            due = await self.records.next_due()
        except CoreCallError as exc:
            self.error(f"timer task: {exc}")
            return tick
        return tick if due is None else max(0.0, min(tick, due - self.clock()))

    def error(self, message: str, level: str = "error") -> None:
        """Add an entry to the node's log (what the SMS Server would write to its trace), secrets redacted."""
        self.log.append({"at": self.clock(), "level": level, "message": redact(message)})


def _wires(config: CicConfig, clock: Callable[[], float]) -> dict[str, BrokerWire]:
    wires: dict[str, BrokerWire] = {}
    problems: list[Problem] = []
    for i, broker in enumerate(config.brokers):
        if broker.type.lower() == "portico":
            wires[broker.name] = PorticoWire(broker, clock)
            continue
        try:
            wires[broker.name] = DefinitionWire(broker, definition_for(broker, f"brokers[{i}].type"))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return wires


def _tls_ports(settings: NodeSettings, table: dict[int, dict[str, Route]]) -> frozenset[int]:
    """The configured ports whose SMS listener is HTTPS (``sms_scheme``; auto: the brokers' Encryption)."""
    if settings.sms_scheme is SmsScheme.HTTP:
        return frozenset()
    if settings.sms_scheme is SmsScheme.HTTPS:
        return frozenset(table)
    return frozenset(port for port, routes in table.items() if any(r.https for r in routes.values()))


def _listener_ssl(settings: NodeSettings, table: dict[int, dict[str, Route]],
                  ports: frozenset[int]) -> ssllib.SSLContext | None:
    if not ports:
        return None
    if not (settings.tls_cert and settings.tls_key):
        https = sorted({r.broker for p in ports for r in table[p].values()})
        why = ("sms_scheme https" if settings.sms_scheme is SmsScheme.HTTPS
               else f"the HTTPS broker(s) {', '.join(https)}")
        raise ConfigError([Problem(f"cic.nodes.{settings.name}.tls_cert", settings.tls_cert,
                                   f"is required for {why}")])
    context = ssllib.create_default_context(ssllib.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssllib.SSLError) as exc:
        raise ConfigError([Problem(f"cic.nodes.{settings.name}.tls_cert", settings.tls_cert,
                                   f"cannot be loaded with tls_key: {exc}")]) from exc
    return context


def _client_ssl(ca: str) -> ssllib.SSLContext | bool:
    return ssllib.create_default_context(cafile=ca) if ca else True


def _reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer (what a dead or refusing server gives)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500, text="connection dropped")

