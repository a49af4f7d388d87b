"""Tests for sim.cic.handles: LocalNode over an in-process node, RemoteNode over a node's control API."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from nodekit import LOCAL, config, kaleyra, running

from sim.cic.handles import LocalNode, NodeHandle, RemoteNode
from sim.cic.node import CicNode
from sim.cic.roles import NodeFault, Role
from sim.core.errors import InputError, UsageError

HANDSET = "+13175550123"


async def mo(node: CicNode, text: str, message_id: str) -> int:
    """Push one Kaleyra MO form to ``node``; the status it answered."""
    fields = {"device_address": HANDSET, "inbound_address": LOCAL, "carrier": "Verizon", "channel": "SMS",
              "message": text, "message_orig": text, "message_id": message_id, "message_subid": "0",
              "a2w_mo_ref_id": message_id, "router": "MMX", "status": "MO Success", "status_code": "100",
              "country_code": "1"}
    async with aiohttp.ClientSession() as session, session.post(node.sms_urls["kaleyra"], data=fields) as r:
        return r.status


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# -- LocalNode ---------------------------------------------------------------------------------------------


async def test_local_node_is_a_node_handle() -> None:
    """LocalNode and RemoteNode both satisfy the NodeHandle protocol."""
    async with running(config(kaleyra()), name="primary") as node:
        remote = RemoteNode("primary", node.control_url)
        try:
            assert isinstance(LocalNode(node), NodeHandle)
            assert isinstance(remote, NodeHandle)
            assert (LocalNode(node).name, LocalNode(node, "a").name) == ("primary", "a")
        finally:
            await remote.close()


async def test_local_ping_down_at_once_and_hung_until_the_timeout() -> None:
    """A down node fails the ping at once; a hung one only when the timeout runs out; a live one answers."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = LocalNode(node)
        assert await handle.ping(1.0) is True
        loop = asyncio.get_running_loop()
        await handle.fail("hang")
        started = loop.time()
        assert await handle.ping(0.05) is False
        assert loop.time() - started >= 0.05
        loop.call_later(0.02, node.set_fault, NodeFault.NONE)  # the hang ends within the ping's timeout
        assert await handle.ping(1.0) is True
        await handle.fail("kill")
        started = loop.time()
        assert await handle.ping(1.0) is False
        assert loop.time() - started < 0.5


async def test_a_hung_local_node_holds_its_requests_through_a_takeover() -> None:
    """As a stopped server: a demotion while hung is not heard, held MOs stay held, restore applies it."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = LocalNode(node)
        await handle.set_role(Role.ACTIVE)
        await handle.fail("hang")
        held = asyncio.ensure_future(mo(node, "held", "m-held"))
        await asyncio.sleep(0.05)
        await handle.set_role(Role.DOWN)  # the takeover demotes it: a hung server does not hear that
        await asyncio.sleep(0.05)
        assert (node.role, held.done()) == (Role.ACTIVE, False)
        await handle.restore()  # back as the backup, never down; what it held meets the backup's answer
        status = await asyncio.wait_for(held, 5.0)
        assert (node.role, node.fault, node.records.count()) == (Role.BACKUP, NodeFault.NONE, 0)
        assert node.settings.backup_answer.value == str(status)


async def test_local_kill_and_restore_is_a_restart_as_backup() -> None:
    """A killed node is DOWN; restored, it is the backup with nothing in memory."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = LocalNode(node)
        assert await mo(node, "hi", "m0") == 200
        await handle.fail("kill")
        assert (node.role, (await handle.describe())["fault"]) == (Role.DOWN, "kill")
        with pytest.raises(aiohttp.ClientError):
            await mo(node, "lost", "m1")
        await handle.restore()
        described = await handle.describe()
        assert (node.role, described["role"], described["fault"], described["interactions"]) == (
            Role.BACKUP, "backup", "none", 0)
        assert described["mode"] == "in-process"


@pytest.mark.parametrize(("mode", "fault"), [("slow", NodeFault.SLOW), ("partition", NodeFault.PARTITION),
                                             ("crash-on-mo", NodeFault.CRASH_ON_MO), ("hang", NodeFault.HANG)])
