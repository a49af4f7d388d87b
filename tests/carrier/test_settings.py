"""Tests for sim.carrier.settings: the carriers section, its defaults, sender types and every problem at once."""

from __future__ import annotations

import math

import pytest

from sim.carrier.distributions import ExponentialDelay, FixedDelay
from sim.carrier.settings import (
    DEFAULT_CARRIER,
    OverCap,
    Reachability,
    SenderType,
    Window,
    read_carriers,
    sender_type,
)
from sim.core.errors import ConfigError
from sim.core.types import DeliveryState


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read_carriers(data, source="what-if.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_full_carrier_is_read_with_every_field() -> None:
    """Each key of the documented example reaches the frozen settings."""
    [uk] = read_carriers([{
        "name": "uk", "match": ["+44"], "rates": {"long_code": 2}, "over_cap": "throttle", "burst": 3,
        "latency": {"distribution": "exponential", "mean": 4}, "dlr_latency": {"seconds": 0.2},
        "reachability": {"offline": 0.1, "retry": [5, 10], "validity": 600},
        "outcomes": [{"state": "delivered", "weight": 0.75}, {"state": "failed", "weight": 0.25, "code": "e1"}],
        "triggers": [{"pattern": "0000$", "state": "undeliverable", "code": "e2"}],
        "windows": [{"kind": "outage", "start": 10, "end": 20, "mode": "queue"},
                    {"kind": "degraded", "start": 0, "end": 5, "factor": 3}]}])
    assert (uk.name, uk.match, uk.rates[SenderType.LONG_CODE], uk.rates[SenderType.SHORT_CODE]) == (
        "uk", ("+44",), 2.0, 100.0)
    assert (uk.over_cap, uk.burst, uk.latency, uk.dlr_latency) == (
        OverCap.THROTTLE, 3.0, ExponentialDelay(4.0), FixedDelay(0.2))
    assert uk.reachability == Reachability(0.1, (5.0, 10.0), 600.0)
    assert [(o.state, o.weight, o.code) for o in uk.outcomes] == [
        (DeliveryState.DELIVERED, 0.75, ""), (DeliveryState.FAILED, 0.25, "e1")]
    assert (uk.triggers[0].pattern.pattern, uk.triggers[0].state) == ("0000$", DeliveryState.UNDELIVERABLE)
    assert uk.windows == (Window("outage", 10.0, 20.0, mode="queue"), Window("degraded", 0.0, 5.0, factor=3.0))
    assert (uk.matches("447700900123"), uk.matches("+14155550100")) == (True, False)


def test_defaults_and_the_default_carrier() -> None:
    """An entry with a name and a prefix has the documented defaults; the default carrier has no cap."""
    [c] = read_carriers([{"name": "us", "match": ["1"]}])
    assert ({t: c.rates[t] for t in SenderType}, c.latency, c.reachability.validity) == (
        {SenderType.SHORT_CODE: 100.0, SenderType.LONG_CODE: 1.0, SenderType.TOLL_FREE: 3.0,
         SenderType.ALPHANUMERIC: 10.0}, FixedDelay(2.0), 172_800.0)
    assert all(math.isinf(rate) for rate in DEFAULT_CARRIER.rates.values())
    assert read_carriers(None) == ()


@pytest.mark.parametrize(("sender", "kind"), [
    ("55555", SenderType.SHORT_CODE), ("123456", SenderType.SHORT_CODE), ("+18005550100", SenderType.TOLL_FREE),
    ("8885550100", SenderType.TOLL_FREE), ("+14155550100", SenderType.LONG_CODE), ("ACME", SenderType.ALPHANUMERIC),
    ("", SenderType.LONG_CODE)])
def test_sender_types(sender: str, kind: SenderType) -> None:
    """Five or six digits are a short code, +1 8XX toll-free, a letter alphanumeric, the rest long codes."""
    assert sender_type(sender) is kind


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    """Negative rates, weights off 1, a backwards window, unknown fields and states, a bad prefix, a name twice."""
    assert problems([
        {"name": "a", "match": ["+44x"], "rates": {"long_code": -1}, "colour": "red",
         "outcomes": [{"state": "delivered", "weight": 0.5}, {"state": "lost", "weight": 0.2}],
         "windows": [{"kind": "outage", "start": 20, "end": 10}, {"kind": "storm", "start": 0, "end": 1}]},
        {"name": "a", "match": ["+1"], "reachability": {"offline": 2, "retry": []}},
    ]) == [
        "carriers[0].rates.long_code: must be at least 0.0 (got -1)",
        "carriers[0].match[0]: must be a number prefix: digits, with an optional + (got '+44x')",
        "carriers[0].outcomes[1].state: must be one of delivered, failed, undeliverable, expired (got 'lost')",
        "carriers[0].outcomes: must have weights that sum to 1 (got 0.7)",
        "carriers[0].windows[0].end: must be after start (20) (got 10.0)",
        "carriers[0].windows[1].kind: must be outage or degraded (got 'storm')",
        "carriers[0].colour: is not a known field (got 'red')",
        "carriers[1].reachability.retry: must be a non-empty list of positive seconds (got [])",
        "carriers[1].reachability.offline: must be at most 1.0 (got 2)",
        "carriers[1].name: must be unique among carriers (also at carriers[0].name) (got 'a')",
    ]


def test_the_section_must_be_a_list() -> None:
    """A mapping where the list of carriers belongs is one problem naming the section."""
    assert problems({"name": "uk"}) == ["carriers: must be a list of carriers (got {'name': 'uk'})"]
