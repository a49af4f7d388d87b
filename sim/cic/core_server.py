"""``smslab serve core [--core module:Class]``: any in-process SMS core served over HTTP.

The calls and their JSON are ``sim.core.remote``'s (the OpenAPI document at ``GET /openapi.json``); this
module only puts aiohttp around its ``CoreHost``. Once it listens it prints one JSON line,
``{"url", "core", "openapi", "pid"}``, and serves until SIGINT or SIGTERM (exit 0). A core that cannot be
loaded, or a port that cannot be bound, prints one message to stderr and exits 2.

A request whose body is not JSON answers 415 (wrong content type) or 400, in the protocol's own error
body ``{"error": ...}``; the server keeps serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from aiohttp import web

from sim.cic.core_openapi import document
from sim.cliargs import port
from sim.core.errors import ConfigError
from sim.core.loading import load_core_class
from sim.core.protocol import CoreFactory
from sim.core.remote import CoreHost
from sim.serving import serve_until_stopped

__all__ = ["CoreServer", "core_app", "main"]

MAX_BODY = 512 * 1024 * 1024  # a restore carries every open interaction (50,000 and more)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(status: int, data: Any) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason=f"the body must be application/json "
                                                  f"(got {request.content_type!r})")
    try:
        return json.loads(await request.read())
    except (UnicodeDecodeError, ValueError) as exc:
        raise web.HTTPBadRequest(reason=f"the body is not JSON: {exc}") from exc


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _answer(exc.status, {"error": exc.reason})


def core_app(host: CoreHost) -> web.Application:
    """The aiohttp application serving the cores of ``host``."""

    async def create(request: web.Request) -> web.Response:
        return _answer(*host.create(await _json_body(request)))

    async def delete(request: web.Request) -> web.Response:
        return _answer(*host.delete(request.match_info["core"]))

    async def call(request: web.Request) -> web.Response:
        body = await _json_body(request)
        return _answer(*host.call(request.match_info["core"], request.match_info["call"], body))

    async def openapi(request: web.Request) -> web.Response:
        return _answer(200, document())

    app = web.Application(middlewares=[_errors], client_max_size=MAX_BODY)
    app.add_routes([web.post("/cores", create), web.delete("/cores/{core}", delete),
                    web.post("/cores/{core}/{call}", call), web.get("/openapi.json", openapi)])
    return app


class CoreServer:
    """A served core on ``host:port`` (0: any free port); ``url`` once started.

    Args:
        factory: the core class to serve.
        host: the address to bind.
        port: the port (0 for any).
    """

    def __init__(self, factory: CoreFactory, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host_name, self.port = host, port
        self.cores = CoreHost(factory)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen; the base URL."""
        self._runner = web.AppRunner(core_app(self.cores), handle_signals=False, access_log=None,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host_name, self.port, reuse_address=True).start()
        bound = int(self._runner.addresses[0][1])
        self.port = bound  # a restart takes the same port
        self.url = f"http://{self.host_name}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab serve core",
                                description="Serve an in-process SMS core over HTTP (GET /openapi.json).")
    p.add_argument("--core", default="reference",
                   help="module:Class or a registered core name (default: reference)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=0, help="the port to bind (default: any free port)")
    return p


async def run(server: CoreServer, spec: str, *, stop: asyncio.Event | None = None,
              out: TextIO | None = None) -> int:
    """Start ``server``, print its ready line, serve until ``stop`` (or SIGINT/SIGTERM), stop it."""
    return await serve_until_stopped(
        server.start, server.stop,
        lambda url: {"url": url, "core": spec, "openapi": url + "/openapi.json", "pid": os.getpid()},
        stop=stop, out=out)


def main(argv: list[str] | None = None, *, read: Any = None) -> int:
    """Run ``smslab serve core``; 0 after a signal, 2 for a core that cannot be loaded or a taken port.

    Args:
        argv: the arguments after ``serve core``.
        read: unused (the other ``serve`` components read a lab file; a core gets its configuration from
            each caller, ``POST /cores``).
    """
    args = _parser().parse_args(argv)
    try:
        factory = load_core_class(args.core, "--core")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(CoreServer(factory, args.host, args.port), args.core))
    except OSError as exc:
        print(f"smslab serve core: cannot listen: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