async def test_local_faults_map_to_node_faults(mode: str, fault: NodeFault) -> None:
    """Each fault mode sets the matching node fault and restore clears it."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = LocalNode(node)
        await handle.fail(mode)
        assert node.fault is fault
        await handle.restore()
        assert (node.fault, node.role) == (NodeFault.NONE, Role.ACTIVE)


async def test_local_unknown_fault_is_refused() -> None:
    """An unknown fault mode is a 400 naming the known ones."""
    async with running(config(kaleyra()), name="primary") as node:
        with pytest.raises(InputError, match="kill, hang, slow, partition, crash-on-mo") as caught:
            await LocalNode(node).fail("isolate")
        assert caught.value.status == 400


async def test_local_peer_mirrors_in_process_and_full_sync_copies_everything() -> None:
    """A local peer receives each change before the MO is answered; a full sync copies the rest."""
    cfg = config(kaleyra())
    async with running(cfg, name="primary") as a, running(cfg, name="backup", role=Role.BACKUP) as b:
        primary, backup = LocalNode(a), LocalNode(b)
        assert await mo(a, "before", "m0") == 200
        await primary.set_peer(backup)
        assert await mo(a, "mirrored", "m1") == 200
        assert await backup.full_sync_from(primary) == 1
        await primary.set_peer(None)
        assert a.records.mirror_to is None
        assert await backup.recover() == 1
        assert [[e.text for e in i.transcript] for i in b.records.interactions()] == [["before", "mirrored"]]
        await backup.reset_core()
        assert b.records.interactions() == []


async def test_a_full_sync_goes_chunk_by_chunk_and_copies_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 1,201 stored records the full sync asks seven chunks of 200 and the backup's mirror holds all of them."""
    cfg = config(kaleyra())
    async with running(cfg, name="primary") as a, running(cfg, name="backup", role=Role.BACKUP) as b:
        a.records.store.put_interactions([{"id": f"i-{n:04}", "customer": "+13175550123", "state": "active",
                                           "created_at": float(n), "updated_at": float(n), "transcript": [],
                                           "local": "8005550100", "broker": "kaleyra",
                                           "destination": {"kind": "Chat", "name": ""}} for n in range(1201)])
        primary, asked = LocalNode(a), []
        chunk = primary.records

        async def records(after: int = 0) -> Any:
            answer = await chunk(after)
            asked.append((after, len(answer[0])))
            return answer

        monkeypatch.setattr(primary, "records", records)
        assert 1201 == await LocalNode(b).full_sync_from(primary)
        assert ([(n, 200) for n in range(0, 1200, 200)] + [(1200, 1)], 1201) == (asked, b.records.store.mirror_count())


# -- RemoteNode --------------------------------------------------------------------------------------------


async def test_remote_node_drives_a_node_over_its_control_api() -> None:
    """Role, fault, describe and ping go over HTTP to the node's control API."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = RemoteNode("primary", node.control_url)
        try:
            assert await handle.ping(1.0) is True
            await handle.set_role(Role.BACKUP)
            assert node.role is Role.BACKUP
            await handle.fail("slow")
            described = await handle.describe()
            assert (described["role"], described["fault"], described["reachable"], described["mode"]) == (
                "backup", "slow", True, "remote")
            assert described["sms_urls"] == node.sms_urls
            await handle.restore()
            assert node.fault is NodeFault.NONE
            await handle.fail("hang")
            assert await handle.ping(0.1) is False  # the control API holds a hung node's ping
            await handle.restore()
            assert await handle.ping(1.0) is True
        finally:
            await handle.close()


async def test_remote_nodes_mirror_sync_and_recover_over_http() -> None:
    """set_peer makes the node mirror over HTTP; full sync and recover work between remote handles."""
    cfg = config(kaleyra())
    async with running(cfg, name="primary") as a, running(cfg, name="backup", role=Role.BACKUP) as b:
        primary, backup = RemoteNode("primary", a.control_url), RemoteNode("backup", b.control_url)
        try:
            assert await mo(a, "one", "m0") == 200
            await primary.set_peer(backup)
            assert await mo(a, "two", "m1") == 200
            assert (1, None) == (len((await primary.records())[0]), (await primary.records())[1])
            assert await backup.full_sync_from(primary) == 1
            await primary.set_peer(None)
            assert await backup.recover() == 1
            assert [[e.text for e in i.transcript] for i in b.records.interactions()] == [["one", "two"]]
            await backup.reset_core()
            assert b.records.interactions() == []
        finally:
            await primary.close()
            await backup.close()


async def test_remote_local_mix_mirrors_across_kinds() -> None:
    """A LocalNode mirrors to a RemoteNode peer over HTTP, and the other way round."""
    cfg = config(kaleyra())
    async with running(cfg, name="primary") as a, running(cfg, name="backup", role=Role.BACKUP) as b:
        local, remote = LocalNode(a), RemoteNode("backup", b.control_url)
        try:
            await local.set_peer(remote)
            assert await mo(a, "over http", "m0") == 200
            assert await remote.recover() == 1
        finally:
            await local.set_peer(None)
            await remote.close()


async def test_remote_unreachable_node_fails_ping_and_describes_itself_down() -> None:
    """A node that does not answer fails the ping and is described as unreachable."""
    handle = RemoteNode("backup", free_url(), timeout=1.0)
    try:
        assert await handle.ping(0.5) is False
        described = await handle.describe()
        assert (described["role"], described["reachable"]) == ("down", False)
        with pytest.raises(InputError, match="did not answer") as caught:
            await handle.recover()
        assert caught.value.status == 502
    finally:
        await handle.close()


async def test_remote_refusals() -> None:
    """Without a process there is no kill; a node's own 4xx comes back with its message; no URL is misuse."""
    async with running(config(kaleyra()), name="primary") as node:
        handle = RemoteNode("primary", node.control_url)
        try:
            with pytest.raises(InputError, match="cannot be killed") as kill:
                await handle.fail("kill")
            with pytest.raises(InputError, match="numeric 'at'") as bad:
                await handle.accept([{"interaction": {}}])
            assert (kill.value.status, bad.value.status) == (409, 400)
        finally:
            await handle.close()
    with pytest.raises(UsageError):
        RemoteNode("primary")
