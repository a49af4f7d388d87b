"""The switchover pair at run time: the transition table of ``sim.core.switchover`` driven with asyncio.

Theory of operation. ``SwitchoverPair`` (sans-IO) decides; ``PairRuntime`` carries out its commands on the
two ``NodeHandle``s and feeds the outcomes back as events, with the loop's clock:

- ``ping``: after ``after`` seconds, the backup pings the active node's TsServer (``handle.ping``) within
  ``ts_timeout`` -> PING_OK or PING_FAILED (switchover.md §4.2);
- ``nettest``: a TCP connect to ``nettest`` (host:port; "" always answers) within ``nettest_timeout``
  -> NETTEST_OK or NETTEST_FAILED (§4.3); the ``isolate`` fault on the backup makes it fail;
- ``start-subsystems``: ``takeover_time`` seconds, then TAKEOVER_DONE;
- ``promote``: the new active node recovers the mirrored interactions when SMS Interaction Recovery is in
  effect, or starts a fresh core when not (seed, "Recovery of SMS Interactions in Switchover"), then takes
  the ACTIVE role; the old one goes DOWN first, so no two nodes are ever active;
- ``full-sync``: every record of the active node into the backup's mirror; ``stop-replication``.

While replication is on and the backup is alive, the active node mirrors every change to it (``set_peer``).
At most one timed command is pending; each event starts a new generation, and an outcome from an older one
is dropped. A backup that is killed or hung watches nothing: a pending command waits until it is back.

A manual switchover is MANUAL_SWITCHOVER -> TAKING_OVER -> TAKEOVER_DONE (-> NO_BACKUP) as in the table;
the old active node is healthy, so it takes the BACKUP role and PEER_RESTORED follows at once (full sync,
monitoring again). The same happens after an automatic takeover when the old node answers again by then.

Settings (lab file, section ``cic.switchover``; every key optional; durations in seconds as on a real server,
all multiplied by ``time_scale``)::

    cic:
      switchover:
        ts_timeout: 10        # Switchover TS Timeout (allowed 5-60, switchover.md §4.2)
        retry_delay: 1        # Switchover TS Failure Retry Delay
        max_failures: 2       # Switchover Max TS Failures (the count resets on success)
        nettest_timeout: 1    # Switchover NetTest Timeout (§4.3)
        takeover_time: 5      # GAP (§4.4 gives only "less than 30 seconds" for the whole switch)
        ping_interval: 1      # GAP: the pause between successful pings
        time_scale: 1.0       # e.g. 0.01 runs a 21 s detection in 0.21 s
        nettest: ""           # Switchover NetTest A/B address, host:port ("" = always reachable)
        manual_only: false    # the servers run different releases: no takeover on failure (§4.5)

``SMS Interaction Recovery Enabled`` comes from the server parameters; at start it is in effect when set.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.cic.handles import NODE_FAULTS, LocalNode, NodeHandle, RemoteNode
from sim.cic.node import Role
from sim.core.config import ServerParameters
from sim.core.errors import InputError
from sim.core.schema import Reader
from sim.core.switchover import (
    TRANSITIONS,
    Command,
    Event,
    Recovery,
    RecoveryEvent,
    Server,
    SwitchoverPair,
    Timers,
    Watch,
)

__all__ = [
    "FAULT_MODES",
    "LocalNode",
    "NodeHandle",
    "PairRuntime",
    "PairSettings",
    "RemoteNode",
    "read_pair_settings",
]

FAULT_MODES = (*NODE_FAULTS, "isolate")
"""Faults the pair accepts: the node faults, and ``isolate`` (the backup's NetTest fails)."""

Step = Callable[[], Coroutine[Any, Any, tuple[Event, dict[str, Any]]]]
"""A timed command: waits, acts, and says which event came of it."""
TIMELINE_LIMIT = 5000  # entries kept; pings that change nothing are not recorded at all
_DEAD = ("kill", "hang")  # faults under which a node neither answers nor watches
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\s]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class PairSettings:
    """The pair's settings (see the module docstring for each key).

    Attributes:
        timers: the switchover server parameters, unscaled.
        time_scale: the factor applied to every duration.
        nettest: the NetTest address, ``host:port``; "" = always reachable.
        manual_only: the backup never takes over on failure.
        recovery: ``SMS Interaction Recovery Enabled`` as configured.
    """

    timers: Timers = field(default_factory=Timers)
    time_scale: float = 1.0
    nettest: str = ""
    manual_only: bool = False
    recovery: bool = False

    @property
    def scaled(self) -> Timers:
        """The timers the runtime uses: every duration multiplied by ``time_scale``."""
        return self.timers.scaled(self.time_scale)


