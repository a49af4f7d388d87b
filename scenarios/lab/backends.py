"""How a lab's components are started on this event loop (``LocalBackend``), and the wiring shared with the
process mode of ``scenarios.lab.processes`` (Portico's number webhooks).

A backend (``Backend``, the protocol ``Lab`` uses) starts fakes, nodes and proxies, points a running fake at
the proxy and reports the carrier models it runs; ``Lab`` decides the order and what goes where. A backend
is given the lab file read in full (``LabSpec``) and the values it needs when it needs them, never the
``Lab`` itself: ``scenarios.lab.assembly`` imports this module, so this module does not import it back.
Everything is stopped by the backend that started it.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from fakes.common import FakeBroker, server_tls
from scenarios.lab.spec import NODE_NAMES, LabSpec, PushTarget
from sim.cic.handles import LocalNode, NodeHandle
from sim.cic.node import CicNode, Role
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, Problem
from sim.proxy.config import FarmPlan, ProxyConfig, proxy_settings, server_ssl_context
from sim.proxy.server import ProxyServer

if TYPE_CHECKING:
    from sim.labfile import LabConfig

__all__ = ["Backend", "LabStartError", "LocalBackend", "lab_trust", "provision_webhooks"]

# The provisioning paths per number kind (fakes/portico/numbers.py PATH_SEGMENT).
_SEGMENT = {"tollfree": "tollfreenumbers", "longcode": "longcodes"}


def lab_trust(config: LabConfig, proxy: ProxyConfig) -> ssl.SSLContext | bool:
    """What the lab's own client (control API, inspection, readiness) trusts over HTTPS.

    The lab speaks to the fakes' inspection API and the proxies' farm API, which serve HTTPS when the lab
    file gives them certificates. It trusts exactly those certificates (each chain file as a trust anchor,
    so a self-signed proxy certificate works as well as one from a CA) besides the system's CAs: it
    started those servers with those files, so nothing else may answer in their place.

    Returns:
        ``True`` (the system's CAs) when no component serves HTTPS, else a context trusting them too.

    Raises:
        ConfigError: a certificate file cannot be loaded (the path of its key in the lab file).
    """
    files = [(f"fakes.{name}.tls.cert", str((s.get("tls") or {}).get("cert") or ""))
             for name, s in config.fakes.items() if isinstance(s.get("tls"), Mapping)]
    files.append(("proxy.tls.cert", proxy.tls_cert))
    files = [(path, file) for path, file in files if file]
    if not files:
        return True
    context = ssl.create_default_context()
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a leaf of the lab's own is an anchor
    for path, file in files:
        try:
            context.load_verify_locations(cafile=file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError([Problem(path, file, f"cannot be loaded: {exc}")], config.source) from exc
    return context


class LabStartError(RuntimeError):
    """A component did not come up, or the farm never saw the active node healthy."""


class Backend(Protocol):
    """What ``Lab`` asks of a backend: this event loop's (``LocalBackend``) or child processes'
    (``scenarios.lab.processes.ProcessBackend``)."""

    async def prepare(self) -> None:
        """Plan what must be known before anything starts (ports, derived files)."""

    async def start_fake(self, name: str, fake: FakeBroker) -> str:
        """Start a fake; returns its URL."""

    async def start_node(self, name: str, cic: CicConfig) -> NodeHandle:
        """Start the node ``name``; returns its handle."""

    async def start_proxy(self, plan: FarmPlan, members: list[str]) -> str:
        """Start the proxy of one farm; returns its URL."""

    async def point(self, name: str, target: PushTarget, bases: Mapping[str, str]) -> None:
        """Point a running fake at the proxy and give the nodes their public bases."""

    async def stop(self) -> None:
        """Stop everything this backend started."""

    def carrier_stats(self) -> dict[str, dict[str, Any]]:
        """The carrier model of each fake that has one and runs on this event loop (``LiveCarrier.stats``),
        by fake name."""


class LocalBackend:
    """Starts every component on this event loop.

    Args:
        spec: the lab file read in full (each node's settings, the proxy section).
        host: the address the fakes listen on.
    """

    def __init__(self, spec: LabSpec, host: str = "127.0.0.1") -> None:
        self.spec, self.host = spec, host
        self.fakes: dict[str, FakeBroker] = {}
        self.nodes: dict[str, CicNode] = {}
        self.proxies: dict[int, ProxyServer] = {}

    async def prepare(self) -> None:
        """Nothing to plan in process: the fakes are pointed at the proxy once it listens."""

    async def start_fake(self, name: str, fake: FakeBroker) -> str:
        """Start a fake on port 0; returns its URL."""
        self.fakes[name] = fake
        return await fake.start(self.host, 0, server_tls(fake.settings))

    async def start_node(self, name: str, cic: CicConfig) -> NodeHandle:
        """Start the node ``name`` (primary active, backup as the backup)."""
        role = Role.ACTIVE if name == NODE_NAMES[0] else Role.BACKUP
        node = CicNode(cic, self.spec.nodes[name], role=role)
        self.nodes[name] = node
        await node.start()
        return LocalNode(node, name)

    async def start_proxy(self, plan: FarmPlan, members: list[str]) -> str:
        """Start the proxy of one farm; returns its URL."""
        proxy = self.spec.proxy
        server = ProxyServer(proxy_settings(proxy, members, plan.rules, health_url=plan.health.url))
        self.proxies[plan.incoming_port] = server
        return await server.start(proxy.host, plan.bind_port, server_ssl_context(proxy))

    async def point(self, name: str, target: PushTarget, bases: Mapping[str, str]) -> None:
        """Point a running fake at the proxy and give the nodes their public bases."""
        fake = self.fakes[name]
        changes: dict[str, Any] = {k: v for k, v in (("mo_url", target.mo_url), ("dr_url", target.dr_url))
                                   if v}
        fake.settings = replace(fake.settings, **changes)
        for node in self.nodes.values():
            node.public_bases = dict(bases)

    async def stop(self) -> None:
        """Stop proxies, nodes and fakes (in that order: nothing pushes into a closed node)."""
        stoppables: list[ProxyServer | CicNode | FakeBroker] = [*self.proxies.values(), *self.nodes.values(),
                                                              *self.fakes.values()]
        for stoppable in stoppables:
            with contextlib.suppress(Exception):
                await stoppable.stop()

    def carrier_stats(self) -> dict[str, dict[str, Any]]:
        """The carrier model of each fake that has one (``LiveCarrier.stats``), by fake name."""
        return {name: fake.carrier.stats() for name, fake in self.fakes.items() if fake.carrier is not None}


async def _token(session: aiohttp.ClientSession, base: str, client: Mapping[str, Any]) -> str:
    basic = base64.b64encode(f"{client.get('id', '')}:{client.get('secret', '')}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    async with session.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                            headers=headers) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200:
            raise LabStartError(f"portico fake at {base} refused the lab's token request: {body}")
    return str(body["access_token"])


async def provision_webhooks(session: aiohttp.ClientSession, base: str, settings: Mapping[str, Any],
                             target: PushTarget) -> int:
    """Give each number of a Portico fake the proxy as its ``moUrl``/``drUrl``, through its own API.

    The fake's provisioning API is what a Genesys Cloud organisation uses to point a number's webhooks
    (``PATCH .../provisioning/tollfreenumbers/{number}``); a number whose settings name
    its own URL keeps it.

    Returns:
        How many numbers were changed.

    Raises:
        LabStartError: the fake refused the token or a change.
    """
    clients = settings.get("clients") or [{}]
    token = ""
    changed = 0
    for number in settings.get("numbers") or []:
        body = {k: v for k, v, own in (("moUrl", target.mo_url, number.get("mo_url")),
                                       ("drUrl", target.dr_url, number.get("dr_url"))) if v and not own}
        if not body:
            continue
        token = token or await _token(session, base, clients[0])
        segment = _SEGMENT[str(number.get("kind", "tollfree"))]
        url = f"{base}/api/v2/messaging/sms/provisioning/{segment}/{number['number']}"
        async with session.patch(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
            if resp.status != 200:
                raise LabStartError(f"portico fake refused the webhooks of {number['number']}: "
                                    f"{await resp.text()}")
        changed += 1
    return changed
