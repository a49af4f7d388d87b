"""Tests for sim.core.switchover: the pair's transition table, its timings, recovery, and a state machine."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sim.core.errors import UsageError
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


def test_default_detection_and_takeover_time() -> None:
    """With the defaults, a dead active server is replaced 10 + 1 + 10 s of pings plus the takeover later."""
    pair = SwitchoverPair()
    now = 0.0
    commands = [Command("ping", timeout=pair.timers.ts_timeout)]
    while commands[-1].kind != "promote":
        command = commands[-1]
        now += command.after + command.timeout
        if command.kind == "ping":
            commands = pair.handle(Event.PING_FAILED, now)
        elif command.kind == "nettest":
            now -= command.timeout  # the NetTest address answers at once
            commands = pair.handle(Event.NETTEST_OK, now)
        else:
            commands = pair.handle(Event.TAKEOVER_DONE, now)
    assert (now, pair.active) == (10 + 1 + 10 + 5, Server.B)
    assert now < 30  # PureConnect "Switchover" help: "in less than 30 seconds"


def test_failure_count_resets_on_success() -> None:
    """One failure then a success starts counting from zero again."""
    pair = SwitchoverPair()
    pair.handle(Event.PING_FAILED, 10.0)
    pair.handle(Event.PING_OK, 11.0)
    assert (pair.watch, pair.failures) == (Watch.MONITORING, 0)
    assert pair.handle(Event.PING_FAILED, 21.0) == [Command("ping", after=1.0, timeout=10.0)]


def test_nettest_failure_isolates_the_backup() -> None:
    """A failed NetTest means no switch and replication stopped until the backup restarts."""
    pair = SwitchoverPair(Timers(max_failures=1))
    assert pair.handle(Event.PING_FAILED, 10.0) == [Command("nettest", timeout=1.0)]
    assert pair.handle(Event.NETTEST_FAILED, 11.0) == [Command("stop-replication")]
    assert (pair.watch, pair.replication, pair.active) == (Watch.ISOLATED, False, Server.A)
    assert pair.handle(Event.BACKUP_RESTARTED, 100.0)[0] == Command("full-sync")
    assert (pair.watch, pair.replication) == (Watch.MONITORING, True)


def test_manual_only_backup_never_takes_over_on_failure() -> None:
    """A backup on another release keeps failing pings and never reaches the NetTest."""
    pair = SwitchoverPair(manual_only=True)
    for n in range(10):
        pair.handle(Event.PING_FAILED, float(n))
    assert pair.watch is Watch.RETRYING
    pair.handle(Event.MANUAL_SWITCHOVER, 20.0)
    pair.handle(Event.TAKEOVER_DONE, 25.0)
    assert pair.active is Server.B


def test_impossible_event_is_a_usage_error() -> None:
    """An event the table has no row for raises UsageError naming it."""
    with pytest.raises(UsageError, match="takeover-done cannot happen while the backup is monitoring"):
        SwitchoverPair().handle(Event.TAKEOVER_DONE, 0.0)


def test_history_records_each_transition() -> None:
    """Every handled event leaves a timestamped line in the history."""
    pair = SwitchoverPair()
    pair.handle(Event.MANUAL_SWITCHOVER, 3.0)
    assert pair.history == [(3.0, "monitoring --manual-switchover--> taking-over")]


def test_scaled_timers() -> None:
    """scaled multiplies every duration and keeps the failure count."""
    assert Timers().scaled(0.01) == Timers(0.1, 0.01, 2, 0.01, 0.05, 0.01)


def test_recovery_takes_effect_after_both_restarts() -> None:
    """Setting the parameter to 1 is pending until the WebProcessor and the backup have restarted."""
    recovery = Recovery()
    recovery.handle(RecoveryEvent.PARAMETER_SET, True)
    assert (recovery.configured, recovery.effective) == (True, False)
    recovery.handle(RecoveryEvent.BACKUP_RESTARTED)
    assert recovery.effective is False
    recovery.handle(RecoveryEvent.WEBPROCESSOR_RESTARTED)
    assert recovery.effective is True


def test_recovery_set_at_start_is_in_effect() -> None:
    """A pair started with the parameter set has it in effect from the start."""
    assert Recovery.at_start(True).effective is True
    assert Recovery.at_start(False).effective is False


def test_setting_the_same_value_needs_no_restart() -> None:
    """Setting the value already configured changes nothing."""
    recovery = Recovery.at_start(True)
    recovery.handle(RecoveryEvent.PARAMETER_SET, True)
    assert recovery.effective is True


class PairMachine(RuleBasedStateMachine):
    """The pair driven by any sequence of possible events, with a mirror of acknowledged messages."""

    @initialize(recovery=st.booleans(), manual_only=st.booleans())
    def start(self, recovery: bool, manual_only: bool) -> None:
        self.pair = SwitchoverPair(Timers(max_failures=2), manual_only=manual_only)
        self.recovery = Recovery.at_start(recovery)
        self.stores: dict[Server, set[int]] = {Server.A: set(), Server.B: set()}
        self.acknowledged: set[int] = set()
        self.now = 0.0
        self.counter = 0

    def _event(self, event: Event) -> None:
        self.now += 1.0
        commands = self.pair.handle(event, self.now)
        kinds = [c.kind for c in commands]
        if "full-sync" in kinds and self.pair.backup is not None:
            self.stores[self.pair.backup] = set(self.stores[self.pair.active])
        if "promote" in kinds:
            new = self.pair.active
            if not self.recovery.effective:
                self.stores[new] = set()  # not in effect: the mirrored interactions are not recovered
                self.acknowledged = set()
            self.stores[new.other] = set()  # the old active is down; it comes back empty and resyncs

    def _watching(self) -> bool:
        return self.pair.watch in (Watch.MONITORING, Watch.RETRYING)

    @rule()
    def acknowledge_mo(self) -> None:
        """The active server stores an MO and answers 2xx; it is mirrored while replication runs."""
        self.counter += 1
        self.stores[self.pair.active].add(self.counter)
        self.acknowledged.add(self.counter)
        if self.pair.replication and self.pair.backup is not None:
            self.stores[self.pair.backup].add(self.counter)

    @precondition(lambda self: self._watching())
    @rule(ok=st.booleans())
    def ping(self, ok: bool) -> None:
        """The backup's TS ping answers or times out."""
        self._event(Event.PING_OK if ok else Event.PING_FAILED)

    @precondition(lambda self: self.pair.watch is Watch.NET_TEST)
    @rule(ok=st.booleans())
    def nettest(self, ok: bool) -> None:
        """The NetTest ping answers or fails."""
        self._event(Event.NETTEST_OK if ok else Event.NETTEST_FAILED)

    @precondition(lambda self: self.pair.watch is Watch.TAKING_OVER)
    @rule()
    def takeover_done(self) -> None:
        """The backup's subsystems are up."""
        self._event(Event.TAKEOVER_DONE)

    @precondition(lambda self: self._watching())
    @rule()
    def manual_switchover(self) -> None:
        """An operator switches over."""
        self._event(Event.MANUAL_SWITCHOVER)

    @precondition(lambda self: self.pair.watch in (Watch.ISOLATED, Watch.MONITORING, Watch.RETRYING))
    @rule()
    def restart_backup(self) -> None:
        """The backup reboots."""
        self._event(Event.BACKUP_RESTARTED)

    @precondition(lambda self: self.pair.watch is Watch.NO_BACKUP)
    @rule()
    def restore_peer(self) -> None:
        """The failed server comes back as the backup."""
        self._event(Event.PEER_RESTORED)

    @invariant()
    def exactly_one_active(self) -> None:
        """Exactly one server holds the ACTIVE role, and the backup is never the active one."""
        roles = [s for s in Server if s is self.pair.active]
        assert len(roles) == 1
        assert self.pair.backup is not self.pair.active

    @invariant()
    def no_acknowledged_message_lost(self) -> None:
        """While recovery is in effect, the active server holds every acknowledged message."""
        if self.recovery.effective:
            assert self.acknowledged <= self.stores[self.pair.active]

    @invariant()
    def table_is_the_only_way(self) -> None:
        """The watch state is one the table can reach."""
        assert self.pair.watch in set(TRANSITIONS.values()) | {Watch.MONITORING}


PairMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_pair_state_machine = PairMachine.TestCase


# -- every command the table emits, with its timers (issue 19) ------------------------------------------------

DISTINCT = Timers(ts_timeout=11.0, retry_delay=2.0, max_failures=4, nettest_timeout=3.0, takeover_time=7.0,
                  ping_interval=5.0)
"""Timers that differ from each other and from the defaults, so a command carrying the wrong one shows."""


def test_every_command_carries_the_timer_of_its_step() -> None:
    """Ping after a success, a restore and a restart waits ping_interval; after a failure retry_delay; the rest theirs."""
    pair = SwitchoverPair(DISTINCT)
    ping = Command("ping", after=5.0, timeout=11.0)
    assert [ping] == pair.handle(Event.PING_OK, 1.0)
    assert [Command("ping", after=2.0, timeout=11.0)] == pair.handle(Event.PING_FAILED, 2.0)
    assert [Command("full-sync"), ping] == pair.handle(Event.BACKUP_RESTARTED, 3.0)
    assert [Command("start-subsystems", timeout=7.0)] == pair.handle(Event.MANUAL_SWITCHOVER, 4.0)
    assert [Command("promote")] == pair.handle(Event.TAKEOVER_DONE, 11.0)
    assert [Command("full-sync"), ping] == pair.handle(Event.PEER_RESTORED, 12.0)
    for n in range(3):
        pair.handle(Event.PING_FAILED, 13.0 + n)
    assert [Command("nettest", timeout=3.0)] == pair.handle(Event.PING_FAILED, 20.0)


