"""Tests for sim.nexus.serve: ``smslab serve nexus`` in-process (ready line, a provisioning call) and its refusals."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiohttp
import pytest
import yaml

from scenarios.cli.serve import main as serve_main
from sim.core.errors import ConfigError
from sim.nexus.serve import build, run
from sim.nexus.server import NexusServer
from tests.nexus.tenant import CCID, HEAD, KEYS


async def test_serves_and_announces(tmp_path: Path) -> None:
    """It prints one JSON line with its URL, then answers the provisioning API from the file's keys."""
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"nexus": {"api_keys": KEYS}}))
    stop, out = asyncio.Event(), io.StringIO()
    task = asyncio.create_task(run(NexusServer(build(lab)), stop=stop, out=out))
    while not out.getvalue():
        await asyncio.sleep(0.01)
    line = json.loads(out.getvalue())
    assert (line["name"], line["kind"]) == ("nexus", "nexus")
    body = {"url": "N/A", "data": {"provider": "Async"}, "secret": {}}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{line['url']}/nexus/v3/provisioning/services/{CCID}/SMS", json=body,
                                headers=HEAD) as resp:
            assert resp.status == 200
        async with session.get(f"{line['url']}/_smslab/health") as resp:
            assert (await resp.json())["data"]["ccid"] == CCID
    stop.set()
    assert await task == 0


def test_fake_urls_refused_alone(tmp_path: Path) -> None:
    """Served alone, a fake:<name> service URL is a problem naming its field."""
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"nexus": {"services": {"PorticoSMS": {"url": "fake:gc"}}}}))
    with pytest.raises(ConfigError, match=r"nexus.services.PorticoSMS.url: names a fake of the lab"):
        build(lab)


def test_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad nexus section prints its problems and exits 2 through smslab serve, the lab's check included."""
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump({"nexus": {"senders": {"SMS_Main": {"channelId": "1", "endpoint": "chat.x"}}}}))
    assert serve_main(["nexus", "--config", str(lab)]) == 2
    assert "nexus.senders.SMS_Main: section name must start with 'chat.'" in capsys.readouterr().err


def test_subprocess_serves_until_sigterm() -> None:
    """``smslab serve nexus --admin-key`` in its own process: the ready line, a provisioning call, exit 0 on SIGTERM."""
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen([sys.executable, "-m", "scenarios.cli.main", "serve", "nexus", "--admin-key", "k1"],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        url = json.loads(child.stdout.readline())["url"]
        body = json.dumps({"url": "N/A", "data": {"provider": "Portico"}, "secret": {}}).encode()
        request = urllib.request.Request(f"{url}/nexus/v3/provisioning/services/{CCID}/SMS", data=body,
                                         headers={"Content-Type": "application/json", "x-api-key": "k1",
                                                  "x-ccid": CCID})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert json.loads(resp.read())["status"] == {"code": 0, "message": "OK"}
    finally:
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert code == 0
