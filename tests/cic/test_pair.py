"""Tests for sim.cic.pair and sim.cic.pair_engine: the switchover pair runtime over two in-process nodes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from nodekit import LOCAL, config, kaleyra, running

from sim.cic.handles import LocalNode
from sim.cic.node import CicNode
from sim.cic.pair import PairRuntime
from sim.cic.pair_settings import PairSettings
from sim.cic.roles import NodeFault, Role
from sim.core.errors import InputError

SCALE = 0.01  # ts_timeout 0.1 s, retry 0.01 s, NetTest 0.01 s, takeover 0.05 s, ping every 0.01 s
HANDSET = "+13175550123"


class Pair:
    """Two started in-process nodes and their runtime."""

    def __init__(self, primary: CicNode, backup: CicNode, runtime: PairRuntime) -> None:
        self.primary, self.backup, self.runtime = primary, backup, runtime

    def node(self, name: str) -> CicNode:
        return self.primary if name == "primary" else self.backup

    async def promoted(self, count: int = 1, timeout: float = 3.0) -> dict[str, Any]:
        """Wait for the ``count``-th promotion (the takeover is complete) and return it."""
        await self.runtime.wait_until(lambda: len(self.events("promote")) >= count, timeout)
        return self.events("promote")[count - 1]

    async def monitoring(self, timeout: float = 3.0) -> None:
        """Wait until the backup watches an active node again."""
        await self.runtime.wait_until(lambda: self.runtime.status()["watch"] == "monitoring", timeout)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.runtime.timeline if e["event"] == kind]


@contextlib.asynccontextmanager
async def local_pair(**settings: Any) -> AsyncIterator[Pair]:
    """A started pair of in-process nodes with scaled timers (``settings`` go to ``PairSettings``)."""
    cfg = config(kaleyra())
    async with running(cfg, name="primary") as primary, running(cfg, name="backup", role=Role.BACKUP) as backup:
        runtime = PairRuntime(LocalNode(primary), LocalNode(backup),
                              PairSettings(**{"time_scale": SCALE, "recovery": True, **settings}))
        await runtime.start()
        try:
            yield Pair(primary, backup, runtime)
        finally:
            await runtime.stop()
            assert [e for e in runtime.timeline if e["event"] == "error"] == []


async def mo(node: CicNode, text: str, message_id: str) -> int:
    """Push one Kaleyra MO form (Acoustic's fields) to ``node``; the HTTP status it answered."""
    fields = {"device_address": HANDSET, "inbound_address": LOCAL, "carrier": "Verizon", "channel": "SMS",
              "message": text, "message_orig": text, "message_id": message_id, "message_subid": "0",
              "a2w_mo_ref_id": message_id, "router": "MMX", "status": "MO Success", "status_code": "100",
              "country_code": "1"}
    async with aiohttp.ClientSession() as session, session.post(node.sms_urls["kaleyra"], data=fields) as r:
        return r.status


def transcripts(node: CicNode) -> dict[str, list[str]]:
    return {i.id: [entry.text for entry in i.transcript] for i in node.records.interactions()}


# -- takeover -------------------------------------------------------------------------------------------


async def test_kill_active_backup_takes_over_after_detection_and_takeover() -> None:
    """Killing the active node makes the backup active after the scaled detection and takeover, in order."""
    async with local_pair() as pair:
        t = pair.runtime.timers
        await pair.runtime.fail("primary", "kill")
        promote = await pair.promoted()
        fault = pair.events("fault")[0]
        steps = [(e["event"], e.get("transition", "")) for e in pair.runtime.timeline if e["t"] >= fault["t"]]
        assert steps == [("fault", ""), ("watch", "ping-failed"), ("watch", "ping-failed"),
                         ("watch", "nettest-ok"), ("watch", "takeover-done"), ("promote", "")]
        elapsed = promote["t"] - fault["t"]
        assert t.retry_delay * (t.max_failures - 1) + t.takeover_time <= elapsed < 0.5
        assert (pair.primary.role, pair.backup.role) == (Role.DOWN, Role.ACTIVE)
        status = pair.runtime.status()
        assert (status["active"], status["backup"], status["watch"]) == ("backup", None, "no-backup")
        assert status["roles"] == {"primary": "down", "backup": "active"}
        assert pair.runtime.active_name() == "backup"


async def test_exactly_one_active_role_at_every_sample() -> None:
    """Across a kill, a takeover, a restore and a manual switchover, one role is ACTIVE and no two nodes are."""
    async with local_pair() as pair:
        samples: list[tuple[list[str], list[Role]]] = []

        async def sample() -> None:
            while True:
                roles = pair.runtime.status()["roles"]
                samples.append(([n for n, r in roles.items() if r == "active"],
                                [n.role for n in (pair.primary, pair.backup) if n.role is Role.ACTIVE]))
                await asyncio.sleep(0.001)

        sampler = asyncio.create_task(sample())
        try:
            await pair.runtime.fail("primary", "kill")
            await pair.promoted()
            await pair.runtime.restore("primary")
            await pair.monitoring()
            await pair.runtime.manual_switchover(wait=3.0)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        assert len(samples) > 20
        assert all(len(table) == 1 and len(nodes) <= 1 for table, nodes in samples)
        assert {table[0] for table, _ in samples} == {"primary", "backup"}


async def test_hang_switches_after_the_ping_timeouts() -> None:
    """A hung active node is replaced only after max_failures pings ran into their timeout."""
    async with local_pair() as pair:
        t = pair.runtime.timers
        await pair.runtime.fail("primary", "hang")
        promote = await pair.promoted()
        elapsed = promote["t"] - pair.events("fault")[0]["t"]
        assert elapsed >= t.max_failures * t.ts_timeout + t.takeover_time
        assert pair.backup.role is Role.ACTIVE
        assert pair.runtime.active_name() == "backup"
        # A hung server hears no demotion (as a stopped process): it learns its role when restored.
        assert pair.primary.role is Role.ACTIVE
        await pair.runtime.restore("primary")
        await pair.monitoring()
        assert (pair.primary.role, pair.primary.fault) == (Role.BACKUP, NodeFault.NONE)


async def test_crash_on_mo_takes_the_node_down_and_the_backup_over() -> None:
    """Under crash-on-mo the next MO kills the active node (no answer) and the backup takes over."""
    async with local_pair() as pair:
        await pair.runtime.fail("primary", "crash-on-mo")
        with pytest.raises(aiohttp.ClientError):
            await mo(pair.primary, "boom", "c1")
        await pair.promoted()
        assert (pair.primary.role, pair.backup.role) == (Role.DOWN, Role.ACTIVE)
        await pair.runtime.restore("primary")
        await pair.monitoring()
        assert pair.primary.role is Role.BACKUP


async def test_manual_only_never_takes_over_on_failure() -> None:
    """A manual-switch-only pair keeps failing pings on a dead active node and never switches by itself."""
    async with local_pair(manual_only=True) as pair:
        await pair.runtime.fail("primary", "kill")
        await pair.runtime.wait_until(lambda: pair.runtime.status()["failures"] >= 5, 3.0)
        status = pair.runtime.status()
        assert (status["active"], status["watch"], status["isManualSwitchOnly"]) == ("primary", "retrying", True)
        assert status["state"] == "upgradeHigherManual"
        assert pair.events("promote") == []
        assert pair.backup.role is Role.BACKUP
        await pair.runtime.manual_switchover()  # the button still works ("The Switchover Control Panel")
        await pair.promoted()
        assert pair.backup.role is Role.ACTIVE


# -- recovery ---------------------------------------------------------------------------------------------


async def test_recovery_in_effect_backup_continues_the_mirrored_interactions() -> None:
    """With recovery in effect the new active node holds what was mirrored and the next MO joins it."""
    async with local_pair(recovery=True) as pair:
        assert [await mo(pair.primary, text, f"m{i}") for i, text in enumerate(["hi", "there"])] == [200, 200]
        before = transcripts(pair.primary)
        await pair.runtime.fail("primary", "kill")
        promote = await pair.promoted()
        assert (promote["recovery"], promote["recovered"]) == (True, 1)
        assert transcripts(pair.backup) == before
        assert await mo(pair.backup, "still me", "m2") == 200
        (interaction_id, texts), = transcripts(pair.backup).items()
        assert (interaction_id, texts) == (next(iter(before)), ["hi", "there", "still me"])


async def test_recovery_not_in_effect_backup_starts_empty() -> None:
    """Without recovery the new active node has no interaction and the next MO starts a new one."""
    async with local_pair(recovery=False) as pair:
        assert await mo(pair.primary, "hi", "m0") == 200
        (old_id,) = transcripts(pair.primary)
        await pair.runtime.fail("primary", "kill")
        promote = await pair.promoted()
        assert (promote["recovery"], promote["recovered"]) == (False, 0)
        assert transcripts(pair.backup) == {}
        assert await mo(pair.backup, "hello again", "m1") == 200
        (new_id, texts), = transcripts(pair.backup).items()
        assert new_id != old_id
        assert texts == ["hello again"]


async def test_recovery_parameter_takes_effect_after_both_restarts() -> None:
    """Setting the parameter at run time waits for the WebProcessor restart and the backup's restart."""
    async with local_pair(recovery=False) as pair:
        runtime = pair.runtime
        runtime.set_recovery_parameter(True)
        runtime.restart_webprocessor()
        assert runtime.status()["recovery"]["configured"] is True
        assert runtime.status()["recovery"]["effective"] is False
        await runtime.fail("backup", "kill")
        await runtime.restore("backup")  # the backup's restore counts as its restart
        assert runtime.status()["recovery"] == {"configured": True, "effective": True,
                                                "webprocessor_restarted": True, "backup_restarted": True}
        assert await mo(pair.primary, "hi", "m0") == 200
        await runtime.fail("primary", "kill")
        assert (await pair.promoted())["recovered"] == 1
        assert [e["change"] for e in pair.events("recovery")] == [
            "parameter-set", "webprocessor-restarted", "backup-restarted"]


# -- NetTest, manual switchover, restore ------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("how", ["unreachable address", "isolate fault"])
async def test_nettest_failure_means_no_switch_and_replication_stopped(how: str) -> None:
    """When the NetTest fails the backup stays backup, the active node stays, and mirroring stops."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1] if how == "isolate fault" else closed_port()
    try:
        async with local_pair(nettest=f"127.0.0.1:{port}") as pair:
            if how == "isolate fault":
                await pair.runtime.fail("backup", "isolate")
            assert pair.primary.records.mirror_to is not None
            await pair.runtime.fail("primary", "kill")
            await pair.runtime.wait_until(lambda: pair.runtime.status()["watch"] == "isolated", 3.0)
            status = pair.runtime.status()
            assert (status["active"], status["replication"], status["isSwitchoverActive"]) == (
                "primary", False, False)
            assert [e["transition"] for e in pair.events("watch")][-1] == "nettest-failed"
            assert len(pair.events("stop-replication")) == 1
            assert pair.primary.records.mirror_to is None
            assert pair.backup.role is Role.BACKUP
            await asyncio.sleep(5 * pair.runtime.timers.takeover_time)  # nothing more happens while isolated
            assert pair.events("promote") == []
    finally:
        server.close()
        await server.wait_closed()


async def test_nettest_reachable_lets_the_backup_take_over() -> None:
    """With a NetTest address that accepts connections, a dead active node is replaced."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    try:
        async with local_pair(nettest=f"127.0.0.1:{server.sockets[0].getsockname()[1]}") as pair:
            await pair.runtime.fail("primary", "kill")
            await pair.promoted()
            assert pair.events("watch")[-2]["nettest"].startswith("127.0.0.1:")
    finally:
        server.close()
        await server.wait_closed()


async def test_restore_of_the_isolated_backup_restarts_it_and_replication() -> None:
    """Restoring the isolated backup is its restart: monitoring again, a full sync, mirroring back on."""
    async with local_pair() as pair:
        await pair.runtime.fail("backup", "isolate")
        await pair.runtime.fail("primary", "hang")
        await pair.runtime.wait_until(lambda: pair.runtime.status()["watch"] == "isolated", 3.0)
        await pair.runtime.restore("primary")
        await pair.runtime.restore("backup")
        await pair.monitoring()
        assert pair.runtime.status()["replication"] is True
        assert pair.primary.records.mirror_to is not None
        assert pair.events("watch")[-1]["transition"] == "backup-restarted"
        assert pair.events("full-sync")[-1]["target"] == "backup"


async def test_manual_switchover_old_active_becomes_the_backup() -> None:
    """A manual switchover makes the backup active and the healthy old active its backup, fully synced."""
    async with local_pair() as pair:
        assert await mo(pair.primary, "hi", "m0") == 200
        await pair.runtime.manual_switchover(wait=3.0)
        assert (pair.primary.role, pair.backup.role) == (Role.BACKUP, Role.ACTIVE)
        status = pair.runtime.status()
        assert (status["active"], status["backup"], status["watch"]) == ("backup", "primary", "monitoring")
        transitions = [e["transition"] for e in pair.events("watch")]
        assert transitions[-3:] == ["manual-switchover", "takeover-done", "peer-restored"]
        assert pair.events("promote")[-1]["manual"] is True
        assert pair.events("full-sync")[-1] == {**pair.events("full-sync")[-1], "source": "backup",
                                                "target": "primary", "records": 1}
        assert (pair.backup.records.mirror_to is not None, pair.primary.records.mirror_to) == (True, None)
        assert await mo(pair.backup, "after", "m1") == 200  # mirrored back to the primary: switch again
        await pair.runtime.manual_switchover(wait=3.0)
        assert list(transcripts(pair.primary).values()) == [["hi", "after"]]


async def test_restore_killed_node_comes_back_as_backup_with_a_full_sync() -> None:
    """A killed, replaced node comes back as the backup with everything the new active node has."""
    async with local_pair() as pair:
        assert await mo(pair.primary, "one", "m0") == 200
        await pair.runtime.fail("primary", "kill")
        await pair.promoted()
        assert await mo(pair.backup, "two", "m1") == 200
        await pair.runtime.restore("primary")
        await pair.monitoring()
        assert (pair.primary.role, pair.backup.role) == (Role.BACKUP, Role.ACTIVE)
        assert pair.events("full-sync")[-1]["records"] == 1
        assert pair.runtime.status()["roles"] == {"primary": "backup", "backup": "active"}
        expected = transcripts(pair.backup)
        await pair.runtime.fail("backup", "kill")  # the restored node now holds what was synced
        await pair.promoted(2)
        assert transcripts(pair.primary) == expected


async def test_killed_backup_stops_mirroring_and_pauses_the_watch() -> None:
    """A dead backup gets no mirror writes and watches nothing; its restore resyncs it."""
    async with local_pair() as pair:
        await pair.runtime.fail("backup", "kill")
        assert pair.primary.records.mirror_to is None
        assert await mo(pair.primary, "while alone", "m0") == 200
        watched = len(pair.events("watch"))
        await asyncio.sleep(10 * pair.runtime.timers.ping_interval)
        assert len(pair.events("watch")) == watched
        await pair.runtime.restore("backup")
        await pair.monitoring()
        assert pair.primary.records.mirror_to is not None
        assert pair.events("full-sync")[-1]["records"] == 1


async def test_hung_backup_is_not_mirrored_to_and_is_resynced_when_it_resumes() -> None:
    """The active node does not wait on a hung backup; the backup's restore brings a full sync."""
    async with local_pair() as pair:
        await pair.runtime.fail("backup", "hang")
        assert pair.primary.records.mirror_to is None
        assert await mo(pair.primary, "while hung", "m0") == 200
        await pair.runtime.restore("backup")
        assert pair.primary.records.mirror_to is not None
        assert pair.events("full-sync")[-1]["records"] == 1
        assert pair.runtime.status()["watch"] in ("monitoring", "retrying")


async def test_bad_requests_are_refused_with_their_status() -> None:
    """Unknown nodes, unknown modes, a second fault and an impossible switchover are refused clearly."""
    async with local_pair() as pair:
        runtime = pair.runtime
        cases = [(runtime.fail("tertiary", "kill"), 404), (runtime.fail("primary", "melt"), 400)]
        for call, status in cases:
            with pytest.raises(InputError) as caught:
                await call
            assert caught.value.status == status
        await runtime.fail("backup", "kill")
        with pytest.raises(InputError, match="restore it first") as second:
            await runtime.fail("backup", "hang")
        with pytest.raises(InputError, match="no live backup") as switch:
            await runtime.manual_switchover()
        assert (second.value.status, switch.value.status) == (409, 409)
        await runtime.restore("primary")  # nothing to restore: no change
        assert runtime.status()["faults"] == {"backup": "kill"}
        await runtime.reset()
        assert runtime.status()["faults"] == {}


async def test_status_is_shaped_like_icws_switchover_status() -> None:
    """status() carries the ICWS switchover-status fields and the lab's own view."""
    async with local_pair(recovery=False) as pair:
        status = pair.runtime.status()
        assert status == {
            "isSwitchoverActive": True, "primaryHost": "primary", "backupHost": "backup",
            "isBackupICStarting": False, "isBackupICStopping": False, "isManualSwitchOnly": False,
            "state": "active", "subsystemsDown": [], "active": "primary", "backup": "backup",
            "watch": "monitoring", "failures": 0, "replication": True,
            "recovery": {"configured": False, "effective": False, "webprocessor_restarted": True,
                         "backup_restarted": True},
            "roles": {"primary": "active", "backup": "backup"}, "faults": {},
            "timers": {"ts_timeout": 0.1, "retry_delay": 0.01, "max_failures": 2, "nettest_timeout": 0.01,
                       "takeover_time": 0.05, "ping_interval": 0.01},
            "time_scale": SCALE, "nettest": ""}
