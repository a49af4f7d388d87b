"""Tests for scenarios.cli.up: ``smslab up`` in process and once as a subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from labfiles import STAGED, STAGED_PROBLEMS, problems, write

from scenarios.cli.main import main as smslab
from scenarios.cli.up import main, serve
from scenarios.lab.check import load_lab
from scenarios.lab.client import LabClient
from scenarios.paths import EXAMPLES_DIR, PACKAGE_DIR
from sim.labfile import LabConfig

ROOT = Path(__file__).parents[3]


async def _serve_until_printed(as_json: bool, config: LabConfig | None = None) -> tuple[str, int]:
    """Run ``serve`` until it printed its endpoints, then stop it; (output, exit status)."""
    out, stop = io.StringIO(), asyncio.Event()
    task = asyncio.create_task(serve(config, as_json=as_json, stop=stop, out=out))
    for _ in range(1000):
        if "Ctrl-C" in out.getvalue() or (as_json and out.getvalue()) or task.done():
            break
        await asyncio.sleep(0.01)
    stop.set()
    return out.getvalue(), await asyncio.wait_for(task, 10)


async def test_serve_prints_a_table_of_every_endpoint() -> None:
    """The table names each broker, the proxy, both nodes with their role, and the control API."""
    text, status = await _serve_until_printed(as_json=False)
    assert status == 0
    for name in ("kaleyra", "portico", "eztexting", "proxy:8080", "primary", "backup", "control"):
        assert name in text
    assert "role active" in text
    assert "role backup" in text
    assert "/_smslab/openapi.json" in text


async def test_serve_shows_the_nexus_endpoints() -> None:
    """With the example Nexus lab, the table has the nexus row and its doors are listed."""
    config = load_lab(PACKAGE_DIR / "labs" / "nexus.yaml")
    text, status = await _serve_until_printed(as_json=False, config=config)
    assert status == 0
    assert "Digital Channels (Nexus):" in text
    assert "/nexus/v3/sms/message" in text
    assert "/nexus/v3/provisioning/services/{ccid}/{service}" in text


async def test_serve_prints_the_next_step_within_80_columns() -> None:
    """After the table come a curl line and a `smslab run --url` line, and no line is wider than 80 columns."""
    text, _ = await _serve_until_printed(as_json=False)
    url = text.split("control API ")[1].split("/_smslab/")[0]
    assert f"  curl -s {url}/_smslab/health" in text.splitlines()
    assert any(line.startswith(f"  smslab run --url {url} ") for line in text.splitlines())
    table = text.split("SMS URLs")[0]
    assert max(len(line) for line in table.splitlines()) <= 80
    sms = [line.split(": ", 1) for line in text.splitlines() if line.startswith(("  primary ", "  backup "))]
    assert [name for name, _ in sms] == [f"  {node} {broker}" for node in ("primary", "backup")
                                         for broker in ("kaleyra", "portico", "eztexting")]
    assert all(url.startswith("http://127.0.0.1:") and "…" not in url for _, url in sms)


async def test_serve_json_line_has_the_urls() -> None:
    """--json prints one line: the control URL, every component and the start time."""
    text, status = await _serve_until_printed(as_json=True)
    line = json.loads(text)
    assert status == 0
    assert line["url"].startswith("http://127.0.0.1:")
    assert [c["kind"] for c in line["components"]] == ["kaleyra", "portico", "http-broker", "proxy", "cic", "cic",
                                                        "control"]
    assert 0 < line["started_in"] < 3


def test_bad_config_exits_2_naming_the_problem(tmp_path: Path, capsys) -> None:
    """A lab file with a problem: exit 2, the problem's path on stderr, nothing started."""
    bad = tmp_path / "lab.yaml"
    bad.write_text("cic: {nodes: {primary: {backup_answer: maybe}}}\n")
    assert main(["--config", str(bad)]) == 2
    assert "cic.nodes.primary.backup_answer: must be one of refuse, 503, 404, hang" in capsys.readouterr().err


def test_a_bad_lab_file_is_refused_with_every_problem_at_once(tmp_path: Path, capsys) -> None:
    """smslab up --config lists the problems of the CIC sections, a fake, proxy and cic together."""
    bad = write(tmp_path, STAGED)
    assert smslab(["up", "--config", str(bad)]) == 2
    assert problems(capsys.readouterr().err, bad) == STAGED_PROBLEMS


def test_a_lab_file_may_extend_the_default(tmp_path: Path, capsys) -> None:
    """smslab up --config reads extends: default, so only the file's own problem is named."""
    bad = write(tmp_path, "extends: default\ncic: {nodes: {primary: {backup_answer: maybe}}}\n")
    assert smslab(["up", "--config", str(bad)]) == 2
    assert problems(capsys.readouterr().err, bad) == [
        "cic.nodes.primary.backup_answer: must be one of refuse, 503, 404, hang (got 'maybe')"]


def test_missing_certificates_are_named_before_anything_starts(tmp_path: Path, capsys) -> None:
    """The HTTPS example without its certs/ folder: exit 2, each missing file and smslab certs --out."""
    lab = write(tmp_path, (EXAMPLES_DIR / "https-lab.yaml").read_text(encoding="utf-8"), "https-lab.yaml")
    assert smslab(["up", "--config", str(lab)]) == 2
    found = problems(capsys.readouterr().err, lab)
    assert len(found) == 12
    assert found[0] == (f"fakes.kaleyra.tls.cert: names no file; make it with `smslab certs --out "
                        f"{tmp_path.resolve() / 'certs'}` (got '{tmp_path.resolve() / 'certs/broker-kaleyra-chain.pem'}')")


def test_up_as_a_subprocess_serves_until_sigterm() -> None:
    """``python -m scenarios.cli.up --json`` serves the control API and exits 0 on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scenarios.cli.up", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        health = LabClient(line["url"]).health()
        assert health["switchover"]["roles"] == {"primary": "active", "backup": "backup"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
