"""Tests for sim.cic.serve (``smslab serve cic``): in-process and once as a real subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml
from nodekit import LOCAL, config, kaleyra, running

from sim.cic import serve
from sim.cic.roles import Role
from sim.cic.settings import BackupAnswer

ROOT = Path(__file__).parents[2]
LAB = {
    "sms": {"default_route": {"destination": "Chat"}},
    "brokers": [{"name": "kaleyra", "type": "kaleyra",
                 "accounts": [{"id": "main", "local_address": "8005550100", "login": "u", "password": "p"}],
                 "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo",
                        "delivery_receipt_url": "/kaleyra/dr"},
                 "mt": {"gateway": "http://127.0.0.1:9"}}],
    "fakes": {"k": {"kind": "kaleyra"}},  # another owner's section: left alone
    "cic": {"nodes": {"backup": {"backup_answer": "404", "ports": {8080: 0}}}, "switchover": {"time_scale": 1}},
}


@pytest.fixture
def lab_file(tmp_path: Path) -> Path:
    """A lab file with one broker and the backup's own settings."""
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_build_reads_the_file_and_applies_the_overrides(lab_file: Path) -> None:
    """The node's settings come from cic.nodes.ROLE, with --port-map, --control-port and --start-as on top."""
    args = serve._parser().parse_args(["--role", "backup", "--config", str(lab_file), "--port-map", "8080=0",
                                       "--port-map", "9000=1234", "--control-port", "0", "--start-as", "down"])
    node = serve.build(args)
    assert (node.settings.name, node.settings.backup_answer, dict(node.settings.ports)) == (
        "backup", BackupAnswer.NOT_FOUND, {8080: 0, 9000: 1234})
    assert node.role is Role.DOWN
    primary = serve.build(serve._parser().parse_args(["--role", "primary"]))
    assert (primary.role, primary.config.brokers) == (Role.ACTIVE, ())


async def test_run_prints_the_ready_line_and_serves_until_stopped(lab_file: Path) -> None:
    """run() prints one JSON line with the node's URLs; the control API answers; stop ends it with 0."""
    control = free_port()
    args = serve._parser().parse_args(["--role", "backup", "--config", str(lab_file),
                                       "--control-port", str(control)])
    out, stop = io.StringIO(), asyncio.Event()
    task = asyncio.ensure_future(serve.run(serve.build(args), stop=stop, out=out))
    for _ in range(400):
        if out.getvalue():
            break
        await asyncio.sleep(0.005)
    line = json.loads(out.getvalue())
    async with aiohttp.ClientSession() as session, session.get(line["control_url"] + "/_smslab/node") as r:
        described = await r.json()
    stop.set()
    assert await asyncio.wait_for(task, 5) == 0
    port = line["bound_ports"]["8080"]
    assert line == {"name": "backup", "role": "backup", "control_url": f"http://127.0.0.1:{control}",
                    "sms_urls": {"kaleyra": f"http://127.0.0.1:{port}/kaleyra/mo"},
                    "dr_urls": {"kaleyra": f"http://127.0.0.1:{port}/kaleyra/dr"},
                    "bound_ports": {"8080": port}, "pid": os.getpid()}
    assert (described["name"], described["role"]) == ("backup", "backup")


async def test_peer_option_mirrors_to_that_node_from_the_start(lab_file: Path) -> None:
    """With --peer the served node mirrors each MO to the peer's control API before answering it."""
    async with running(config(kaleyra()), name="backup", role=Role.BACKUP) as peer:
        args = serve._parser().parse_args(["--role", "primary", "--config", str(lab_file)])
        out, stop = io.StringIO(), asyncio.Event()
        task = asyncio.ensure_future(serve.run(serve.build(args), peer=peer.control_url, stop=stop, out=out))
        try:
            for _ in range(400):
                if out.getvalue():
                    break
                await asyncio.sleep(0.005)
            line = json.loads(out.getvalue())
            fields = {"device_address": "+13175550123", "inbound_address": LOCAL, "message": "hi",
                      "message_id": "m0", "status": "MO Success", "status_code": "100"}
            async with aiohttp.ClientSession() as session, session.post(line["sms_urls"]["kaleyra"],
                                                                        data=fields) as r:
                assert r.status == 200
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 5) == 0
        assert await peer.records.recover() == 1


async def test_public_base_option_sets_the_delivery_status_uri(lab_file: Path) -> None:
    """--public-base BROKER=URL makes that broker's ExternalDeliveryStatusURI the URL plus its DR path."""
    args = serve._parser().parse_args(["--role", "primary", "--config", str(lab_file),
                                       "--public-base", "kaleyra=http://proxy.example:8080/"])
    node = serve.build(args)
    plain = serve.build(serve._parser().parse_args(["--role", "primary", "--config", str(lab_file)]))
    assert {"kaleyra": "http://proxy.example:8080/kaleyra/dr"} == node.describe()["public_dr_urls"]
    assert plain.public_bases == {}


