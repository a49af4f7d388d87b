"""The pair's engine: events into the transition table of ``sim.core.switchover``, its commands carried out.

Theory of operation. ``SwitchoverPair`` (sans-IO) decides; ``PairEngine`` carries out its commands on the
two ``NodeHandle``s and feeds the outcomes back as events, with the timeline's clock (``sim.cic.timeline``).
The timed commands (``ping``, ``nettest``, ``start-subsystems``) run in the backup's watch
(``sim.cic.backup_watch``); the engine carries out the others itself:

- ``promote``: the new active node recovers the mirrored interactions when SMS Interaction Recovery is in
  effect, or starts a fresh core when not (SMS Technical Reference, "Recovery of SMS Interactions in
  Switchover"), then takes the ACTIVE role; the old one goes DOWN first, so no two nodes are ever active;
- ``full-sync``: every record of the active node into the backup's mirror; ``stop-replication``.

While replication is on and the backup is alive, the active node mirrors every change to it (``set_peer``).

A manual switchover is MANUAL_SWITCHOVER -> TAKING_OVER -> TAKEOVER_DONE (-> NO_BACKUP) as in the table;
the old active node is healthy, so it takes the BACKUP role and PEER_RESTORED follows at once (full sync,
monitoring again). The same happens after an automatic takeover when the old node answers again by then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import asdict
from typing import Any

from sim.cic.backup_watch import BackupWatch, ping_once
from sim.cic.handles import NodeHandle
from sim.cic.pair_settings import PairSettings
from sim.cic.roles import Role
from sim.cic.timeline import TIMELINE_LIMIT, Timeline
from sim.core.errors import InputError
from sim.core.switchover import Command, Event, Recovery, Server, SwitchoverPair

__all__ = ["DEAD", "PairEngine"]

DEAD = ("kill", "hang")
"""Faults under which a node neither answers nor watches."""


class PairEngine:
    """Applies events to a pair's transition table and carries out the commands it returns.

    The caller holds ``lock`` around ``dispatch`` and every other change it makes to the pair, and keeps
    ``faults`` (node name -> fault mode) up to date.

    Args:
        handles: the node of each server (Switchover A starts active).
        settings: the pair's settings.
        timeline: where each step is noted; its clock is the table's.
    """

    def __init__(self, handles: Mapping[Server, NodeHandle], settings: PairSettings,
                 timeline: Timeline) -> None:
        self.handles = dict(handles)
        self.settings = settings
        self.timers = settings.scaled
        self.pair = SwitchoverPair(self.timers, Server.A, settings.manual_only)
        self.recovery = Recovery.at_start(settings.recovery)
        self.faults: dict[str, str] = {}
        self.timeline = timeline
        self.lock = asyncio.Lock()
        self.running = False
        self._watch = BackupWatch(self._outcome, lambda message: timeline.note("error", message=message))
        self._peers: dict[str, str | None] = {}
        self._manual = False

    @property
    def active(self) -> NodeHandle:
        """The node holding the ACTIVE role in the table."""
        return self.handles[self.pair.active]

    @property
    def other(self) -> NodeHandle:
        """The other node: the backup, or the one that is down."""
        return self.handles[self.pair.active.other]

    def dead(self, name: str) -> bool:
        """Whether ``name`` is killed or hung (it neither answers nor watches)."""
        return self.faults.get(name) in DEAD

    # -- life cycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Give the nodes their roles, start mirroring and the backup's watch."""
        self.running = True
        async with self.lock:
            active, other = self.active, self.other
            await active.set_role(Role.ACTIVE)
            await other.set_role(Role.BACKUP)
            self.timeline.note("start", active=active.name, backup=other.name, timers=asdict(self.timers),
                               recovery=self.recovery.effective, manual_only=self.settings.manual_only)
            self.refresh_watcher()
            await self.reconcile()
            self._watch.next_generation()
            t = self.timers
            await self._carry_out(Command("ping", after=t.ping_interval, timeout=t.ts_timeout))

    async def stop(self) -> None:
        """Stop the watch (the nodes stay as they are; their owner stops them); a late outcome is dropped."""
        self.running = False
        self._watch.next_generation()
        await self._watch.stop()
        self.timeline.note("stop")

    # -- the table and its commands ----------------------------------------------------------------------

    async def dispatch(self, event: Event, **fields: Any) -> None:
        """Apply ``event`` (the lock is held) and carry out the commands it returns."""
        pair = self.pair
        before = pair.watch
        commands = pair.handle(event, self.timeline.now())
        del pair.history[:-TIMELINE_LIMIT]
        self._watch.next_generation()
        self._watch.cancel()
        if event is not Event.PING_OK or before is not pair.watch:
            moved = {"from": before.value, "to": pair.watch.value}
            self.timeline.note("watch", transition=event.value, **moved, failures=pair.failures, **fields)
        self.refresh_watcher()
        await self.reconcile()
        for command in commands:
            await self._carry_out(command)

    async def manual_switchover(self) -> None:
        """Start a switchover by hand (the lock is held); the old active node will rejoin as the backup."""
        self._manual = True
        await self.dispatch(Event.MANUAL_SWITCHOVER)

    async def _carry_out(self, command: Command) -> None:
        watch = self._watch
        if command.kind == "ping":
            watch.schedule(lambda: watch.ping(command, lambda: self.active))
        elif command.kind == "nettest":
            watch.schedule(lambda: watch.nettest(command, self.settings.nettest, self._backup_isolated))
        elif command.kind == "start-subsystems":
            watch.schedule(lambda: watch.takeover(command))
        elif command.kind == "promote":
            await self._promote()
        elif command.kind == "full-sync":
            await self.full_sync()
        else:  # stop-replication: the table has turned replication off; the active node stops mirroring
            self.timeline.note("stop-replication", backup=self.other.name)
            await self.reconcile()

    def _backup_isolated(self) -> bool:
        return self.faults.get(self.other.name) == "isolate"

    async def _outcome(self, generation: int, event: Event, fields: dict[str, Any]) -> None:
        """A timed command's outcome, applied unless a newer event (or ``stop``) has made it stale."""
        async with self.lock:
            if generation == self._watch.generation and self.running:
                await self.dispatch(event, **fields)

    async def _promote(self) -> None:
        new, old = self.active, self.other  # TAKEOVER_DONE has swapped the roles in the table
        manual, self._manual = self._manual, False
        await self._set_peer(old, None)
        await self._set_peer(new, None)
        rejoins = manual or (old.name not in self.faults
                             and await ping_once(old, self.timers.nettest_timeout))
        await self._safely(old.set_role(Role.BACKUP if rejoins else Role.DOWN), f"{old.name}: leave ACTIVE")
        effective = self.recovery.effective
        recovered = await self._safely(new.recover() if effective else new.reset_core(), f"{new.name}: core")
        await new.set_role(Role.ACTIVE)
        self.timeline.note("promote", active=new.name, previous=old.name, manual=manual, recovery=effective,
                           recovered=recovered if effective else 0)
        if rejoins:
            await self.dispatch(Event.PEER_RESTORED, node=old.name)

    async def full_sync(self) -> None:
        """Copy every record of the active node into the backup's mirror (unless there is no live backup)."""
        source, target = self.active, self.other
        if self.pair.backup is None or self.dead(target.name):
            return
        count = await self._safely(target.full_sync_from(source), f"full sync to {target.name}")
        self.timeline.note("full-sync", source=source.name, target=target.name, records=count)

    async def _safely(self, work: Coroutine[Any, Any, Any], what: str) -> Any:
        """Await ``work``; a failure goes on the timeline instead of stopping the pair halfway."""
        try:
            return await work
        except (InputError, OSError) as exc:
            self.timeline.note("error", message=f"{what}: {exc}")
            return None

    # -- the watch and the mirroring -----------------------------------------------------------------------

    def refresh_watcher(self) -> None:
        """Let the backup's watch go on, or hold it while the backup is killed or hung."""
        self._watch.watching(not self.dead(self.other.name))

    async def reconcile(self) -> None:
        """Point the active node's mirroring at the backup while replication is on and the backup lives."""
        backup = self.other
        # Not to a hung backup either: every change would wait for the mirror's timeout on the active node.
        alive = self.pair.backup is not None and not self.dead(backup.name)
        await self._set_peer(self.active, backup if alive and self.pair.replication else None)
        await self._set_peer(backup, None)

    def forget_peer(self, name: str) -> None:
        """Forget where ``name`` was told to mirror (a killed or restarted node has lost it)."""
        self._peers.pop(name, None)

    async def _set_peer(self, handle: NodeHandle, peer: NodeHandle | None) -> None:
        want = peer.name if peer is not None else None
        if handle.name in self._peers and self._peers[handle.name] == want:
            return
        await self._safely(handle.set_peer(peer), f"{handle.name}: mirror to {want}")
        self._peers[handle.name] = want
