"""The switchover pair at run time: what the lab does to it, over the engine that drives its transition table.

``PairRuntime`` is the pair as the lab and the tests see it. It starts and stops the pair's engine
(``sim.cic.pair_engine``: the transition table of ``sim.core.switchover`` driven with asyncio, the theory of
operation is there), and turns each request into events of the table: a fault injected on a node
(``fail``), its restore (``restore``; a node that was down comes back as the backup, with a full sync), a
manual switchover (the Switchover Control Panel's button), and the changes SMS Interaction Recovery waits
for (its parameter, the WebProcessor's restart, the backup's restart). Every step goes on the timeline
(``sim.cic.timeline``); ``status()`` is shaped like ICWS ``switchover-status`` (``sim.cic.pair_status``).
The settings are read by ``sim.cic.pair_settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.cic.handles import NODE_FAULTS, NodeHandle
from sim.cic.pair_engine import PairEngine
from sim.cic.pair_settings import PairSettings
from sim.cic.pair_status import switchover_status
from sim.cic.roles import Role
from sim.cic.timeline import Timeline
from sim.core.errors import InputError
from sim.core.switchover import (
    TRANSITIONS,
    Event,
    Recovery,
    RecoveryEvent,
    Server,
    SwitchoverPair,
    Timers,
    Watch,
)

__all__ = ["FAULT_MODES", "PairRuntime"]

FAULT_MODES = (*NODE_FAULTS, "isolate")
"""Faults the pair accepts: the node faults, and ``isolate`` (the backup's NetTest fails)."""


class PairRuntime:
    """Runs a switchover pair: the backup's watch, takeover, recovery, faults and restores.

    Args:
        primary: the node that starts active (Switchover A).
        backup: the node that starts as the backup (Switchover B).
        settings: the pair's settings.
        clock: the timeline's clock; the event loop's by default.
    """

    def __init__(self, primary: NodeHandle, backup: NodeHandle, settings: PairSettings | None = None, *,
                 clock: Callable[[], float] | None = None) -> None:
        if primary.name == backup.name:
            raise InputError(f"the two nodes of a pair need different names (both are {primary.name!r})", 400)
        self._timeline = Timeline(clock)
        self._engine = PairEngine({Server.A: primary, Server.B: backup}, settings or PairSettings(),
                                  self._timeline)

    # -- the pair's state (the engine's) -----------------------------------------------------------------

    @property
    def settings(self) -> PairSettings:
        """The pair's settings."""
        return self._engine.settings

    @property
    def timers(self) -> Timers:
        """The timers in use: the settings' timers, scaled."""
        return self._engine.timers

    @property
    def handles(self) -> dict[Server, NodeHandle]:
        """The node of each server."""
        return self._engine.handles

    @property
    def pair(self) -> SwitchoverPair:
        """The transition table's state: roles, watch, failures, replication."""
        return self._engine.pair

    @property
    def recovery(self) -> Recovery:
        """SMS Interaction Recovery: configured, and in effect."""
        return self._engine.recovery

    @property
    def faults(self) -> dict[str, str]:
        """Node name -> the fault injected on it."""
        return self._engine.faults

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """What happened to the pair, oldest first (``sim.cic.timeline``)."""
        return self._timeline.entries

    def on_timeline(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each new timeline entry as it is noted (the lab's event stream)."""
        self._timeline.listeners.append(listener)

    # -- names and roles -------------------------------------------------------------------------------

    def _named(self, name: str) -> NodeHandle:
        for handle in self.handles.values():
            if handle.name == name:
                return handle
        names = ", ".join(h.name for h in self.handles.values())
        raise InputError(f"node must be one of {names} (got {name!r})", 404)

    def role_of(self, name: str) -> Role:
        """The role ``name`` holds in the pair: exactly one node is ACTIVE at every moment."""
        if self._named(name) is self._engine.active:
            return Role.ACTIVE
        return Role.BACKUP if self.pair.backup is not None else Role.DOWN

    def active_name(self) -> str | None:
        """The node holding the ACTIVE role, or ``None`` while that node is killed or hung."""
        name = self._engine.active.name
        return None if self._engine.dead(name) else name

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` holds, re-checking after each timeline entry.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds (the message shows the status).
        """
        await self._timeline.wait_until(predicate, timeout, self.status)

    # -- life cycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Give the nodes their roles, start mirroring and the backup's watch."""
        self._timeline.begin()
        await self._engine.start()

    async def stop(self) -> None:
        """Stop the watch (the nodes stay as they are; their owner stops them)."""
        await self._engine.stop()

    # -- what the lab does to the pair ---------------------------------------------------------------

    async def manual_switchover(self, *, wait: float = 0.0) -> None:
        """Switch the roles over by hand (the Switchover Control Panel's button).

        Args:
            wait: seconds to wait for the new active node and the old one back as its backup (0: return
                once the switch has started).

        Raises:
            InputError: 409 when no switch can start now (no live backup, or one already under way).
            TimeoutError: ``wait`` ran out first.
        """
        engine = self._engine
        async with engine.lock:
            self._require_running()
            backup = engine.other
            if self.pair.backup is None or engine.dead(backup.name):
                raise InputError(f"no live backup to switch over to ({backup.name} is down)", 409)
            if (self.pair.watch, Event.MANUAL_SWITCHOVER) not in TRANSITIONS:
                watch = self.pair.watch.value
                raise InputError(f"a switchover cannot start while the backup is {watch}", 409)
            await engine.manual_switchover()
        if wait > 0:
            await self.wait_until(lambda: engine.active is backup and self.pair.watch is Watch.MONITORING,
                                  wait)

    async def fail(self, name: str, mode: str) -> None:
        """Inject a fault on a node: kill, hang, slow, partition, crash-on-mo, or isolate (NetTest fails).

        Raises:
            InputError: 404 for an unknown node, 400 for an unknown mode, 409 when the node already has
                another fault or is already down.
        """
        engine = self._engine
        async with engine.lock:
            handle = self._named(name)
            if mode not in FAULT_MODES:
                raise InputError(f"fault mode must be one of {', '.join(FAULT_MODES)} (got {mode!r})", 400)
            current = self.faults.get(name)
            if current == mode:
                return
            if current is not None:
                raise InputError(f"node {name} already has the fault {current}; restore it first", 409)
            if mode == "kill" and self.role_of(name) is Role.DOWN:
                raise InputError(f"node {name} is already down; restore it first", 409)
            if mode != "isolate":
                await handle.fail(mode)
            self.faults[name] = mode
            if mode == "kill":
                engine.forget_peer(name)
            self._timeline.note("fault", node=name, mode=mode, role=self.role_of(name).value)
            engine.refresh_watcher()
            await engine.reconcile()

    async def restore(self, name: str) -> None:
        """Undo a node's fault; a node that is down comes back as the backup, with a full sync.

        The backup's restore after a kill or an isolation counts as its restart (BACKUP_RESTARTED: the
        NetTest guard's "until it is restarted", and the restart SMS Interaction Recovery waits for).

        Raises:
            InputError: 404 for an unknown node.
        """
        engine = self._engine
        async with engine.lock:
            handle = self._named(name)
            mode = self.faults.pop(name, None)
            down = self.role_of(name) is Role.DOWN
            if mode is None and not down:
                return
            if mode != "isolate":
                await handle.restore()
            engine.forget_peer(name)
            self._timeline.note("restore", node=name, fault=mode or "none", role=self.role_of(name).value)
            engine.refresh_watcher()
            await self._rejoin(handle, mode, down)

    async def _rejoin(self, handle: NodeHandle, mode: str | None, down: bool) -> None:
        engine = self._engine
        if handle is engine.active:  # restored before any takeover: it still holds the role
            await handle.set_role(Role.ACTIVE)
            await engine.reconcile()
            return
        await handle.set_role(Role.BACKUP)
        if down:
            self._record_backup_restart()
            await engine.dispatch(Event.PEER_RESTORED, node=handle.name)
        elif mode in ("kill", "isolate") and (self.pair.watch, Event.BACKUP_RESTARTED) in TRANSITIONS:
            self._record_backup_restart()
            await engine.dispatch(Event.BACKUP_RESTARTED, node=handle.name)
        else:
            await engine.reconcile()
            if mode == "hang" and self.pair.replication:
                await engine.full_sync()  # what was not mirrored while it hung

    async def reset(self) -> None:
        """Restore every faulted or down node (between tests); the roles stay where they are."""
        for handle in list(self.handles.values()):
            await self.restore(handle.name)

    # -- SMS Interaction Recovery ------------------------------------------------------------------------

    def set_recovery_parameter(self, enabled: bool) -> None:
        """Set ``SMS Interaction Recovery Enabled``; a change waits for both restarts to take effect."""
        self.recovery.handle(RecoveryEvent.PARAMETER_SET, enabled)
        self._note_recovery("parameter-set")

    def restart_webprocessor(self) -> None:
        """Record a restart of the WebProcessor subsystem on the active node."""
        self.recovery.handle(RecoveryEvent.WEBPROCESSOR_RESTARTED)
        self._note_recovery("webprocessor-restarted")

    async def restart_backup(self) -> None:
        """Record a restart of the backup server: recovery's second condition, and the end of an isolation.

        Raises:
            InputError: 409 when there is no backup, or it is in the middle of detection or takeover.
        """
        async with self._engine.lock:
            if self.pair.backup is None or (self.pair.watch, Event.BACKUP_RESTARTED) not in TRANSITIONS:
                raise InputError(f"the backup cannot restart while it is {self.pair.watch.value}", 409)
            self._record_backup_restart()
            await self._engine.dispatch(Event.BACKUP_RESTARTED, node=self._engine.other.name)

    def _record_backup_restart(self) -> None:
        self.recovery.handle(RecoveryEvent.BACKUP_RESTARTED)
        self._note_recovery("backup-restarted")

    def _note_recovery(self, what: str) -> None:
        self._timeline.note("recovery", change=what, configured=self.recovery.configured,
                            effective=self.recovery.effective)

    def _require_running(self) -> None:
        if not self._engine.running:
            raise InputError("the pair is not running", 409)

    # -- status --------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """ICWS ``switchover-status`` fields (the ICWS API reference), then the lab's own view of the pair."""
        names = {server: handle.name for server, handle in self.handles.items()}
        roles = {h.name: self.role_of(h.name).value for h in self.handles.values()}
        return switchover_status(self.pair, names, roles=roles, faults=self.faults, recovery=self.recovery,
                                 settings=self.settings, timers=self.timers)
