"""Tests of sim.cic.pair_engine over handles that answer at once: the table's commands, carried out in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from nodekit import Clock

from sim.cic.handles import NodeHandle
from sim.cic.pair_engine import PairEngine
from sim.cic.pair_settings import PairSettings
from sim.cic.roles import Role
from sim.cic.timeline import Timeline
from sim.core.switchover import Event, Server


class Handle:
    """A node handle that answers at once and records what the engine asked of it."""

    def __init__(self, name: str, calls: list[tuple[str, ...]]) -> None:
        self.name, self.control_url, self.calls = name, f"http://{name}.invalid", calls

    async def ping(self, timeout: float) -> bool:
        self.calls.append((self.name, "ping"))
        return True

    async def set_role(self, role: Role) -> None:
        self.calls.append((self.name, "role", role.value))

    async def set_peer(self, peer: NodeHandle | None) -> None:
        self.calls.append((self.name, "peer", peer.name if peer is not None else "-"))

    async def records(self) -> list[dict[str, Any]]:
        return []

    async def accept(self, records: list[dict[str, Any]]) -> int:
        return len(records)

    async def full_sync_from(self, source: NodeHandle) -> int:
        self.calls.append((self.name, "full-sync-from", source.name))
        return 3

    async def recover(self) -> int:
        self.calls.append((self.name, "recover"))
        return 2

    async def reset_core(self) -> None:
        self.calls.append((self.name, "reset-core"))

    async def fail(self, mode: str) -> None:
        self.calls.append((self.name, "fail", mode))

    async def restore(self) -> None:
        self.calls.append((self.name, "restore"))

    async def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    async def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
async def engine() -> AsyncIterator[PairEngine]:
    """A started engine over two recording handles (unscaled timers: no timed step fires in a test)."""
    calls: list[tuple[str, ...]] = []
    made = PairEngine({Server.A: Handle("primary", calls), Server.B: Handle("backup", calls)},
                      PairSettings(recovery=True), Timeline(Clock()))
    await made.start()
    yield made
    await made.stop()


def calls_of(engine: PairEngine) -> list[tuple[str, ...]]:
    """What the handles were asked, in order (both share one list)."""
    handle = engine.handles[Server.A]
    assert isinstance(handle, Handle)
    return handle.calls


async def test_start_gives_the_roles_and_points_the_mirror_at_the_backup(engine: PairEngine) -> None:
    """Start: A active, B backup, A mirrors to B and B to nobody; the start is on the timeline."""
    assert [("primary", "role", "active"), ("backup", "role", "backup"), ("primary", "peer", "backup"),
            ("backup", "peer", "-")] == calls_of(engine)
    assert ["start"] == [e["event"] for e in engine.timeline.entries]


async def test_a_ping_ok_that_changes_nothing_is_not_on_the_timeline(engine: PairEngine) -> None:
    """PING_OK in MONITORING leaves no entry; a failed ping is noted with the move it made."""
    async with engine.lock:
        await engine.dispatch(Event.PING_OK)
        await engine.dispatch(Event.PING_FAILED)
    [watch] = [e for e in engine.timeline.entries if e["event"] == "watch"]
    assert ("ping-failed", "monitoring", "retrying", 1) == (
        watch["transition"], watch["from"], watch["to"], watch["failures"])


async def test_a_manual_switchover_promotes_with_recovery_and_the_old_node_rejoins(engine: PairEngine) -> None:
    """TAKEOVER_DONE after a manual switch: A stops mirroring and backs up, B recovers, goes active, syncs A."""
    del calls_of(engine)[:]
    async with engine.lock:
        await engine.manual_switchover()
        await engine.dispatch(Event.TAKEOVER_DONE)  # as the start-subsystems step would say
    assert [("primary", "peer", "-"), ("primary", "role", "backup"), ("backup", "recover"),
            ("backup", "role", "active"), ("backup", "peer", "primary"),
            ("primary", "full-sync-from", "backup")] == calls_of(engine)  # no ping: a manual switch rejoins
    [promote] = [e for e in engine.timeline.entries if e["event"] == "promote"]
    assert ("backup", "primary", True, True, 2) == (
        promote["active"], promote["previous"], promote["manual"], promote["recovery"], promote["recovered"])
    assert ("backup", "monitoring") == (engine.active.name, engine.pair.watch.value)


async def test_a_dead_backup_gets_no_mirror_and_no_full_sync(engine: PairEngine) -> None:
    """With the backup killed the active node mirrors to nobody and a full sync copies nothing."""
    del calls_of(engine)[:]
    engine.faults["backup"] = "kill"
    async with engine.lock:
        engine.refresh_watcher()
        await engine.reconcile()
        await engine.full_sync()
    assert ([("primary", "peer", "-")], True) == (calls_of(engine), engine.dead("backup"))
    assert [] == [e for e in engine.timeline.entries if e["event"] == "full-sync"]
