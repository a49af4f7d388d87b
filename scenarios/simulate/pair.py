"""The CIC pair offline: two nodes, each with its own SMS core, and the switchover table's commands on SimPy.

Theory of operation. The transition table is ``sim.core.switchover.SwitchoverPair``, the same the live pair
drives (``sim.cic.pair_engine``); this module is its shell in virtual time, carrying out each command the
table returns the way the live shell does (``sim.cic.backup_watch``, ``sim.cic.pair``):

- ``ping`` after ``after`` seconds: PING_OK at once from a live, unhung active node; PING_FAILED at once
  from a killed one (nothing listens), and after ``ts_timeout`` from a hung one (the TsServer hears nothing);
  a partition cuts the SMS listener from the proxy, not the pair's own link, so pings pass. A backup that is
  killed or hung watches nothing: its pending ping waits until it is restored;
- ``nettest``: NETTEST_FAILED when the backup is isolated, else NETTEST_OK;
- ``start-subsystems``: TAKEOVER_DONE after ``takeover_time``;
- ``promote``: the roles have changed in the table; the new active node recovers the mirrored interactions
  when SMS Interaction Recovery is in effect, else starts with an empty core; the old one rejoins as the
  backup (PEER_RESTORED) when it still answers, as after a manual switchover;
- ``full-sync``: the backup's mirror becomes the active node's records.

Each event starts a new generation; an outcome from an older one is dropped, as in the live watch. The
active node mirrors every acknowledged MO to a live backup while replication is on, before the broker gets
its answer (SMS Technical Reference, "Recovery of SMS Interactions in Switchover"), so a node's records are
the set of broker message ids it holds; ``unrecovered`` counts those a switchover did not carry over.
Timers are the pair's own, unscaled: the model's seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from sim.cic.pair_settings import PairSettings
from sim.cic.settings import BackupAnswer, NodeSettings
from sim.core.protocol import SmsCore
from sim.core.switchover import (
    TRANSITIONS,
    Command,
    Event,
    Recovery,
    RecoveryEvent,
    Server,
    SwitchoverPair,
    Watch,
)

__all__ = ["SimNode", "SimPair"]

CoreMaker = Callable[[], SmsCore]


class SimNode:
    """One CIC node offline: its settings, its core, its fault, and the MOs it holds and mirrors.

    Args:
        name: ``primary`` or ``backup``.
        server: its switchover server (A or B).
        settings: the node's settings (its health answer, its backup answer, the slow fault's delay).
        make_core: a new SMS core, empty.
    """

    def __init__(self, name: str, server: Server, settings: NodeSettings, make_core: CoreMaker) -> None:
        self.name, self.server, self.settings = name, server, settings
        self.make_core = make_core
        self.core = make_core()
        self.down = False
        self.fault = ""  # hang, slow, partition, isolate, or "" for none
        self.held: set[str] = set()  # broker message ids of the MOs it stores
        self.mirror: set[str] = set()  # what the active node mirrored to it

    def answer(self, active: bool) -> tuple[str, float]:
        """What the node does with an SMS request: ``serve``, ``reset``, ``hang`` or a status, and the delay.

        The same gate as the live node's (``sim.cic.node``): down or partitioned: the connection is reset;
        hung: no answer; the backup: its ``backup_answer``; the slow fault adds ``slow_delay``.
        """
        if self.down or self.fault == "partition":
            return "reset", 0.0
        if self.fault == "hang":
            return "hang", 0.0
        if not active:
            backup = self.settings.backup_answer
            if backup is BackupAnswer.REFUSE:
                return "reset", 0.0
            return ("hang", 0.0) if backup is BackupAnswer.HANG else (backup.value, 0.0)
        return "serve", self.settings.slow_delay if self.fault == "slow" else 0.0

    @property
    def dead(self) -> bool:
        """Killed or hung: it neither watches nor answers its peer."""
        return self.down or self.fault == "hang"


class SimPair:
    """The switchover pair's shell in virtual time (see the module docstring).

    Args:
        env: the run's environment.
        primary: the node that starts active (Switchover A).
        backup: the node that starts as the backup (Switchover B).
        settings: the pair's settings (timers unscaled).
        note: called with each step for the run's timeline: ``(time, what, fields)``.
    """

    def __init__(self, env: simpy.Environment, primary: SimNode, backup: SimNode, settings: PairSettings,
                 note: Callable[[float, str, dict[str, Any]], None]) -> None:
        self.env = env
        self.nodes = {Server.A: primary, Server.B: backup}
        self.timers = settings.timers
        self.table = SwitchoverPair(settings.timers, manual_only=settings.manual_only)
        self.recovery = Recovery.at_start(settings.recovery)
        self.note = note
        self.generation = 0
        self.parked: Command | None = None
        self.manual = False
        self.fault_at: float | None = None
        self.takeovers: list[float] = []  # from a fault on the active node (or the button) to promotion, s
        self.promotions = 0
        self.unrecovered = 0

    @property
    def active(self) -> SimNode:
        """The node the table says is active."""
        return self.nodes[self.table.active]

    @property
    def other(self) -> SimNode:
        """The other node (the backup, or down)."""
        return self.nodes[self.table.active.other]

    def is_active(self, node: SimNode) -> bool:
        """Whether ``node`` holds the active role and is up."""
        return node is self.active and not node.down

    def start(self) -> None:
        """Start the backup's watch: its first ping."""
        self._carry_out(Command("ping", after=self.timers.ping_interval, timeout=self.timers.ts_timeout))

    # -- what the lab does to it ---------------------------------------------------------------------

    def fail(self, node: SimNode, mode: str) -> None:
        """A fault on a node: kill, hang, slow, partition, or isolate (its NetTest fails)."""
        if node.down or node.fault:
            self.note(self.env.now, "fault-ignored", {"node": node.name, "mode": mode,
                                                      "reason": "the node already has a fault or is down"})
            return
        if mode == "kill":
            node.down = True
        else:
            node.fault = mode
        if node is self.active and mode in ("kill", "hang") and self.fault_at is None:
            self.fault_at = self.env.now
        self.note(self.env.now, "fault", {"node": node.name, "mode": mode})

    def restore(self, node: SimNode) -> None:
        """Undo a node's fault; a node that was down comes back as the backup (PEER_RESTORED, a full sync)."""
        mode, was_down = ("kill" if node.down else node.fault), node.down
        if not mode:
            return
        node.down, node.fault = False, ""
        self.note(self.env.now, "restore", {"node": node.name, "fault": mode})
        if node is self.active and not self.manual:
            self.fault_at = None  # restored before any takeover: it keeps the role
        elif was_down and self._can(Event.PEER_RESTORED):
            self.recovery.handle(RecoveryEvent.BACKUP_RESTARTED)
            self._dispatch(Event.PEER_RESTORED)
        elif mode in ("kill", "isolate") and self._can(Event.BACKUP_RESTARTED):
            self.recovery.handle(RecoveryEvent.BACKUP_RESTARTED)
            self._dispatch(Event.BACKUP_RESTARTED)
        elif mode == "hang" and self.table.replication:
            self._full_sync()
        if self.parked is not None and not self.other.dead:
            command, self.parked = self.parked, None
            self._ping(self.generation, command)

    def switchover(self) -> bool:
        """The Switchover Control Panel's button; False when the pair cannot switch now (no live backup)."""
        if self.other.dead or not self._can(Event.MANUAL_SWITCHOVER):
            self.note(self.env.now, "switchover-refused", {"watch": self.table.watch.value})
            return False
        self.manual = True
        self.fault_at = self.env.now
        self._dispatch(Event.MANUAL_SWITCHOVER)
        return True

    def stored(self, node: SimNode, message_id: str) -> None:
        """The active node stored an MO: mirrored to a live backup while replication is on."""
        node.held.add(message_id)
        backup = self.other
        mirroring = self.table.backup is not None and self.table.replication and not backup.dead
        if node is self.active and mirroring:
            backup.mirror.add(message_id)

    # -- the table and its commands -------------------------------------------------------------------

    def _can(self, event: Event) -> bool:
        return (self.table.watch, event) in TRANSITIONS

    def _dispatch(self, event: Event) -> None:
        before = self.table.watch
        commands = self.table.handle(event, self.env.now)
        del self.table.history[:-100]
        self.generation += 1
        self.parked = None
        if before is not self.table.watch:
            self.note(self.env.now, "watch", {"transition": event.value, "from": before.value,
                                              "to": self.table.watch.value})
        for command in commands:
            self._carry_out(command)

    def _later(self, delay: float, then: Callable[[], None]) -> None:
        self.env.timeout(delay).callbacks.append(lambda _e: then())

    def _carry_out(self, command: Command) -> None:
        generation = self.generation
        if command.kind == "ping":
            self._later(command.after, lambda: self._ping(generation, command))
        elif command.kind == "nettest":
            failed = self.other.fault == "isolate"
            self._outcome(generation, Event.NETTEST_FAILED if failed else Event.NETTEST_OK)
        elif command.kind == "start-subsystems":
            self._later(command.timeout, lambda: self._outcome(generation, Event.TAKEOVER_DONE))
        elif command.kind == "promote":
            self._promote()
        elif command.kind == "full-sync":
            self._full_sync()
        else:  # stop-replication: the table turned replication off
            self.note(self.env.now, "stop-replication", {"backup": self.other.name})

    def _ping(self, generation: int, command: Command) -> None:
        if generation != self.generation:
            return
        if self.other.dead:  # a killed or hung backup watches nothing: the ping waits for its restore
            self.parked = command
            return
        target = self.active
        if target.down:
            self._outcome(generation, Event.PING_FAILED)
        elif target.fault == "hang":
            self._later(command.timeout, lambda: self._outcome(
                generation, Event.PING_FAILED if self.active.dead else Event.PING_OK))
        else:
            self._outcome(generation, Event.PING_OK)

    def _outcome(self, generation: int, event: Event) -> None:
        if generation == self.generation:
            self._dispatch(event)

    def _promote(self) -> None:
        new, old = self.active, self.other  # TAKEOVER_DONE has swapped the roles in the table
        manual, self.manual = self.manual, False
        rejoins = manual or not (old.down or old.fault)
        if not rejoins:
            old.down = True  # a node that does not answer leaves the active role as down
        effective = self.recovery.effective
        lost = len(old.held - new.mirror) if effective else len(old.held)
        if effective:
            snapshot = old.core.snapshot()
            new.core = new.make_core()
            new.core.restore(snapshot)
            new.held = set(new.mirror)
        else:
            new.core, new.held = new.make_core(), set()
        self.unrecovered += lost
        self.promotions += 1
        if self.fault_at is not None:
            self.takeovers.append(self.env.now - self.fault_at)
            self.fault_at = None
        self.note(self.env.now, "promote", {"active": new.name, "previous": old.name, "manual": manual,
                                            "recovery": effective, "unrecovered": lost})
        if rejoins:
            if not old.fault:
                old.down = False
            self._dispatch(Event.PEER_RESTORED)

    def _full_sync(self) -> None:
        if self.table.backup is None or self.other.dead:
            return
        self.other.mirror = set(self.active.held)
        self.note(self.env.now, "full-sync", {"target": self.other.name, "records": len(self.other.mirror)})

    @property
    def watch(self) -> Watch:
        """The backup's watch state."""
        return self.table.watch
