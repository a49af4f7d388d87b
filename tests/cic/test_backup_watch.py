"""Tests of sim.cic.backup_watch: the timed steps, their generation, and a watch held while the backup is dead."""

from __future__ import annotations

import asyncio
from typing import Any

from sim.cic.backup_watch import BackupWatch, ping_once
from sim.core.switchover import Command, Event


class Pinged:
    """A handle whose TsServer answers ``answer`` after ``delay`` seconds."""

    def __init__(self, answer: bool = True, delay: float = 0.0) -> None:
        self.name, self.answer, self.delay, self.pings = "primary", answer, delay, 0

    async def ping(self, timeout: float) -> bool:
        """Count the ping, wait, answer."""
        self.pings += 1
        await asyncio.sleep(self.delay)
        return self.answer


class Outcomes:
    """What a watch reported: outcomes with their generation, and errors."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, Event, dict[str, Any]]] = []
        self.errors: list[str] = []
        self.arrived = asyncio.Event()

    async def outcome(self, generation: int, event: Event, fields: dict[str, Any]) -> None:
        """Keep one outcome."""
        self.seen.append((generation, event, fields))
        self.arrived.set()

    def error(self, message: str) -> None:
        """Keep one error."""
        self.errors.append(message)
        self.arrived.set()

    def watch(self) -> BackupWatch:
        """A watch reporting here, watching."""
        watch = BackupWatch(self.outcome, self.error)
        watch.watching(True)
        return watch


async def test_ping_once_is_false_when_the_answer_comes_too_late() -> None:
    """A TsServer that answers after the timeout counts as a failed ping; one in time as a success."""
    assert (False, True) == (await ping_once(Pinged(delay=1.0), 0.01), await ping_once(Pinged(), 0.5))


async def test_a_step_reports_its_event_with_the_generation_it_started_in() -> None:
    """The ping step's outcome carries the generation current when it was scheduled, not a later one."""
    got = Outcomes()
    watch = got.watch()
    watch.next_generation()
    watch.schedule(lambda: watch.ping(Command("ping", after=0.0, timeout=0.5), lambda: Pinged(answer=False)))
    watch.next_generation()
    await asyncio.wait_for(got.arrived.wait(), 1.0)
    assert ([(1, Event.PING_FAILED, {})], 2) == (got.seen, watch.generation)


async def test_the_steps_wait_while_the_backup_does_not_watch() -> None:
    """A held watch pings nobody; once watching again the pending ping goes out."""
    got, target = Outcomes(), Pinged()
    watch = got.watch()
    watch.watching(False)
    watch.schedule(lambda: watch.ping(Command("ping", after=0.0, timeout=0.5), lambda: target))
    await asyncio.sleep(0.05)
    assert (0, []) == (target.pings, got.seen)
    watch.watching(True)
    await asyncio.wait_for(got.arrived.wait(), 1.0)
    assert (1, [(0, Event.PING_OK, {})]) == (target.pings, got.seen)


async def test_the_nettest_step_fails_for_an_isolated_backup_and_names_the_address() -> None:
    """An isolated backup's NetTest runs into its timeout and fails; a reachable one ("") succeeds."""
    got = Outcomes()
    watch = got.watch()
    command = Command("nettest", timeout=0.01)
    isolated = await watch.nettest(command, "10.0.0.1:7", lambda: True)
    reachable = await watch.nettest(command, "", lambda: False)
    assert ((Event.NETTEST_FAILED, {"nettest": "10.0.0.1:7"}), (Event.NETTEST_OK, {"nettest": ""})) == (
        isolated, reachable)


async def test_the_takeover_step_ends_in_takeover_done() -> None:
    """start-subsystems waits its time, then says TAKEOVER_DONE."""
    assert (Event.TAKEOVER_DONE, {}) == await Outcomes().watch().takeover(Command("start-subsystems", timeout=0.01))


async def test_a_step_that_raises_is_reported_as_an_error() -> None:
    """The watch never dies silently: the exception's type and message go to ``on_error``."""
    got = Outcomes()
    watch = got.watch()

    async def broken() -> tuple[Event, dict[str, Any]]:
        raise ValueError("no such node")

    watch.schedule(broken)
    await asyncio.wait_for(got.arrived.wait(), 1.0)
    assert (["ValueError: no such node"], []) == (got.errors, got.seen)


async def test_stop_cancels_the_pending_step() -> None:
    """A step still waiting when the watch stops never reports."""
    got = Outcomes()
    watch = got.watch()
    watch.schedule(lambda: watch.takeover(Command("start-subsystems", timeout=10.0)))
    await watch.stop()
    assert ([], []) == (got.seen, got.errors)