def read_pair_settings(r: Reader, server_parameters: ServerParameters) -> PairSettings:
    """Read the pair's settings; problems are recorded on ``r`` (the caller raises them).

    The caller also calls ``r.done()`` afterwards, so that a misspelt key is reported (once).

    Args:
        r: a reader of the ``cic.switchover`` mapping itself.
        server_parameters: the CIC server parameters (for ``SMS Interaction Recovery Enabled``).
    """
    timers = Timers(
        ts_timeout=r.number("ts_timeout", 10.0, minimum=5, maximum=60),
        retry_delay=r.number("retry_delay", 1.0, minimum=0, maximum=3600),
        max_failures=r.integer("max_failures", 2, minimum=1, maximum=1000),
        nettest_timeout=r.number("nettest_timeout", 1.0, minimum=0.001, maximum=3600),
        takeover_time=r.number("takeover_time", 5.0, minimum=0, maximum=3600),
        ping_interval=r.number("ping_interval", 1.0, minimum=0.001, maximum=3600),
    )
    scale = r.number("time_scale", 1.0, minimum=0.0001, maximum=1000)
    nettest = r.text("nettest", "")
    if nettest and not _split_host_port(nettest):
        r.problem("nettest", nettest, "must be host:port with a port of 1-65535, or empty")
    manual_only = r.boolean("manual_only", False)
    return PairSettings(timers, scale, nettest, manual_only, server_parameters.sms_interaction_recovery)


