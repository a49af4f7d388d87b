"""The lab: fake brokers, the ARR-style proxy, the CIC pair and the control API, from one lab file.

Theory of operation. ``Lab.start`` brings the pieces up in dependency order: the fakes (their URLs become
the brokers' gateways where the file says ``fake:<name>``), the two nodes (their bound ports make the
farms), one proxy per distinct Incoming HTTP Port, the pair runtime, then the fakes are pointed at the
proxy (MO and DR targets; Portico's number webhooks through its own provisioning API) and the nodes'
public bases (the ``ExternalDeliveryStatusURI`` they hand the brokers) set to it. Last, the control API
listens, and ``start`` returns once every proxy has seen the active node healthy. Everything binds port 0
unless the file says otherwise, so one lab per pytest-xdist worker needs no coordination.

A lab file whose ``cic.nodes`` are ``external`` (``scenarios.lab.external_spec``) has no simulated pair:
after the fakes, the lab starts its capture sink (``scenarios.lab.sink``) and the two external members
(``scenarios.lab.external``: their processes, ready checks, MT templates, fault actions), puts the proxies
in front of their SMS URLs, and follows the farms' health in place of the pair runtime
(``scenarios.lab.external_pair``); everything else (the fakes pointed at the proxy, the control API, the
event stream) is the same.

In process (the default) everything shares this event loop; with ``processes=True`` each fake, node and
proxy is its own ``smslab serve`` process (``scenarios.lab.processes``), and a kill is a real SIGKILL. The
control API (``scenarios.lab.control``) is the same either way: it speaks to every component over HTTP.

Imports point one way, from here down: a backend is given the ``LabSpec`` and the values it needs, and the
control API serves anything shaped like ``scenarios.lab.control.ControlledLab``, so neither imports ``Lab``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from fakes.common import FakeBroker
from scenarios.lab.backends import Backend, LabStartError, LocalBackend, lab_trust, provision_webhooks
from scenarios.lab.check import check_lab
from scenarios.lab.control import ControlServer
from scenarios.lab.events import EventHub
from scenarios.lab.external import ExternalServer
from scenarios.lab.external_pair import ExternalPair
from scenarios.lab.follow import RemoteFollower
from scenarios.lab.metrics import LabMetrics
from scenarios.lab.nexus import start_nexus
from scenarios.lab.sink import Sink
from scenarios.lab.spec import (
    NODE_NAMES,
    LabSpec,
    default_lab_config,
    public_bases,
    push_targets,
    resolve_gateways,
)
from scenarios.lab.watch import LabWatch
from sim.cic.handles import NodeHandle
from sim.cic.pair import PairRuntime
from sim.core.errors import InputError
from sim.core.switchover import Watch
from sim.labfile import LabConfig
from sim.serving import redact_logs

__all__ = ["Lab", "LabStartError"]

class Lab:
    """One lab.

    Args:
        config: the lab configuration; the embedded default lab when ``None``.
        processes: run each fake, node and proxy in its own process.
        host: the address every component listens on.
        port: the control API's port (0: any free port).
        ready_timeout: seconds ``start`` waits for the farm to see the active node healthy.

    Raises:
        ConfigError: the lab file's ``cic``/``proxy`` sections or a fake's settings have problems, every one
            of them (``scenarios.lab.check``), before anything starts.
    """

    def __init__(self, config: LabConfig | None = None, *, processes: bool = False, host: str = "127.0.0.1",
                 port: int = 0, ready_timeout: float = 10.0) -> None:
        checked = check_lab(config or default_lab_config())
        self.spec = checked.spec
        self.config = self.spec.config  # as read: the nodes' SMS scheme chosen (scenarios.lab.spec)
        self.built: dict[str, FakeBroker] = dict(checked.fakes)
        self.trust = lab_trust(self.config, self.spec.proxy)  # the lab's own client: its components' certs
        self.processes, self.host, self.port, self.ready_timeout = processes, host, port, ready_timeout
        self.url = ""
        self.fake_urls: dict[str, str] = {}
        self.handles: dict[str, NodeHandle] = {}
        self.proxy_urls: dict[int, str] = {}
        self.members: dict[int, dict[str, str]] = {}  # incoming port -> node name -> host:port
        self.pair: Any = None  # sim.cic.pair.PairRuntime, or scenarios.lab.external_pair.ExternalPair
        self.external: dict[str, ExternalServer] = {}  # the external members, when the file names them
        self.sink: Sink | None = None  # where the external members' MO and DLR callbacks land
        self.errors: list[BaseException] = []
        self.timings: dict[str, float] = {}
        self.session: aiohttp.ClientSession | None = None
        self._fake_faults: dict[str, Any] = {}
        self._control: ControlServer | None = None
        self.backend: Backend | None = None
        self.events = EventHub()  # the live event stream (scenarios.lab.events), fed by self.watch
        self.metrics = LabMetrics()  # GET /metrics, this lab's own registry
        self.watch = LabWatch(self.events, self.metrics)
        self._follower: RemoteFollower | None = None
        self.nexus: Any = None  # sim.nexus.server.NexusServer when the file has a nexus: section

    # -- life cycle ---------------------------------------------------------------------------------------

    async def start(self) -> str:
        """Start every component and the control API; returns the control API's URL.

        Raises:
            LabStartError: a component failed to start or the farm never saw the active node healthy
                (everything started so far is stopped again).
        """
        began = time.perf_counter()
        redact_logs()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.trust))
        backend = _process_backend if self.processes else LocalBackend
        self.backend = backend(self.spec, self.host)
        try:
            await self._assemble()
            self._control = ControlServer(self)
            self.url = await self._control.start(self.host, self.port)
            await self.wait_ready()
        except BaseException:
            await self.stop()
            raise
        self.timings["start"] = time.perf_counter() - began
        return self.url

    async def _assemble(self) -> None:
        backend = self.backend
        assert backend is not None
        await backend.prepare()
        urls = await asyncio.gather(*(backend.start_fake(n, f) for n, f in self.built.items()))
        self.fake_urls = dict(zip(self.built, urls, strict=True))
        if self.spec.external:
            await self._start_external()
        else:
            await self._start_pair()
        if isinstance(backend, LocalBackend):
            self.watch.attach_local(backend)
        await self._point_fakes()
        if not isinstance(backend, LocalBackend):  # other processes: their inspection APIs, followed
            assert self.session is not None
            self._follower = RemoteFollower(self.watch, self.session, self.fake_urls, self.proxy_urls,
                                            self._active_node)
            self._follower.start()
        bases = public_bases(self.config, self.proxy_urls)

        async def point(name: str, target: Any) -> None:
            await backend.point(name, target, bases)

        assert self.session is not None
        kinds = {n: f.kind for n, f in self.built.items()}
        self.nexus = await start_nexus(self.config, self.fake_urls, kinds, host=self.host,
                                       session=self.session,
                                       point=point)

    async def _start_pair(self) -> None:
        """The simulated pair: both nodes, the proxies in front of them, the pair runtime."""
        backend = self.backend
        assert backend is not None
        cic = resolve_gateways(self.config, self.fake_urls)
        handles = await asyncio.gather(*(backend.start_node(n, cic) for n in NODE_NAMES))
        self.handles = dict(zip(NODE_NAMES, handles, strict=True))
        described = {n: await h.describe() for n, h in self.handles.items()}
        await self._start_proxies({n: {str(k): f"{self.host}:{v}" for k, v in d["bound_ports"].items()}
                                   for n, d in described.items()})
        self.pair = PairRuntime(self.handles[NODE_NAMES[0]], self.handles[NODE_NAMES[1]], self.spec.pair)
        self.watch.attach_pair(self.pair, NODE_NAMES)
        await self.pair.start()

    async def _start_external(self) -> None:
        """The external members (``scenarios.lab.external``), their sink, the proxies in front of them."""
        self.sink = Sink()
        await self.sink.start(self.host)
        for name in NODE_NAMES:
            self.external[name] = ExternalServer(self.spec.external[name], self.host, self.sink.url,
                                                 self.fake_urls)
        # Both start together; every start is let finish (or fail) before the first error is raised, so
        # the stop that follows finds every process either one started.
        started = await asyncio.gather(*(s.start() for s in self.external.values()), return_exceptions=True)
        for outcome in started:
            if isinstance(outcome, InputError):
                raise LabStartError(str(outcome)) from None
            if isinstance(outcome, BaseException):
                raise outcome
        await self._start_proxies({n: {str(p.incoming_port): s.farm_member for p in self.spec.farms}
                                   for n, s in self.external.items()})

        async def farms() -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(self._farm(p, u) for p, u in self.proxy_urls.items())))

        interval = min(0.05, self.spec.proxy.health.interval)
        self.pair = ExternalPair(self.external, self.members, farms, interval)
        self.watch.attach_pair(self.pair, NODE_NAMES)
        await self.pair.start()

    async def _start_proxies(self, ports: Mapping[str, Mapping[str, str]]) -> None:
        """One proxy per farm; ``ports``: member name -> incoming port (as text) -> its ``host:port``."""
        backend = self.backend
        assert backend is not None
        for plan in self.spec.farms:
            port = str(plan.incoming_port)
            members = {n: by_port[port] for n, by_port in ports.items()}
            self.members[plan.incoming_port] = members
            self.proxy_urls[plan.incoming_port] = await backend.start_proxy(plan, list(members.values()))

    async def _point_fakes(self) -> None:
        backend = self.backend
        assert backend is not None
        bases = public_bases(self.config, self.proxy_urls)
        for name, target in push_targets(self.config, self.proxy_urls).items():
            await backend.point(name, target, bases)
            if self.built[name].kind == "portico":
                assert self.session is not None
                await provision_webhooks(self.session, self.fake_urls[name], self.config.fakes[name], target)
        for name, url in self.fake_urls.items():
            self._fake_faults[name] = await self._json("GET", f"{url}/_smslab/faults")

    async def stop(self) -> None:
        """Stop everything this lab started (safe to call twice, and after a failed start)."""
        began = time.perf_counter()
        self.events.close()  # every event stream ends, so the control API's shutdown waits on none
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        if self._control is not None:
            await self._control.stop()
            self._control = None
        if self.nexus is not None:
            await self.nexus.stop()
            self.nexus = None
        if self.pair is not None:
            with contextlib.suppress(Exception):
                await self.pair.stop()
            self.pair = None
        for handle in self.handles.values():
            with contextlib.suppress(Exception):
                await handle.close()
        self.handles = {}
        for server in self.external.values():
            await server.stop()
        self.external = {}
        if self.sink is not None:
            await self.sink.stop()
            self.sink = None
        if self.backend is not None:
            await self.backend.stop()
            self.backend = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        self.timings["stop"] = time.perf_counter() - began

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what the control API reads ------------------------------------------------------------------------

    def brokers(self) -> list[dict[str, str]]:
        """Every fake broker: name, kind, URL."""
        return [{"name": n, "kind": f.kind, "url": self.fake_urls.get(n, "")} for n, f in self.built.items()]

    def components(self) -> list[dict[str, str]]:
        """Every component with its kind and URL (brokers, proxies, nodes, the control API)."""
        out = self.brokers()
        out += [{"name": f"proxy:{p}", "kind": "proxy", "url": u} for p, u in self.proxy_urls.items()]
        out += [{"name": n, "kind": "cic", "url": h.control_url} for n, h in self.handles.items()]
        out += [{"name": n, "kind": "external", "url": s.sms_url} for n, s in self.external.items()]
        if self.sink is not None:
            out.append({"name": "sink", "kind": "sink", "url": self.sink.url})
        if self.nexus is not None:
            out.append({"name": "nexus", "kind": "nexus", "url": self.nexus.url})
        return [*out, {"name": "control", "kind": "control", "url": self.url}]

    def _active_node(self) -> tuple[str, str] | None:
        name = self.pair.active_name() if self.pair is not None else None
        return (name, self.handles[name].control_url) if name in self.handles else None

    def active_control_url(self) -> str | None:
        """The control API of the active node (``None`` while no node is active)."""
        name = self.pair.active_name() if self.pair is not None else None
        return self.handles[name].control_url if name in self.handles else None

    async def _json(self, method: str, url: str, timeout: float = 5.0, **kwargs: Any) -> Any:
        assert self.session is not None
        async with self.session.request(method, url, timeout=aiohttp.ClientTimeout(total=timeout),
                                        **kwargs) as resp:
            return await resp.json(content_type=None)

    async def _farm(self, port: int, url: str, verify: bool = False) -> dict[str, Any]:
        try:
            report = await self._json("POST" if verify else "GET", f"{url}/_smslab/farm/verify" if verify
                                      else f"{url}/_smslab/farm", timeout=2.0)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            report = {"error": f"proxy at {url} cannot be reached: {type(exc).__name__}"}
        return {"incoming_port": port, "url": url, **report}

    async def health(self) -> dict[str, Any]:
        """Components, node states, farm reports and the switchover status."""
        assert self.pair is not None
        nodes = dict(zip(self.handles, await asyncio.gather(*(h.describe() for h in self.handles.values())),
                         strict=True))
        for name, server in self.external.items():  # each broker's SMS URL on it, as a node lists them
            urls = {b.name: server.sms_url + b.mo.incoming_path for b in self.config.cic.brokers
                    if b.mo.enabled}
            nodes[name] = {**server.describe(), "role": self.pair.role_of(name), "sms_urls": urls}
        farms = await asyncio.gather(*(self._farm(p, u) for p, u in self.proxy_urls.items()))
        out = {"components": self.components(), "nodes": nodes,
               "farm": list(farms), "switchover": self.pair.status()}
        carriers = self.backend.carrier_stats() if self.backend is not None else {}
        if carriers:  # the carrier model behind in-process fakes (with --processes: each fake's health)
            out["carriers"] = carriers
        return out

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Return once every proxy's farm has the active node's member healthy.

        Raises:
            LabStartError: not within ``timeout`` (``ready_timeout`` by default).
        """
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        while True:
            name = self.pair.active_name() if self.pair is not None else None
            farms = await asyncio.gather(*(self._farm(p, u, verify=True) for p, u in self.proxy_urls.items()))
            if name is not None and all(_healthy(f, self.members[f["incoming_port"]][name]) for f in farms):
                return
            if time.monotonic() >= deadline:
                raise LabStartError(f"the farm did not see the active node ({name}) healthy: {farms}")
            await asyncio.sleep(0.01)

    # -- what the control API does -------------------------------------------------------------------------

    async def fail(self, name: str, mode: str) -> None:
        """Inject a fault into node ``name`` through the pair runtime."""
        assert self.pair is not None
        await self.pair.fail(name, mode)

    async def restore(self, name: str) -> None:
        """Undo node ``name``'s fault through the pair runtime."""
        assert self.pair is not None
        await self.pair.restore(name)

    async def reset(self) -> dict[str, Any]:
        """Faults undone, the primary active again, captures and interactions forgotten."""
        began = time.perf_counter()
        assert self.pair is not None
        restored = sorted(self.pair.faults)
        await self.pair.reset()
        switched = await self._primary_serving() if self.external else await self._primary_back()
        if self.sink is not None:
            self.sink.clear()
        for name, url in self.fake_urls.items():
            await self._json("DELETE", f"{url}/_smslab/messages")
            await self._json("PUT", f"{url}/_smslab/faults", json=self._fake_faults.get(name, []))
        for handle in self.handles.values():
            await self._json("POST", f"{handle.control_url}/_smslab/node/reset", json={})
        if self.nexus is not None:
            self.nexus.reset()
        await self.wait_ready()
        self.metrics.forget_open()
        self.events.publish("control", {"action": "reset", "active": self.pair.active_name()})
        return {"restored": restored, "switched_back": switched, "active": self.pair.active_name(),
                "took": round(time.perf_counter() - began, 4)}

    async def _primary_serving(self) -> bool:
        """External members: wait until the proxies route to the primary again; whether it was not active."""
        was = self.pair.active_name() != NODE_NAMES[0]
        await self.pair.wait_until(lambda: self.pair.active_name() == NODE_NAMES[0], self.ready_timeout)
        return bool(was)

    async def _primary_back(self) -> bool:
        """Let a switchover under way settle, then switch back to the primary if the backup holds the role."""
        pair, primary = self.pair, NODE_NAMES[0]
        assert pair is not None

        def settled() -> bool:
            status = pair.status()
            return status["watch"] == Watch.MONITORING.value and status["backup"] is not None

        await pair.wait_until(settled, self.ready_timeout)
        if pair.active_name() == primary:
            return False
        await pair.manual_switchover(wait=self.ready_timeout)
        return True


def _healthy(farm: Mapping[str, Any], member: str) -> bool:
    return any(m.get("member") == member and m.get("healthy") for m in farm.get("members", ()))


def _process_backend(spec: LabSpec, host: str) -> Backend:
    from scenarios.lab.processes import ProcessBackend  # noqa: PLC0415 - only the --processes mode needs it

    return ProcessBackend(spec, host)
