"""Tests for sim.cic.process and the pair in process mode: real SIGKILL, SIGSTOP, restarts, no leftovers."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import aiohttp
import pytest
import yaml

from sim.cic.handles import RemoteNode
from sim.cic.pair import PairRuntime
from sim.cic.pair_settings import PairSettings
from sim.cic.process import NodeProcess, NodeStartError

pytestmark = pytest.mark.slow  # each test starts Python processes (about 0.5 s each)

LAB = {
    "sms": {"default_route": {"destination": "Chat"}},
    "brokers": [{"name": "kaleyra", "type": "kaleyra",
                 "accounts": [{"id": "main", "local_address": "8005550100", "login": "u", "password": "p"}],
                 "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo",
                        "delivery_receipt_url": "/kaleyra/dr"},
                 "mt": {"gateway": "http://127.0.0.1:9"}}],
    "server_parameters": {"SMS Interaction Recovery Enabled": 1},
    "cic": {"nodes": {"backup": {"backup_answer": "503"}}},
}


@pytest.fixture
def lab_file(tmp_path: Path) -> Path:
    """The lab file the node processes read."""
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB), encoding="utf-8")
    return path


def gone(pid: int) -> bool:
    """Whether no process has that PID any more (it was reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def mo(url: str, text: str, message_id: str) -> int:
    """Push one Kaleyra MO form; the status answered."""
    fields = {"device_address": "+13175550123", "inbound_address": "8005550100", "message": text,
              "message_id": message_id, "status": "MO Success", "status_code": "100"}
    async with aiohttp.ClientSession() as session, session.post(url, data=fields) as r:
        return r.status


async def test_process_pair_kill_hang_restore_and_nothing_left(lab_file: Path) -> None:
    """SIGKILL and SIGSTOP of the active process each lead to a takeover; restores rejoin; no PID remains."""
    primary, backup = NodeProcess("primary", lab_file), NodeProcess("backup", lab_file)
    handles: list[RemoteNode] = []
    try:
        await asyncio.gather(primary.start(), backup.start())
        assert (primary.info["role"], backup.info["role"]) == ("active", "backup")
        handles = [RemoteNode("primary", process=primary), RemoteNode("backup", process=backup)]
        runtime = PairRuntime(*handles, PairSettings(time_scale=0.01, recovery=True))
        await runtime.start()
        assert await mo(primary.info["sms_urls"]["kaleyra"], "hi", "m0") == 200

        first_pid, ports = primary.pid, primary.bound_ports
        await runtime.fail("primary", "kill")
        assert primary.running is False
        await runtime.wait_until(lambda: any(e["event"] == "promote" for e in runtime.timeline), 5.0)
        assert [e["recovered"] for e in runtime.timeline if e["event"] == "promote"] == [1]
        described = await handles[1].describe()
        assert (described["role"], described["interactions"]) == ("active", 1)

        await runtime.restore("primary")  # a new process on the same ports, as the backup, fully synced
        await runtime.wait_until(lambda: runtime.status()["watch"] == "monitoring", 5.0)
        assert (primary.pid != first_pid, primary.bound_ports) == (True, ports)
        assert (await handles[0].describe())["role"] == "backup"
        assert [e["records"] for e in runtime.timeline if e["event"] == "full-sync"] == [1]

        await runtime.fail("backup", "hang")  # SIGSTOP of the now active process
        assert backup.stopped is True
        await runtime.wait_until(lambda: len([e for e in runtime.timeline if e["event"] == "promote"]) == 2, 5.0)
        assert (await handles[0].describe())["role"] == "active"
        await runtime.restore("backup")  # SIGCONT; it rejoins as the backup
        await runtime.wait_until(lambda: runtime.status()["watch"] == "monitoring", 5.0)
        assert (await handles[1].describe())["role"] == "backup"
        await runtime.stop()
        assert [e for e in runtime.timeline if e["event"] == "error"] == []
    finally:
        for handle in handles:
            await handle.close()
        await primary.terminate()
        await backup.terminate()
    pids = primary.pids + backup.pids
    assert len(pids) == 3
    assert all(gone(pid) for pid in pids)


async def test_stop_cont_terminate(lab_file: Path) -> None:
    """SIGSTOP silences the node, SIGCONT brings it back, SIGTERM ends it with status 0."""
    process = NodeProcess("backup", lab_file, start_as="active")
    handle = None
    try:
        info = await process.start()
        assert set(info) == {"name", "role", "control_url", "sms_urls", "dr_urls", "bound_ports", "pid"}
        assert (info["name"], info["role"], info["pid"]) == ("backup", "active", process.pid)
        handle = RemoteNode("backup", process=process)
        process.stop()
        assert await handle.ping(0.2) is False
        process.cont()
        assert await handle.ping(2.0) is True
    finally:
        if handle is not None:
            await handle.close()  # ends the process it owns (SIGTERM)
        status = await process.terminate()  # already ended: its exit status
    assert status == 0
    assert gone(process.pids[0])


async def test_a_node_that_cannot_start_is_reported_and_reaped(tmp_path: Path) -> None:
    """A bad lab file makes the child exit: NodeStartError carries its stderr, and the PID is gone."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cic: {nodes: {primary: {backup_answer: shrug}}}\n", encoding="utf-8")
    process = NodeProcess("primary", bad)
    with pytest.raises(NodeStartError, match=r"cic\.nodes\.primary\.backup_answer"):
        await process.start()
    assert process.running is False
    assert gone(process.pids[0])


def left_in(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, relative to it, with the random part of temporary names cut."""
    return sorted(re.sub(r"(smslab-[a-z]+(-process)?)-[^/]+", r"\1-*", str(p.relative_to(folder)))
                  for p in folder.rglob("*"))


def stores(folder: Path) -> list[str]:
    """The folders below ``folder`` holding a node's own store (node.sqlite), as ``left_in`` names them."""
    return [Path(x).parent.name for x in left_in(folder) if x.endswith("/node.sqlite")]


async def test_a_killed_node_leaves_no_temporary_files_and_a_named_store_stays(lab_file: Path,
                                                                               tmp_path: Path) -> None:
    """Each process's TMPDIR holds its own store and is removed once it has exited, SIGKILLed or not."""
    tmp, store = tmp_path / "tmp", tmp_path / "backup.sqlite"
    tmp.mkdir()
    data = {**LAB, "cic": {"nodes": {"backup": {"backup_answer": "503", "store": str(store)}}}}
    lab_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    primary, backup = (NodeProcess(name, lab_file, env={"TMPDIR": str(tmp)}) for name in ("primary", "backup"))
    try:
        await asyncio.gather(primary.start(), backup.start())
        assert ["smslab-primary-*"] == stores(tmp)  # the backup's store is the one the lab file names
        await primary.kill()
        await backup.kill()
        assert [] == left_in(tmp)
        assert store.exists()  # the store the lab file names is the user's, not the process's
        await primary.restart()  # a new process, a new TMPDIR
        assert ["smslab-primary-*"] == stores(tmp)
    finally:
        await primary.terminate()
        await backup.terminate()
    assert [] == left_in(tmp)
