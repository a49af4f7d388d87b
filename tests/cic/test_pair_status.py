"""Tests of sim.cic.pair_status: the ICWS switchover-status fields and the lab's own view, from plain values."""

from __future__ import annotations

from typing import Any

from sim.cic.pair_settings import PairSettings
from sim.cic.pair_status import switchover_status
from sim.core.switchover import Event, Recovery, Server, SwitchoverPair, Timers

NAMES = {Server.A: "primary", Server.B: "backup"}


def status(pair: SwitchoverPair, settings: PairSettings, **extra: Any) -> dict[str, Any]:
    """The status of ``pair`` with both nodes in their starting roles unless ``extra`` says otherwise."""
    arguments: dict[str, Any] = {"roles": {"primary": "active", "backup": "backup"}, "faults": {},
                                 "recovery": Recovery.at_start(True), "settings": settings,
                                 "timers": settings.scaled, **extra}
    return switchover_status(pair, NAMES, **arguments)


def test_a_monitoring_pair() -> None:
    """A pair at start: switchover active, A primary, B backup, nothing starting or down."""
    settings = PairSettings(time_scale=0.5)
    assert {
        "isSwitchoverActive": True, "primaryHost": "primary", "backupHost": "backup",
        "isBackupICStarting": False, "isBackupICStopping": False, "isManualSwitchOnly": False,
        "state": "active", "subsystemsDown": [], "active": "primary", "backup": "backup",
        "watch": "monitoring", "failures": 0, "replication": True,
        "recovery": {"configured": True, "effective": True, "webprocessor_restarted": True,
                     "backup_restarted": True},
        "roles": {"primary": "active", "backup": "backup"}, "faults": {},
        "timers": {"ts_timeout": 5.0, "retry_delay": 0.5, "max_failures": 2, "nettest_timeout": 0.5,
                   "takeover_time": 2.5, "ping_interval": 0.5},
        "time_scale": 0.5, "nettest": ""} == status(SwitchoverPair(Timers()), settings)


def test_a_takeover_under_way_shows_the_backup_starting() -> None:
    """While the backup's subsystems start, isBackupICStarting is true and they are listed as down."""
    pair = SwitchoverPair(Timers())
    pair.handle(Event.MANUAL_SWITCHOVER, 0.0)
    got = status(pair, PairSettings())
    assert (True, ["WebProcessor", "SMSServer"], "taking-over") == (
        got["isBackupICStarting"], got["subsystemsDown"], got["watch"])


def test_after_a_takeover_with_the_old_node_down_there_is_no_backup() -> None:
    """Once B took over and A is down, B is primary, there is no backup and switchover is not active."""
    pair = SwitchoverPair(Timers())
    for event in (Event.MANUAL_SWITCHOVER, Event.TAKEOVER_DONE):
        pair.handle(event, 0.0)
    got = status(pair, PairSettings(), roles={"primary": "down", "backup": "active"}, faults={"primary": "kill"})
    assert ("backup", "", None, False, {"primary": "kill"}) == (
        got["primaryHost"], got["backupHost"], got["backup"], got["isSwitchoverActive"], got["faults"])


def test_an_isolated_backup_means_switchover_is_not_active() -> None:
    """A backup whose NetTest failed still exists but switchover is not active, and replication is off."""
    pair = SwitchoverPair(Timers(max_failures=1))
    for event in (Event.PING_FAILED, Event.NETTEST_FAILED):
        pair.handle(event, 0.0)
    got = status(pair, PairSettings())
    assert ("backup", False, False, "isolated") == (
        got["backupHost"], got["isSwitchoverActive"], got["replication"], got["watch"])


def test_manual_only_is_the_upgrade_higher_manual_state() -> None:
    """Servers on different releases are manual-switch only, shown as upgradeHigherManual."""
    got = status(SwitchoverPair(Timers(), manual_only=True), PairSettings(manual_only=True))
    assert (True, "upgradeHigherManual") == (got["isManualSwitchOnly"], got["state"])
