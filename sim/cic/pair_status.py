"""The pair's status as the lab shows it: the ICWS ``switchover-status`` fields, then the lab's own view.

ICWS answers ``GET /icws/{sessionId}/connection/switchover-status`` (Genesys developer docs, ICWS
``switchover-status``) with which server is primary and which the backup, whether
switchover is active, whether the backup is starting, and the upgrade state; the lab adds its watch,
replication, recovery, roles, faults and timers, so that one answer says where the pair is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sim.cic.pair_settings import PairSettings
from sim.core.switchover import Recovery, Server, SwitchoverPair, Timers, Watch

__all__ = ["switchover_status"]


def switchover_status(pair: SwitchoverPair, names: Mapping[Server, str], *, roles: Mapping[str, str],
                      faults: Mapping[str, str], recovery: Recovery, settings: PairSettings,
                      timers: Timers) -> dict[str, Any]:
    """The status of a pair.

    Args:
        pair: the transition table's state.
        names: each server's node name.
        roles: node name -> the role it holds in the pair (``active``, ``backup`` or ``down``).
        faults: node name -> the fault injected on it.
        recovery: SMS Interaction Recovery's state.
        settings: the pair's settings.
        timers: the timers in use (scaled).
    """
    active = names[pair.active]
    backup = names[pair.active.other] if pair.backup is not None else None
    starting = pair.watch is Watch.TAKING_OVER
    return {
        "isSwitchoverActive": backup is not None and pair.watch is not Watch.ISOLATED,
        "primaryHost": active,
        "backupHost": backup or "",
        "isBackupICStarting": starting,
        "isBackupICStopping": False,
        "isManualSwitchOnly": settings.manual_only,
        # different releases make the backup manual-switch only ("The Switchover Control Panel"); the lab
        # has no versions otherwise
        "state": "upgradeHigherManual" if settings.manual_only else "active",
        "subsystemsDown": ["WebProcessor", "SMSServer"] if starting else [],
        "active": active,
        "backup": backup,
        "watch": pair.watch.value,
        "failures": pair.failures,
        "replication": pair.replication,
        "recovery": {"configured": recovery.configured, "effective": recovery.effective,
                     "webprocessor_restarted": recovery.webprocessor_restarted,
                     "backup_restarted": recovery.backup_restarted},
        "roles": dict(roles),
        "faults": dict(faults),
        "timers": asdict(timers),
        "time_scale": settings.time_scale,
        "nettest": settings.nettest,
    }
