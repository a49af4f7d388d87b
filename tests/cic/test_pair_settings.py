"""Tests of sim.cic.pair_settings: reading cic.switchover into PairSettings, with every problem named."""

from __future__ import annotations

import pytest

from sim.cic.pair_settings import PairSettings, read_pair_settings
from sim.core.config import ServerParameters
from sim.core.errors import ConfigError
from sim.core.schema import Reader
from sim.core.switchover import Timers


def test_read_pair_settings_defaults() -> None:
    """An empty section gives the documented defaults, recovery from the server parameters."""
    r = Reader({}, "cic.switchover")
    settings = read_pair_settings(r, ServerParameters(sms_interaction_recovery=True))
    r.raise_if_problems()
    assert settings == PairSettings(Timers(10.0, 1.0, 2, 1.0, 5.0, 1.0), 1.0, "", False, True)


def test_read_pair_settings_every_key() -> None:
    """Every key is read, and the runtime scales every duration by time_scale."""
    data = {"ts_timeout": 20, "retry_delay": 2, "max_failures": 3, "nettest_timeout": 0.5, "takeover_time": 8,
            "ping_interval": 4, "time_scale": 0.5, "nettest": "10.0.0.1:7", "manual_only": True}
    r = Reader(data, "cic.switchover")
    settings = read_pair_settings(r, ServerParameters())
    r.raise_if_problems()
    assert settings == PairSettings(Timers(20.0, 2.0, 3, 0.5, 8.0, 4.0), 0.5, "10.0.0.1:7", True, False)
    assert settings.scaled == Timers(10.0, 1.0, 3, 0.25, 4.0, 2.0)


def test_read_pair_settings_reports_every_problem() -> None:
    """Out-of-range timers, a bad NetTest address and (after done()) an unknown key are all reported."""
    r = Reader({"ts_timeout": 2, "max_failures": 0, "time_scale": 0, "nettest": "nohost", "tick": 1},
               "cic.switchover")
    read_pair_settings(r, ServerParameters())
    r.done()
    with pytest.raises(ConfigError) as caught:
        r.raise_if_problems("lab.yaml")
    assert [(p.path, p.value) for p in caught.value.problems] == [
        ("cic.switchover.ts_timeout", 2), ("cic.switchover.max_failures", 0), ("cic.switchover.time_scale", 0),
        ("cic.switchover.nettest", "nohost"), ("cic.switchover.tick", 1)]
    assert caught.value.problems[0].reason == "must be at least 5"
