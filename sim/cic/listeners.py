"""The SMS Server's listeners: one HTTP(S) listener per distinct Incoming HTTP Port, routing by path.

SMS Technical Reference, "Configure Broker Message Originated settings": each broker has an Incoming HTTP
Port, an Incoming Path and a Delivery Receipt URL; brokers may share a port when those paths differ. A
listener routes a request to the broker whose path is the request's path or its longest prefix (the reverse
proxy appends what follows the incoming path: its URL Rewrite's ``{R:0}``). A listener can close and reopen on
the same port: a backup that refuses connections, a partitioned node and a "killed" one have no listening
socket, and closing also drops every open connection, as a dead process would.
"""

from __future__ import annotations

import asyncio
import ssl as ssllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from sim.core.config import BrokerConfig, CicConfig, Encryption
from sim.core.errors import ConfigError, Problem

__all__ = ["Binding", "Listener", "Route", "dr_path", "route_table"]

Handler = Callable[[web.Request, "Route"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One path on one port: which broker, and whether it carries MOs or DRs."""

    broker: str
    kind: str  # "mo" or "dr"
    path: str
    https: bool = False


def dr_path(broker: BrokerConfig) -> str:
    """The path of the broker's Delivery Receipt URL (a path, or a full URL whose path is used)."""
    url = broker.mo.delivery_receipt_url
    if not url:
        return ""
    return (urlsplit(url).path or "/") if "://" in url else url


def route_table(config: CicConfig) -> dict[int, dict[str, Route]]:
    """Configured port -> path -> route, for every enabled broker with MO enabled.

    Raises:
        ConfigError: two brokers give one port the same path, or mix HTTP and HTTPS on one port.
    """
    table: dict[int, dict[str, Route]] = {}
    owners: dict[tuple[int, str], str] = {}
    problems: list[Problem] = []
    for i, broker in enumerate(config.brokers):
        if not (broker.enabled and broker.mo.enabled):
            continue
        port, https = broker.mo.incoming_port, broker.encryption is Encryption.HTTPS
        paths = {"incoming_path": broker.mo.incoming_path, "delivery_receipt_url": dr_path(broker)}
        for key, path in paths.items():
            if not path:
                continue
            route = Route(broker.name, "mo" if key == "incoming_path" else "dr", path, https)
            if (port, path) in owners:
                problems.append(Problem(f"brokers[{i}].mo.{key}", path, f"is also used on port {port} by "
                                        f"broker {owners[port, path]!r} (brokers {owners[port, path]!r} "
                                        f"and {broker.name!r} cannot share a port and path)"))
                continue
            owners[port, path] = broker.name
            table.setdefault(port, {})[path] = route
    for port, routes in table.items():
        if len({r.https for r in routes.values()}) > 1:
            names = sorted({r.broker for r in routes.values()})
            problems.append(Problem("brokers", port, f"port {port} is shared by HTTP and HTTPS brokers "
                                                     f"({', '.join(names)}); one listener has one scheme"))
    if problems:
        raise ConfigError(problems)
    return table


def _match(routes: dict[str, Route], path: str) -> Route | None:
    found = routes.get(path)
    if found is not None:
        return found
    best: Route | None = None
    for prefix, route in routes.items():
        under = prefix == "/" or path.startswith(prefix.rstrip("/") + "/")
        if under and (best is None or len(prefix) > len(best.path)):
            best = route
    return best


class Binding:
    """A socket that can close and reopen on the same port, serving one aiohttp application.

    Args:
        host: the address to bind.
        bind: the port to bind first (0: any free port); later reopenings reuse the bound port.
        ssl: the TLS context, for HTTPS.
        client_max_size: the request body limit in bytes.
    """

    def __init__(self, host: str, bind: int, *, ssl: ssllib.SSLContext | None = None,
                 client_max_size: int = 1024 * 1024) -> None:
        self.host = host
        self.bound = bind
        self.ssl = ssl
        self.client_max_size = client_max_size
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None

    def make_app(self) -> web.Application:
        """The application served (subclasses supply it)."""
        raise NotImplementedError

    @property
    def scheme(self) -> str:
        """``https`` or ``http``."""
        return "https" if self.ssl is not None else "http"

    @property
    def is_open(self) -> bool:
        """Whether a socket is listening."""
        return self._server is not None

    def base(self) -> str:
        """``scheme://host:bound``."""
        return f"{self.scheme}://{self.host}:{self.bound}"

    async def open(self) -> None:
        """Listen (on the port bound before, if any); nothing happens when already listening."""
        if self._server is not None:
            return
        if self._runner is None:
            self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None,
                                         shutdown_timeout=0.5)
            await self._runner.setup()
        assert self._runner.server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._runner.server, self.host, self.bound, ssl=self.ssl,
                                                reuse_address=True)
        self.bound = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        """Stop listening and drop every open connection (at once: connections see a reset)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None and self._runner.server is not None:
            for connection in self._runner.server.connections:
                if connection.transport is not None:
                    connection.transport.abort()

    async def cleanup(self) -> None:
        """Close and release everything."""
        self.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class Listener(Binding):
    """One Incoming HTTP Port's listener, routing each request to its broker's route.

    Args:
        port: the configured Incoming HTTP Port.
        routes: its paths.
        host: the address to bind.
        bind: the port to bind first (0: any free port).
        handler: called with each request and its route.
        ssl: the TLS context for an HTTPS listener.
        client_max_size: the request body limit in bytes.
    """

    def __init__(self, port: int, routes: dict[str, Route], host: str, bind: int, handler: Handler, *,
                 ssl: ssllib.SSLContext | None = None, client_max_size: int = 1024 * 1024) -> None:
        super().__init__(host, bind, ssl=ssl, client_max_size=client_max_size)
        self.port = port
        self.routes = routes
        self._handler = handler

    def make_app(self) -> web.Application:
        """Every path goes to the dispatcher."""
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        route = _match(self.routes, request.path)
        if route is None:
            text = f"no SMS broker listens at {request.path} on port {self.port}"
            return web.Response(status=404, text=text)
        return await self._handler(request, route)