def test_failures_below_the_threshold_are_counted_one_by_one() -> None:
    """With four allowed: three failures in a row keep retrying, counted 1, 2, 3; the fourth goes to NetTest."""
    pair = SwitchoverPair(DISTINCT)
    counts = []
    for n in range(3):
        pair.handle(Event.PING_FAILED, float(n))
        counts.append((pair.watch, pair.failures))
    assert [(Watch.RETRYING, 1), (Watch.RETRYING, 2), (Watch.RETRYING, 3)] == counts
    pair.handle(Event.PING_FAILED, 3.0)
    assert (Watch.NET_TEST, 4) == (pair.watch, pair.failures)


def test_a_takeover_and_a_restore_start_counting_from_zero() -> None:
    """After the roles swap, and after the old active comes back, the next failures count from one."""
    pair = SwitchoverPair(DISTINCT)
    pair.handle(Event.PING_FAILED, 0.0)
    pair.handle(Event.MANUAL_SWITCHOVER, 1.0)
    pair.handle(Event.TAKEOVER_DONE, 8.0)
    assert (Server.B, 0) == (pair.active, pair.failures)
    pair.handle(Event.PEER_RESTORED, 9.0)
    pair.handle(Event.PING_FAILED, 10.0)
    assert (Watch.RETRYING, 1) == (pair.watch, pair.failures)


def test_each_restart_counts_for_itself_alone() -> None:
    """After a change, restarting the WebProcessor twice is not the backup's restart, and the reverse."""
    webprocessor, backup = Recovery.at_start(False), Recovery.at_start(False)
    webprocessor.handle(RecoveryEvent.PARAMETER_SET, True)
    backup.handle(RecoveryEvent.PARAMETER_SET, True)
    for _ in range(2):
        webprocessor.handle(RecoveryEvent.WEBPROCESSOR_RESTARTED)
        backup.handle(RecoveryEvent.BACKUP_RESTARTED)
    assert ((True, False), (False, True), False, False) == (
        (webprocessor.webprocessor_restarted, webprocessor.backup_restarted),
        (backup.webprocessor_restarted, backup.backup_restarted), webprocessor.effective, backup.effective)
    assert (webprocessor.webprocessor_restarted is True, webprocessor.backup_restarted is False) == (True, True)


def test_a_pair_started_with_recovery_has_it_configured_and_in_effect() -> None:
    """at_start(True) is configured and effective, with both restarts behind it; at_start(False) neither."""
    on, off = Recovery.at_start(True), Recovery.at_start(False)
    assert (True, True, True, True) == (on.configured, on.effective, on.webprocessor_restarted, on.backup_restarted)
    assert (False, False) == (off.configured is True, off.effective is True)
    assert (on.configured is True, off.configured is False) == (True, True)


def test_setting_the_parameter_without_a_value_is_a_usage_error_saying_so() -> None:
    """PARAMETER_SET needs the new value: a bug in the shell, named as such."""
    with pytest.raises(UsageError, match=r"^PARAMETER_SET needs the new value$"):
        Recovery().handle(RecoveryEvent.PARAMETER_SET)
