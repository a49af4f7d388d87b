"""The CIC switchover pair and SMS interaction recovery, as transition tables.

Theory of operation. Two servers, A and B; one holds the ACTIVE role, the other is the BACKUP and watches it
(Automated Switchover Technical Reference, "TS Ping"): the backup asks the active server's TsServer for an
answer and waits up to ``ts_timeout`` (default 10 s); a failure is followed by ``retry_delay`` (1 s) and
another try; after ``max_failures`` (2) failures in a row the backup pings the NetTest address on the
active server's segment ("Switchover NetTest Server Parameters", 1 s timeout). If that ping fails, the
backup assumes its *own* network is broken: it does not switch, and stops replication until it is
restarted (ISOLATED). If it succeeds, the backup takes over: its subsystems start (``takeover_time``, GAP:
PureConnect's "Switchover" help page gives only "less than 30 seconds" for the whole switch) and then it
holds the ACTIVE role; the old active server is down until it is restored, and comes back as the backup.
A manual switchover skips detection. A backup on another release is manual-switch only ("The Switchover
Control Panel").

The watch goes MONITORING -> RETRYING -> NET_TEST -> TAKING_OVER -> (roles swap). The role changes in one
step at TAKEOVER_DONE, so exactly one server holds the ACTIVE role at every moment, even while the old one is
dead and the new one is still starting: in that window no server answers the SMS URL, and the proxy returns
502.4.

Recovery (Automated Switchover Technical Reference, "Recovery of SMS Interactions"; SMS Technical
Reference, "Recovery of SMS Interactions in Switchover"): ``SMS Interaction Recovery Enabled`` = 1 takes
effect only once the WebProcessor has been restarted on the active server *and* the backup has been
restarted; a change back to 0 is likewise pending until both restarts.

The machine keeps no clock: ``handle(event, now)`` returns the commands for the shell to carry out (ping,
wait, run the NetTest, start subsystems), each with the delay or timeout from the timers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sim.core.errors import UsageError

__all__ = [
    "Command",
    "Event",
    "Recovery",
    "RecoveryEvent",
    "Server",
    "SwitchoverPair",
    "Timers",
    "Watch",
]


class Server(Enum):
    """The two servers of a switchover pair."""

    A = "A"
    B = "B"

    @property
    def other(self) -> Server:
        """The other server of the pair."""
        return Server.B if self is Server.A else Server.A


class Watch(Enum):
    """The backup's view of the active server."""

    MONITORING = "monitoring"  # pings succeed
    RETRYING = "retrying"  # some pings failed in a row, fewer than max_failures
    NET_TEST = "net-test"  # max_failures reached: checking our own network first
    TAKING_OVER = "taking-over"  # subsystems starting on the backup
    ISOLATED = "isolated"  # NetTest failed: no switch, replication stopped until the backup restarts
    NO_BACKUP = "no-backup"  # the other server is down; nobody watches


class Event(Enum):
    """What happens to the pair."""

    PING_OK = "ping-ok"
    PING_FAILED = "ping-failed"  # below max_failures
    PING_FAILED_LAST = "ping-failed-last"  # the failure that reaches max_failures (derived, see handle)
    NETTEST_OK = "nettest-ok"
    NETTEST_FAILED = "nettest-failed"
    TAKEOVER_DONE = "takeover-done"
    MANUAL_SWITCHOVER = "manual-switchover"
    BACKUP_RESTARTED = "backup-restarted"  # the backup server rebooted (clears ISOLATED)
    PEER_RESTORED = "peer-restored"  # the down server is back, as backup


_W = Watch
_E = Event
TRANSITIONS: dict[tuple[Watch, Event], Watch] = {
    (_W.MONITORING, _E.PING_OK): _W.MONITORING,
    (_W.MONITORING, _E.PING_FAILED): _W.RETRYING,
    (_W.MONITORING, _E.PING_FAILED_LAST): _W.NET_TEST,
    (_W.RETRYING, _E.PING_OK): _W.MONITORING,
    (_W.RETRYING, _E.PING_FAILED): _W.RETRYING,
    (_W.RETRYING, _E.PING_FAILED_LAST): _W.NET_TEST,
    (_W.NET_TEST, _E.NETTEST_OK): _W.TAKING_OVER,
    (_W.NET_TEST, _E.NETTEST_FAILED): _W.ISOLATED,
    (_W.TAKING_OVER, _E.TAKEOVER_DONE): _W.NO_BACKUP,  # roles swap; the old active is down
    (_W.MONITORING, _E.MANUAL_SWITCHOVER): _W.TAKING_OVER,
    (_W.RETRYING, _E.MANUAL_SWITCHOVER): _W.TAKING_OVER,
    (_W.ISOLATED, _E.BACKUP_RESTARTED): _W.MONITORING,
    (_W.MONITORING, _E.BACKUP_RESTARTED): _W.MONITORING,
    (_W.RETRYING, _E.BACKUP_RESTARTED): _W.MONITORING,
    (_W.NO_BACKUP, _E.PEER_RESTORED): _W.MONITORING,
}
"""(watch, event) -> next watch. A pair absent from the table is an event that cannot happen there."""


