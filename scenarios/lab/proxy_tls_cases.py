"""ssl-matrix cases that go through the simulated reverse proxy (``sim.proxy.server``): SSL offloading to
a node over HTTP, and re-encrypting to a node over HTTPS with and without the CIC chain trusted, where an
untrusted member answers 502.3 at the proxy (IIS support blog, "Troubleshooting SSL certificate issues in
reverse proxy"; SMS Technical Reference, "Reverse Proxy - CIC Server's certificate"). They live here, above
both the proxy and ``certs``, because they assemble the two; ``smslab ssl-matrix``
(``scenarios.cli.ssl_matrix``) runs them after the handshake cases of ``certs``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from certs.cases import Case
from certs.pki import Pki
from certs.probe import Outcome
from sim.proxy.rewrite import RewriteRule
from sim.proxy.server import ProxyServer, ProxySettings, substatus_of

__all__ = ["PROXY_CASES"]

_SOURCE = ("SMS Technical Reference, Reverse Proxy - CIC Server's certificate; IIS support blog, "
           "Troubleshooting SSL certificate issues in reverse proxy")


async def _node(request: web.Request) -> web.Response:
    return web.Response(status=202, text="accepted by the node")


async def _through_proxy(pki: Pki, offload: bool, trust: str) -> Outcome:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _node)
    runner = web.AppRunner(app)
    await runner.setup()
    node_ssl = None if offload else pki.server_ssl_context("node-primary")
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=node_ssl).start()
    host, port = runner.addresses[0][:2]
    rule = RewriteRule.build("/receivesms.php", ".*", "/receivesms.php{R:0}")
    settings = ProxySettings([f"{host}:{port}"], [rule], offload=offload, timeout=5.0,
                                    upstream_ssl=None if offload else pki.client_ssl_context(trust))
    proxy = ProxyServer(settings)
    url = await proxy.start(probe=False)
    try:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/receivesms.php", data="x") as r:
            substatus, text = substatus_of(r), await r.text()
    finally:
        await proxy.stop()
        await runner.cleanup()
    details: dict[str, Any] = {"member_scheme": "http" if offload else "https", "status": r.status}
    if substatus:
        return Outcome(False, f"{substatus} at the proxy: {text.splitlines()[-1]}", details)
    return Outcome(True, f"forwarded, node answered {r.status}", details)


def _case(name: str, trust: str, offload: bool, *, expected: str, reason: str, client: str) -> Case:
    def run(pki: Pki) -> Outcome:
        return asyncio.run(_through_proxy(pki, offload, trust))

    server = "CIC node over HTTP" if offload else "CIC node over HTTPS (server certificate from the CIC CA)"
    return Case(name, client, server, expected, reason, run,  # type: ignore[arg-type]
                facts={"member_scheme": "http" if offload else "https"}, needs=("sim.proxy.server",),
                source=_SOURCE)


PROXY_CASES: list[Case] = [
    _case("proxy-to-node-offload", "proxy", True, expected="accepted", reason="forwarded, node answered 202",
          client="proxy, SSL offloading on"),
    _case("proxy-to-node-reencrypt-trusted", "proxy", False, expected="accepted",
          reason="forwarded, node answered 202",
          client="proxy, re-encrypt, trusts ServerGroup root + CIC CA"),
    _case("proxy-to-node-reencrypt-untrusted", "broker", False, expected="refused",
          reason="502.3 at the proxy: 127.0.0.1:", client="proxy, re-encrypt, trusts only the public CA"),
]
