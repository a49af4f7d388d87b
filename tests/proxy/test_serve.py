"""Tests for sim.proxy.serve: ``smslab serve proxy`` in-process, and once as a subprocess stopped by signal."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from certs.pki import Pki
from sim.core.errors import ConfigError
from sim.proxy.serve import build, main, run
from sim.proxy.server import ProxyServer

LAB = {
    "brokers": [
        {"name": "kaleyra", "type": "kaleyra", "accounts": [{"id": "a"}],
         "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo", "delivery_receipt_url": "/kaleyra/dr"}},
        {"name": "portico", "type": "portico", "encryption": "HTTPS", "accounts": [{"id": "b"}],
         "mt": {"gateway": "https://127.0.0.1:9002"}, "mo": {"incoming_port": 8443, "incoming_path": "/portico/mo"}},
    ],
    "proxy": {"timeout": 4, "health": {"interval": 0.1, "response_match": "OK"}},
}


async def node(request: web.Request) -> web.Response:
    """A CIC node stand-in: OK to the probe, an echo of the path otherwise."""
    if "healthcheckignore" in request.query:
        return web.Response(text="OK")
    return web.json_response({"path": request.path_qs})


@pytest.fixture
async def member() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", node)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def lab_file(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB), encoding="utf-8")
    return path


def test_build_from_the_lab_file(tmp_path: Path) -> None:
    """--farm picks the farm of an incoming port; its URL test and rules and the section's time-out apply."""
    settings, _, plan = build(["h:1", "h:2"], lab_file(tmp_path), 8443)
    assert (["h:1", "h:2"], "/portico/mo?healthcheckignore=1", 0.1, "OK", 4.0, True) == (
        settings.members, settings.health.url, settings.health.interval, settings.health.response_match,
        settings.timeout, plan.https)
    assert ["/portico/mo"] == [r.base for r in settings.rules]
    first, _, _ = build(["h:1"], lab_file(tmp_path))
    assert "/kaleyra/mo?healthcheckignore=1" == first.health.url
    bare, _, _ = build(["h:1"], health_url="/up?healthcheckignore=1")
    assert ("/up?healthcheckignore=1", "/x/y?q") == (bare.health.url, bare.rules[0].apply("/x/y", "q"))


def test_build_refuses_bad_members_and_farms(tmp_path: Path) -> None:
    """A member without a port, or a farm no broker uses, is a ConfigError naming the option."""
    with pytest.raises(ConfigError) as caught:
        build(["h", "h:2", ":3"])
    assert [("--member", "h"), ("--member", ":3")] == [(p.path, p.value) for p in caught.value.problems]
    with pytest.raises(ConfigError, match=r"--farm: must be an incoming port of the brokers \(8080, 8443\)"):
        build(["h:1"], lab_file(tmp_path), 9999)


async def test_run_prints_its_url_forwards_and_stops(member: str) -> None:
    """The JSON line names the proxy and its URL; requests reach the member; setting stop ends it with 0."""
    settings, _, _ = build([member])
    out, stop = io.StringIO(), asyncio.Event()
    task = asyncio.create_task(run(ProxyServer(settings), stop=stop, out=out))
    while not out.getvalue():
        await asyncio.sleep(0.01)
    line = json.loads(out.getvalue())
    assert "proxy" == line["name"]
    async with aiohttp.ClientSession() as s, s.get(f"{line['url']}/any/path?x=1") as r:
        assert (200, {"path": "/any/path?x=1"}) == (r.status, await r.json())
    stop.set()
    assert 0 == await task


@pytest.mark.parametrize(("argv", "message"), [
    (["--member", "h:1", "--cert", "c.pem"], "--cert and --key go together"),
    (["--member", "nohost"], "--member: must be HOST:PORT (got 'nohost')"),
    (["--member", "h:1", "--cert", "/absent.pem", "--key", "/absent.pem"], "proxy.tls: cannot be loaded"),
])
def test_bad_arguments_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each mistake exits 2 before listening, saying what was wrong."""
    assert 2 == main(argv)
    assert message in capsys.readouterr().err


def test_an_https_farm_needs_a_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Serving the farm of HTTPS brokers without proxy.tls or --cert/--key exits 2."""
    assert 2 == main(["--member", "h:1", "--config", str(lab_file(tmp_path)), "--farm", "8443"])
    assert "proxy.tls.cert: is required: the farm of port 8443 serves HTTPS brokers (portico)" in \
        capsys.readouterr().err


async def test_standalone_process_serves_https_until_sigterm(tmp_path: Path, pki: Pki, member: str) -> None:
    """As a subprocess: HTTPS with the given certificate, the member reached, exit 0 on SIGTERM."""
    ident = pki.proxy_self_signed
    (tmp_path / "proxy.pem").write_bytes(ident.chain_pem)
    (tmp_path / "proxy.key").write_bytes(ident.key_pem)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.proxy.serve", "--member", member, "--config", str(lab_file(tmp_path)),
        "--farm", "8443", "--cert", str(tmp_path / "proxy.pem"), "--key", str(tmp_path / "proxy.key"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert "proxy" == line["name"]
        assert line["url"].startswith("https://127.0.0.1:")
        trust = pki.client_ssl_context([ident.name])
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{line['url']}/portico/mo?From=1", ssl=trust) as r:
                assert (200, {"path": "/portico/mo?From=1"}) == (r.status, await r.json())
            async with s.get(f"{line['url']}/other", ssl=trust) as r:
                assert 404 == r.status
        proc.send_signal(signal.SIGTERM)
        assert 0 == await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