@dataclass(frozen=True)
class Timers:
    """The switchover server parameters, in seconds; every one scalable for tests.

    Defaults from the Automated Switchover Technical Reference ("TS Ping", "Switchover NetTest Server
    Parameters").

    Attributes:
        ts_timeout: ``Switchover TS Timeout`` (default 10, allowed 5-60 on a real server).
        retry_delay: ``Switchover TS Failure Retry Delay`` (default 1).
        max_failures: ``Switchover Max TS Failures`` (default 2; the count resets on success).
        nettest_timeout: ``Switchover NetTest Timeout`` (default 1).
        takeover_time: how long the backup's subsystems take to start (GAP; default 5, inside the
            documented "less than 30 seconds" for the whole switch).
        ping_interval: pause between successful pings (GAP; default 1).
    """

    ts_timeout: float = 10.0
    retry_delay: float = 1.0
    max_failures: int = 2
    nettest_timeout: float = 1.0
    takeover_time: float = 5.0
    ping_interval: float = 1.0

    def scaled(self, factor: float) -> Timers:
        """All durations multiplied by ``factor`` (the failure count unchanged)."""
        return Timers(self.ts_timeout * factor, self.retry_delay * factor, self.max_failures,
                      self.nettest_timeout * factor, self.takeover_time * factor, self.ping_interval * factor)


@dataclass(frozen=True)
class Command:
    """Something the shell must do: ``ping``, ``nettest``, ``start-subsystems``, ``stop-replication``,
    ``full-sync`` or ``promote``; ``after`` is the delay before doing it, ``timeout`` its time limit."""

    kind: str
    after: float = 0.0
    timeout: float = 0.0


@dataclass
class SwitchoverPair:
    """The roles of a switchover pair and the backup's watch, driven by events.

    Args:
        timers: the switchover parameters.
        active: which server starts active.
        manual_only: the servers run different releases: the backup never takes over on failure.
    """

    timers: Timers = field(default_factory=Timers)
    active: Server = Server.A
    manual_only: bool = False
    watch: Watch = Watch.MONITORING
    failures: int = 0
    replication: bool = True
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def backup(self) -> Server | None:
        """The server watching the active one, or ``None`` while the other server is down."""
        return None if self.watch is Watch.NO_BACKUP else self.active.other

    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply ``event`` at time ``now``; return what the shell must do next.

        Raises:
            UsageError: the event cannot happen in the current watch state (a bug in the shell).
        """
        if event is Event.PING_FAILED and self.failures + 1 >= self.timers.max_failures:
            event = Event.PING_FAILED_LAST
        if event is Event.PING_FAILED_LAST and self.manual_only:
            event = Event.PING_FAILED  # manual-switch only ("The Switchover Control Panel"): keep failing
        key = (self.watch, event)
        if key not in TRANSITIONS:
            raise UsageError(f"event {event.value} cannot happen while the backup is {self.watch.value}")
        before = self.watch
        self.watch = TRANSITIONS[key]
        self.history.append((now, f"{before.value} --{event.value}--> {self.watch.value}"))
        return self._enter(event)

    def _enter(self, event: Event) -> list[Command]:
        t = self.timers
        if event in (Event.PING_OK, Event.PEER_RESTORED, Event.BACKUP_RESTARTED):
            self.failures = 0
            commands = [Command("ping", after=t.ping_interval, timeout=t.ts_timeout)]
            if event is not Event.PING_OK:  # a rebooted or restored backup starts with a full sync
                self.replication = True
                commands.insert(0, Command("full-sync"))
            return commands
        if event is Event.PING_FAILED:
            self.failures += 1
            return [Command("ping", after=t.retry_delay, timeout=t.ts_timeout)]
        if event is Event.PING_FAILED_LAST:
            self.failures += 1
            return [Command("nettest", timeout=t.nettest_timeout)]
        if event is Event.NETTEST_FAILED:
            self.replication = False
            return [Command("stop-replication")]
        if event in (Event.NETTEST_OK, Event.MANUAL_SWITCHOVER):
            return [Command("start-subsystems", timeout=t.takeover_time)]
        # TAKEOVER_DONE: the single step in which the roles change.
        self.active = self.active.other
        self.failures = 0
        return [Command("promote")]


class RecoveryEvent(Enum):
    """What changes the effective SMS Interaction Recovery setting."""

    PARAMETER_SET = "parameter-set"
    WEBPROCESSOR_RESTARTED = "webprocessor-restarted"  # on the active server
    BACKUP_RESTARTED = "backup-restarted"


@dataclass
class Recovery:
    """``SMS Interaction Recovery Enabled``: the configured value and the value in effect.

    A new value takes effect once the WebProcessor has restarted on the active server and the backup has
    restarted, in either order, after it was set (Automated Switchover Technical Reference, "Recovery of
    SMS Interactions").
    """

    configured: bool = False
    effective: bool = False
    webprocessor_restarted: bool = True
    backup_restarted: bool = True

    @classmethod
    def at_start(cls, enabled: bool) -> Recovery:
        """A pair started with the parameter already set: both restarts are behind it."""
        return cls(enabled, enabled)

    def handle(self, event: RecoveryEvent, value: bool | None = None) -> None:
        """Apply a recovery event; ``value`` goes with PARAMETER_SET.

        Raises:
            UsageError: PARAMETER_SET without a value.
        """
        if event is RecoveryEvent.PARAMETER_SET:
            if value is None:
                raise UsageError("PARAMETER_SET needs the new value")
            if value != self.configured:
                self.configured = value
                self.webprocessor_restarted = self.backup_restarted = False
        elif event is RecoveryEvent.WEBPROCESSOR_RESTARTED:
            self.webprocessor_restarted = True
        else:
            self.backup_restarted = True
        if self.webprocessor_restarted and self.backup_restarted:
            self.effective = self.configured
