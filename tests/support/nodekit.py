"""Shared helpers of the sim/cic tests (imported as cic.nodekit): configurations, started nodes, fakes, HTTP calls."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from fakes.common.fake import FakeBroker
from fakes.registry import create
from sim.cic.node import CicNode, Role
from sim.cic.settings import NodeSettings
from sim.core.config import CicConfig
from sim.core.validation import load_cic_config

LOCAL = "8005550100"
HANDSET = "+13175550123"
ROUTE_ANY = {"regex": "\\+?1?(\\d{10})", "formatted_number": "+1$1", "classifications": ["Local"]}


def kaleyra(gateway: str = "http://127.0.0.1:9", port: int = 8080, **extra: Any) -> dict[str, Any]:
    """A Kaleyra broker section (DirectTEXT definition)."""
    return {"name": "kaleyra", "type": "kaleyra",
            "accounts": [{"id": "main", "local_address": LOCAL, "login": "smslab", "password": "secret"}],
            "mo": {"incoming_port": port, "incoming_path": "/kaleyra/mo", "delivery_receipt_url": "/kaleyra/dr"},
            "mt": {"gateway": gateway}, **extra}


def eztexting(gateway: str = "http://127.0.0.1:9", port: int = 8080) -> dict[str, Any]:
    """An EzTexting broker section."""
    return {"name": "eztexting", "type": "eztexting",
            "accounts": [{"id": "ez", "local_address": "313131", "login": "ezuser", "password": "ezpass"}],
            "mo": {"incoming_port": port, "incoming_path": "/receivesms.php"},
            "mt": {"gateway": gateway}}


def portico(gateway: str = "http://127.0.0.1:9", port: int = 8081) -> dict[str, Any]:
    """A Portico (Genesys Cloud SMS aggregation) broker section, over HTTP for the tests."""
    return {"name": "portico", "type": "portico",
            "accounts": [{"id": "org", "local_address": "+18445551212", "login": "cid", "password": "csecret"}],
            "mo": {"incoming_port": port, "incoming_path": "/portico/mo", "delivery_receipt_url": "/portico/dr"},
            "mt": {"gateway": gateway}}


def generic_json(gateway: str = "http://127.0.0.1:9", port: int = 8080) -> dict[str, Any]:
    """A broker spoken through the generic-json definition (it carries a per-message DR URL)."""
    return {"name": "gj", "type": "generic-json",
            "accounts": [{"id": "gj1", "local_address": "5550001", "login": "u", "password": "tok"}],
            "mo": {"incoming_port": port, "incoming_path": "/sms/inbound", "delivery_receipt_url": "/sms/status"},
            "mt": {"gateway": gateway}}


def config(*brokers: dict[str, Any], route_to: tuple[str, str] | None = None, **extra: Any) -> CicConfig:
    """A checked CIC configuration with a Chat default route and, optionally, one outbound route."""
    routes = [{**ROUTE_ANY, "broker": route_to[0], "account": route_to[1]}] if route_to else []
    data = {"sms": {"default_route": {"destination": "Chat"}, "outbound_routes": routes},
            "brokers": list(brokers), **extra}
    return load_cic_config(data)


@contextlib.asynccontextmanager
async def running(cfg: CicConfig, *, role: Role = Role.ACTIVE, clock: Any = None,
                  **settings: Any) -> AsyncIterator[CicNode]:
    """A started node, stopped on exit."""
    node = CicNode(cfg, NodeSettings(**settings), role=role, clock=clock)
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@contextlib.asynccontextmanager
async def fake(kind: str, name: str, settings: dict[str, Any]) -> AsyncIterator[FakeBroker]:
    """A started fake broker, stopped on exit."""
    broker = create(kind, name, settings)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """One HTTP request; the answer's JSON (or text) with its status."""
    timeout = aiohttp.ClientTimeout(total=kwargs.pop("timeout", 5.0))
    async with aiohttp.ClientSession(timeout=timeout) as session, session.request(method, url, **kwargs) as r:
        body = await r.read()
        if r.content_type == "application/json":
            return r.status, await r.json()
        return r.status, body.decode("utf-8", "replace")


class Clock:
    """A hand-driven clock for the node."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