def _split_host_port(address: str) -> tuple[str, int] | None:
    match = _HOST_PORT.fullmatch(address.strip())
    if match is None or not 0 < int(match["port"]) <= 65535:
        return None
    return match["host"].strip("[]"), int(match["port"])


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
        self.settings = settings or PairSettings()
        self.timers = self.settings.scaled
        self.handles: dict[Server, NodeHandle] = {Server.A: primary, Server.B: backup}
        self.pair = SwitchoverPair(self.timers, Server.A, self.settings.manual_only)
        self.recovery = Recovery.at_start(self.settings.recovery)
        self.timeline: list[dict[str, Any]] = []
        self.faults: dict[str, str] = {}
        self._clock = clock
        self._t0 = 0.0
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._watcher_ok = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._generation = 0
        self._peers: dict[str, str | None] = {}
        self._manual = False
        self._running = False

    # -- names and roles -------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _named(self, name: str) -> NodeHandle:
        for handle in self.handles.values():
            if handle.name == name:
                return handle
        names = ", ".join(h.name for h in self.handles.values())
        raise InputError(f"node must be one of {names} (got {name!r})", 404)

    @property
    def _active(self) -> NodeHandle:
        return self.handles[self.pair.active]

    @property
    def _other(self) -> NodeHandle:
        return self.handles[self.pair.active.other]

    def role_of(self, name: str) -> Role:
        """The role ``name`` holds in the pair: exactly one node is ACTIVE at every moment."""
        if self._named(name) is self._active:
            return Role.ACTIVE
        return Role.BACKUP if self.pair.backup is not None else Role.DOWN

    def active_name(self) -> str | None:
        """The node holding the ACTIVE role, or ``None`` while that node is killed or hung."""
        name = self._active.name
        return None if self.faults.get(name) in _DEAD else name

    # -- timeline ----------------------------------------------------------------------------------------

    def _note(self, event: str, **fields: Any) -> None:
        now = self._now()
        self.timeline.append({"at": now, "t": round(now - self._t0, 6), "event": event, **fields})
        del self.timeline[:-TIMELINE_LIMIT]
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` holds, re-checking after each timeline entry.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds (the message shows the status).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the pair did not reach the condition in {timeout} s: {self.status()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    # -- life cycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Give the nodes their roles, start mirroring and the backup's watch."""
        self._t0 = self._now()
        self._running = True
        async with self._lock:
            await self._active.set_role(Role.ACTIVE)
            await self._other.set_role(Role.BACKUP)
            self._note("start", active=self._active.name, backup=self._other.name, timers=asdict(self.timers),
                       recovery=self.recovery.effective, manual_only=self.settings.manual_only)
            self._refresh_watcher()
            await self._reconcile()
            self._generation += 1
            t = self.timers
            await self._carry_out(Command("ping", after=t.ping_interval, timeout=t.ts_timeout))

    async def stop(self) -> None:
        """Stop the watch (the nodes stay as they are; their owner stops them)."""
        self._running = False
        self._generation += 1
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        self._note("stop")

    # -- the table and its commands ----------------------------------------------------------------------

    async def _dispatch(self, event: Event, **fields: Any) -> None:
        """Apply ``event`` (the lock is held) and carry out the commands it returns."""
        before = self.pair.watch
        commands = self.pair.handle(event, self._now())
        del self.pair.history[:-TIMELINE_LIMIT]
        self._generation += 1
        self._cancel_timer()
        if event is not Event.PING_OK or before is not self.pair.watch:
            self._note("watch", transition=event.value, **{"from": before.value, "to": self.pair.watch.value},
                       failures=self.pair.failures, **fields)
        self._refresh_watcher()
        await self._reconcile()
        for command in commands:
            await self._carry_out(command)

    async def _carry_out(self, command: Command) -> None:
        if command.kind == "ping":
            self._start_timer(lambda: self._ping(command))
        elif command.kind == "nettest":
            self._start_timer(lambda: self._nettest(command))
        elif command.kind == "start-subsystems":
            self._start_timer(lambda: self._takeover(command))
        elif command.kind == "promote":
            await self._promote()
        elif command.kind == "full-sync":
            await self._full_sync()
        else:  # stop-replication: the table has turned replication off; the active node stops mirroring
            self._note("stop-replication", backup=self._other.name)
            await self._reconcile()

    def _start_timer(self, step: Step) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._timed(self._generation, step))

    def _cancel_timer(self) -> None:
        timer = self._timer
        if timer is not None and timer is not asyncio.current_task() and not timer.done():
            timer.cancel()

    async def _timed(self, generation: int, step: Step) -> None:
        try:
            event, fields = await step()
            async with self._lock:
                if generation == self._generation and self._running:
                    await self._dispatch(event, **fields)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the watch must not die silently: the timeline says what broke
            self._note("error", message=f"{type(exc).__name__}: {exc}")

    async def _ping(self, command: Command) -> tuple[Event, dict[str, Any]]:
        await asyncio.sleep(command.after)
        await self._watcher_ok.wait()
        ok = await self._ping_once(self._active, command.timeout)
        return (Event.PING_OK if ok else Event.PING_FAILED), {}

    @staticmethod
    async def _ping_once(handle: NodeHandle, timeout: float) -> bool:
        try:
            return await asyncio.wait_for(handle.ping(timeout), timeout)
        except TimeoutError:
            return False

    async def _nettest(self, command: Command) -> tuple[Event, dict[str, Any]]:
        await self._watcher_ok.wait()
        ok = await self._net_test(command.timeout)
        return (Event.NETTEST_OK if ok else Event.NETTEST_FAILED), {"nettest": self.settings.nettest}

    async def _net_test(self, timeout: float) -> bool:
        if self.faults.get(self._other.name) == "isolate":
            await asyncio.sleep(timeout)  # the backup's own network is cut: the ping runs into its timeout
            return False
        target = _split_host_port(self.settings.nettest) if self.settings.nettest else None
        if target is None:
            return True
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*target), timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def _takeover(self, command: Command) -> tuple[Event, dict[str, Any]]:
        await self._watcher_ok.wait()
        await asyncio.sleep(command.timeout)  # the backup's subsystems start (takeover_time, GAP)
        await self._watcher_ok.wait()
        return Event.TAKEOVER_DONE, {}

    async def _promote(self) -> None:
        new, old = self._active, self._other  # TAKEOVER_DONE has swapped the roles in the table
        manual, self._manual = self._manual, False
        await self._set_peer(old, None)
        await self._set_peer(new, None)
        rejoins = manual or (old.name not in self.faults
                             and await self._ping_once(old, self.timers.nettest_timeout))
        await self._safely(old.set_role(Role.BACKUP if rejoins else Role.DOWN), f"{old.name}: leave ACTIVE")
        effective = self.recovery.effective
        recovered = await self._safely(new.recover() if effective else new.reset_core(), f"{new.name}: core")
        await new.set_role(Role.ACTIVE)
        self._note("promote", active=new.name, previous=old.name, manual=manual, recovery=effective,
                   recovered=recovered if effective else 0)
        if rejoins:
            await self._dispatch(Event.PEER_RESTORED, node=old.name)

    async def _full_sync(self) -> None:
        source, target = self._active, self._other
        if self.pair.backup is None or self.faults.get(target.name) in _DEAD:
            return
        count = await self._safely(target.full_sync_from(source), f"full sync to {target.name}")
        self._note("full-sync", source=source.name, target=target.name, records=count)

    async def _safely(self, work: Coroutine[Any, Any, Any], what: str) -> Any:
        """Await ``work``; a failure goes on the timeline instead of stopping the pair halfway."""
        try:
            return await work
        except (InputError, OSError) as exc:
            self._note("error", message=f"{what}: {exc}")
            return None

    def _refresh_watcher(self) -> None:
        if self.faults.get(self._other.name) in _DEAD:
            self._watcher_ok.clear()
        else:
            self._watcher_ok.set()

    async def _reconcile(self) -> None:
        """Point the active node's mirroring at the backup while replication is on and the backup lives."""
        backup = self._other
        # Not to a hung backup either: every change would wait for the mirror's timeout on the active node.
        alive = self.pair.backup is not None and self.faults.get(backup.name) not in _DEAD
        await self._set_peer(self._active, backup if alive and self.pair.replication else None)
        await self._set_peer(backup, None)

    async def _set_peer(self, handle: NodeHandle, peer: NodeHandle | None) -> None:
        want = peer.name if peer is not None else None
        if handle.name in self._peers and self._peers[handle.name] == want:
            return
        await self._safely(handle.set_peer(peer), f"{handle.name}: mirror to {want}")
        self._peers[handle.name] = want

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
        async with self._lock:
            self._require_running()
            backup = self._other
            if self.pair.backup is None or self.faults.get(backup.name) in _DEAD:
                raise InputError(f"no live backup to switch over to ({backup.name} is down)", 409)
            if (self.pair.watch, Event.MANUAL_SWITCHOVER) not in TRANSITIONS:
                watch = self.pair.watch.value
                raise InputError(f"a switchover cannot start while the backup is {watch}", 409)
            self._manual = True
            await self._dispatch(Event.MANUAL_SWITCHOVER)
        if wait > 0:
            await self.wait_until(lambda: self._active is backup and self.pair.watch is Watch.MONITORING,
                                  wait)

    async def fail(self, name: str, mode: str) -> None:
        """Inject a fault on a node: kill, hang, slow, partition, crash-on-mo, or isolate (NetTest fails).

        Raises:
            InputError: 404 for an unknown node, 400 for an unknown mode, 409 when the node already has
                another fault or is already down.
        """
        async with self._lock:
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
                self._peers.pop(name, None)
            self._note("fault", node=name, mode=mode, role=self.role_of(name).value)
            self._refresh_watcher()
            await self._reconcile()

    async def restore(self, name: str) -> None:
        """Undo a node's fault; a node that is down comes back as the backup, with a full sync.

        The backup's restore after a kill or an isolation counts as its restart (BACKUP_RESTARTED: the
        NetTest guard's "until it is restarted", and the restart SMS Interaction Recovery waits for).

        Raises:
            InputError: 404 for an unknown node.
        """
        async with self._lock:
            handle = self._named(name)
            mode = self.faults.pop(name, None)
            down = self.role_of(name) is Role.DOWN
            if mode is None and not down:
                return
            if mode != "isolate":
                await handle.restore()
            self._peers.pop(name, None)
            self._note("restore", node=name, fault=mode or "none", role=self.role_of(name).value)
            self._refresh_watcher()
            await self._rejoin(handle, mode, down)

    async def _rejoin(self, handle: NodeHandle, mode: str | None, down: bool) -> None:
        if handle is self._active:  # restored before any takeover: it still holds the role
            await handle.set_role(Role.ACTIVE)
            await self._reconcile()
            return
        await handle.set_role(Role.BACKUP)
        if down:
            self._record_backup_restart()
            await self._dispatch(Event.PEER_RESTORED, node=handle.name)
        elif mode in ("kill", "isolate") and (self.pair.watch, Event.BACKUP_RESTARTED) in TRANSITIONS:
            self._record_backup_restart()
            await self._dispatch(Event.BACKUP_RESTARTED, node=handle.name)
        else:
            await self._reconcile()
            if mode == "hang" and self.pair.replication:
                await self._full_sync()  # what was not mirrored while it hung

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
        async with self._lock:
            if self.pair.backup is None or (self.pair.watch, Event.BACKUP_RESTARTED) not in TRANSITIONS:
                raise InputError(f"the backup cannot restart while it is {self.pair.watch.value}", 409)
            self._record_backup_restart()
            await self._dispatch(Event.BACKUP_RESTARTED, node=self._other.name)

    def _record_backup_restart(self) -> None:
        self.recovery.handle(RecoveryEvent.BACKUP_RESTARTED)
        self._note_recovery("backup-restarted")

    def _note_recovery(self, what: str) -> None:
        self._note("recovery", change=what, configured=self.recovery.configured,
                   effective=self.recovery.effective)

    def _require_running(self) -> None:
        if not self._running:
            raise InputError("the pair is not running", 409)

    # -- status --------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """ICWS ``switchover-status`` fields (switchover.md §4.5), then the lab's own view of the pair."""
        active = self._active.name
        backup = self._other.name if self.pair.backup is not None else None
        starting = self.pair.watch is Watch.TAKING_OVER
        return {
            "isSwitchoverActive": backup is not None and self.pair.watch is not Watch.ISOLATED,
            "primaryHost": active,
            "backupHost": backup or "",
            "isBackupICStarting": starting,
            "isBackupICStopping": False,
            "isManualSwitchOnly": self.settings.manual_only,
            # different releases make the backup manual-switch only (§4.5); the lab has no versions otherwise
            "state": "upgradeHigherManual" if self.settings.manual_only else "active",
            "subsystemsDown": ["WebProcessor", "SMSServer"] if starting else [],
            "active": active,
            "backup": backup,
            "watch": self.pair.watch.value,
            "failures": self.pair.failures,
            "replication": self.pair.replication,
            "recovery": {"configured": self.recovery.configured, "effective": self.recovery.effective,
                         "webprocessor_restarted": self.recovery.webprocessor_restarted,
                         "backup_restarted": self.recovery.backup_restarted},
            "roles": {h.name: self.role_of(h.name).value for h in self.handles.values()},
            "faults": dict(self.faults),
            "timers": asdict(self.timers),
            "time_scale": self.settings.time_scale,
            "nettest": self.settings.nettest,
        }
