"""Lab files whose pair is two external gateways (``mini_gateway.py`` beside this module, each its own
process): what the tests of the external pair start."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from scenarios.lab.spec import DEFAULT_LAB

__all__ = ["GATEWAY", "lab_data", "member"]

GATEWAY = str(Path(__file__).resolve().parent / "mini_gateway.py")


def member(*extra: str) -> dict[str, Any]:
    """An external member running tests/support/mini_gateway.py, sending to the fake Kaleyra."""
    return {
        "ports": ["sms", "send"],
        "start": [{"name": "gateway", "argv": [sys.executable, GATEWAY, "--sms-port", "{port.sms}",
                                               "--send-port", "{port.send}", "--sink", "{sink}",
                                               "--gateway", "{fake.kaleyra}/a2w_preRouter/httpApiRouter",
                                               *extra]}],
        "ready": {"url": "http://{host}:{port.sms}/?healthcheckignore=1", "timeout": 10},
        "sms_url": "http://{host}:{port.sms}",
        "send": {"url": "http://{host}:{port.send}/send?to={to}&text={text}&from={from}",
                 "expect": "<code>100</code>"},
        "timeout": 2,
        "faults": {"hang": {"fail": {"signal": "STOP", "process": "gateway"},
                            "restore": {"signal": "CONT", "process": "gateway"}},
                   "kill": {"fail": {"signal": "KILL", "process": "gateway"},
                            "restore": {"restart": "gateway"}},
                   # A request action (the lab's own sink answers it, and keeps it for the test to see).
                   "slow": {"fail": {"request": {"method": "POST", "url": "{sink}/admin?slow=1",
                                                 "body": "delay=2", "headers": {
                                                     "Content-Type": "application/x-www-form-urlencoded"}}},
                            "restore": [{"request": {"url": "{sink}/admin?slow=0"}}]}},
    }


def lab_data(primary: dict[str, Any] | None = None, backup: dict[str, Any] | None = None) -> dict[str, Any]:
    """The embedded default lab with two external members in place of the simulated pair."""
    data = copy.deepcopy(yaml.safe_load(DEFAULT_LAB.read_text(encoding="utf-8")))
    data["cic"]["nodes"] = {"primary": {"external": primary or member()},
                            "backup": {"external": backup or member()}}
    return data