def test_bad_public_base_exits_2(lab_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --public-base without a URL is a usage error; one naming no broker is refused with the name."""
    with pytest.raises(SystemExit) as caught:
        serve.main(["--role", "primary", "--public-base", "kaleyra"])
    assert caught.value.code == 2
    assert "must be BROKER=URL" in capsys.readouterr().err
    assert 2 == serve.main(["--role", "primary", "--config", str(lab_file), "--public-base", "nope=http://p:1"])
    assert "--public-base: names no broker of the configuration (got 'nope')" in capsys.readouterr().err


def test_bad_configuration_exits_2_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lab file with problems in the CIC sections and the node's section is refused with all of them."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"brokers": [{"name": "x"}], "cic": {"nodes": {"primary": {"port": 1}}}}),
                   encoding="utf-8")
    assert serve.main(["--role", "primary", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "brokers[0].type" in err
    assert "cic.nodes.primary.port" in err


def test_unreadable_file_and_bad_port_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file exits 2 naming it; a malformed --port-map is a usage error (exit 2)."""
    assert serve.main(["--role", "primary", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        serve.main(["--role", "primary", "--port-map", "8080"])
    assert caught.value.code == 2
    assert "CONFIGURED=BOUND" in capsys.readouterr().err


def test_port_already_taken_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A control port that is taken exits 2 with the reason."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.main(["--role", "primary", "--control-port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_real_subprocess_prints_its_line_and_exits_0_on_sigterm(lab_file: Path) -> None:
    """python -m sim.cic.serve prints its JSON line, answers on its control API, and exits 0 on SIGTERM."""
    with subprocess.Popen([sys.executable, "-m", "sim.cic.serve", "--role", "primary", "--config",
                           str(lab_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            line = json.loads(proc.stdout.readline() if proc.stdout else "{}")

            async def ping() -> tuple[int, object]:
                async with aiohttp.ClientSession() as session, session.get(
                        line["control_url"] + "/_smslab/node/ts-ping") as r:
                    return r.status, await r.json()

            answer = asyncio.run(ping())
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            code = proc.wait(10)
    assert (line["name"], line["role"], line["pid"]) == ("primary", "active", proc.pid)
    assert answer == (200, {"ok": True})
    assert code == 0


def test_certificate_paths_are_read_beside_the_lab_file(tmp_path: Path) -> None:
    """tls_cert, tls_key and mt_ca given relative to the lab file are read from its folder."""
    elsewhere = tmp_path.resolve() / "elsewhere" / "ca.pem"
    for file in (tmp_path / "certs" / "n.pem", tmp_path / "certs" / "n.key", elsewhere):
        file.parent.mkdir(exist_ok=True)
        file.write_text("", encoding="utf-8")
    nodes = {"primary": {"tls_cert": "certs/n.pem", "tls_key": "certs/n.key", "mt_ca": str(elsewhere)}}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({**LAB, "cic": {"nodes": nodes}}), encoding="utf-8")
    _, settings = serve.load(path, "primary")
    base = tmp_path.resolve()
    assert (settings.tls_cert, settings.tls_key, settings.mt_ca) == (
        str(base / "certs/n.pem"), str(base / "certs/n.key"), str(elsewhere))


def test_extends_default_outside_smslab_is_a_clear_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run without smslab (python -m sim.cic.serve), extends: default names a lab it cannot know: said so."""
    lab = tmp_path / "lab.yaml"
    lab.write_text("extends: default\n", encoding="utf-8")
    assert serve.main(["--role", "primary", "--config", str(lab)]) == 2
    assert capsys.readouterr().err == (
        f"{lab}: extends: names the embedded lab, which only the smslab command knows (this file is read without "
        "it, e.g. by python -m); run it through smslab, or extend a lab file by its path (got 'default')\n")


def test_fake_gateways_are_refused_saying_where_they_resolve(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A fake:<name> gateway cannot be resolved by a node alone: the reason says where it can and what to give."""
    lab = tmp_path / "lab.yaml"
    data = {**LAB, "brokers": [{**LAB["brokers"][0], "mt": {"gateway": "fake:k"}}]}
    lab.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert serve.main(["--role", "primary", "--config", str(lab)]) == 2
    assert capsys.readouterr().err == (
        f"{lab}: brokers[0].mt.gateway: names a fake of the lab: fake:<name> gateways resolve only inside "
        "`smslab up`/`smslab run`; give the broker's real gateway URL to serve a node alone (got 'fake:k')\n")
