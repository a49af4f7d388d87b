"""Tests for fakes.serve: ``smslab serve``, in-process and once as a real subprocess."""

import asyncio
import base64
import io
import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import trustme

from fakes.common import server_tls
from fakes.kaleyra import HTTP_API_PATH, KaleyraFake
from fakes.serve import build, main, run

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"smslab:smslab").decode()}


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_build_reads_the_fake_mapping(tmp_path):
    """The mapping at fakes.NAME configures the fake; absent means defaults."""
    config = _config(tmp_path, "fakes:\n  k1:\n    kind: kaleyra\n    capture: {limit: 7}\n")
    fake = build("kaleyra", "k1", config)
    other = build("kaleyra", "k2", config)
    assert (KaleyraFake, 7, 10_000) == (type(fake), fake.capture.limit, other.capture.limit)


def test_relative_certificate_paths_are_read_beside_the_config_file(tmp_path, monkeypatch):
    """tls.cert, tls.key and push.ca given relative to the lab file work from any working directory."""
    ca = trustme.CA()
    (tmp_path / "lab" / "certs").mkdir(parents=True)
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "lab/certs/k.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "lab/certs/ca.pem"))
    config = tmp_path / "lab" / "lab.yaml"
    config.write_text("fakes:\n  k1:\n    tls: {cert: certs/k.pem, key: certs/k.pem}\n"
                      "    push: {ca: certs/ca.pem}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    fake = build("kaleyra", "k1", Path("lab/lab.yaml"))
    certs = (tmp_path / "lab" / "certs").resolve()
    assert (str(certs / "k.pem"), str(certs / "k.pem"), str(certs / "ca.pem")) == (
        fake.settings.tls_cert, fake.settings.tls_key, fake.settings.push.ca)
    assert isinstance(server_tls(fake.settings), ssl.SSLContext)


@pytest.mark.parametrize(("text", "message"), [
    ("fakes:\n  k1:\n    dlr: {delay: {seconds: -1}}\n", "lab.yaml: fakes.k1.dlr.delay.seconds: must be at least 0"),
    ("fakes:\n  k1:\n    kind: portico\n", "fakes.k1.kind: must be 'kaleyra' to serve it as kaleyra"),
    ("fakes: [1]\n", "fakes: must be a mapping"),
    ("fakes: {k1: [unclosed\n", "is not valid YAML"),
])
def test_bad_config_prints_problems_and_exits_2(tmp_path, capsys, text, message):
    """A bad configuration prints its problems, with the file and path, to stderr and exits 2."""
    code = main(["kaleyra", "k1", "--config", str(_config(tmp_path, text))])
    captured = capsys.readouterr()
    assert (2, "") == (code, captured.out)
    assert message in captured.err


def test_missing_key_for_cert_exits_2(tmp_path, capsys):
    """--cert without --key is refused."""
    assert 2 == main(["kaleyra", "k1", "--cert", str(tmp_path / "c.pem")])
    assert "--cert and --key go together" in capsys.readouterr().err


async def test_run_prints_one_json_line_and_serves_until_stopped():
    """run() starts the fake, prints {name, kind, url} once, serves, and stops when told."""
    out, stop = io.StringIO(), asyncio.Event()
    fake = build("kaleyra", "k1")
    task = asyncio.ensure_future(run(fake, stop=stop, out=out))
    for _ in range(200):
        if out.getvalue():
            break
        await asyncio.sleep(0.005)
    line = json.loads(out.getvalue())
    async with aiohttp.ClientSession() as session, session.get(line["url"] + "/_smslab/health") as resp:
        health = await resp.json()
    stop.set()
    assert 0 == await asyncio.wait_for(task, 5)
    assert ({"name", "kind", "url"}, "k1", "kaleyra", "k1") == (set(line), line["name"], line["kind"],
                                                                health["name"])


def test_real_subprocess_serves_an_mt_and_stops_on_sigterm():
    """python -m fakes.serve prints its URL, accepts an MT over the socket, and exits 0 on SIGTERM."""
    with subprocess.Popen([sys.executable, "-m", "fakes.serve", "kaleyra", "k1", "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            line = json.loads(proc.stdout.readline())

            async def send() -> tuple[int, str]:
                async with aiohttp.ClientSession() as session, session.post(
                        line["url"] + HTTP_API_PATH, headers=AUTH,
                        data={"reply_to": "55555", "recipient": "+16505550001", "body": "hi"}) as resp:
                    return resp.status, await resp.text()

            status, text = asyncio.run(send())
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            code = proc.wait(10)
    assert (200, True, 0) == (status, "<code>100</code>" in text, code)
    assert line["url"].startswith("http://127.0.0.1:")
    assert not line["url"].endswith(":0")


async def test_portico_without_config_hands_a_token_to_the_demo_client():
    """Served without --config, Portico answers the documented demo client with a token and others with 401."""
    fake = build("portico", "p1")
    url = await fake.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            for pair, status in ((b"smslab-demo:smslab-demo-secret", 200), (b"smslab-demo:wrong", 401)):
                basic = "Basic " + base64.b64encode(pair).decode()
                async with session.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                                        headers={"Authorization": basic}) as reply:
                    assert (reply.status, "access_token" in await reply.json()) == (status, status == 200)
    finally:
        await fake.stop()
