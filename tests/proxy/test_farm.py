"""Tests for sim.proxy.farm: the URL test verdict, single-probe flips, Minimum servers, round robin."""

from __future__ import annotations

import pytest

from sim.proxy.farm import Farm, HealthTest, MemberState, MinServers, NoMember, judge, parse_status_ranges

TEST = HealthTest(url="http://farm/sms?healthcheckignore=1", acceptable=((200, 299),), response_match="alive")


@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, "SMS Server alive", (True, "ok")),
    (None, "", (False, "no response within the timeout")),
    (503, "alive", (False, "status 503 is not acceptable")),
    (200, "busy", (False, "body does not contain 'alive'")),
])
def test_judge(status: int | None, body: str, expected: tuple[bool, str]) -> None:
    """A probe passes only with an answer, an acceptable status and the response-match text."""
    assert expected == judge(TEST, status, body)


def test_status_ranges() -> None:
    """Acceptable codes are written as codes and ranges; bad parts say why."""
    assert parse_status_ranges("200-399, 401") == ((200, 399), (401, 401))
    with pytest.raises(ValueError, match="'abc' is not a status code"):
        parse_status_ranges("abc")
    with pytest.raises(ValueError, match="'399-200' must be within 100-999, low to high"):
        parse_status_ranges("399-200")


def test_one_probe_flips_health_each_way() -> None:
    """One failed probe takes a member offline, one success brings it back, each an event."""
    farm = Farm(["a:80", "b:80"], TEST)
    down = farm.record_probe("a:80", None, "", 30.0)
    assert down is not None
    assert (down.member, down.healthy, down.reason) == ("a:80", False, "no response within the timeout")
    assert farm.record_probe("a:80", None, "", 60.0) is None  # already unhealthy: no new event
    up = farm.record_probe("a:80", 200, "alive", 90.0)
    assert up is not None
    assert up.healthy
    assert len(farm.events) == 2


def test_no_healthy_member_is_502_4() -> None:
    """With every member unhealthy, pick answers NoMember with status 502.4."""
    farm = Farm(["a:80", "b:80"], TEST)
    farm.record_probe("a:80", 503, "", 0.0)
    farm.record_probe("b:80", None, "", 0.0)
    assert farm.pick() == NoMember("no member of the farm is healthy and available")


def test_round_robin_is_deterministic() -> None:
    """Requests alternate over healthy members in configuration order."""
    farm = Farm(["a:80", "b:80", "c:80"], TEST)
    farm.record_probe("b:80", 503, "", 0.0)
    assert [farm.pick() for _ in range(4)] == ["a:80", "c:80", "a:80", "c:80"]


def test_unavailable_state_takes_a_member_out() -> None:
    """A member set Unavailable or Drain gets no new request even when healthy."""
    farm = Farm(["a:80", "b:80"], TEST)
    farm.state["a:80"] = MemberState.DRAIN
    assert {farm.pick() for _ in range(3)} == {"b:80"}


@pytest.mark.parametrize(("mode", "expected"), [(MinServers.HONOR_HEALTH, ["a:80"]),
                                               (MinServers.DISREGARD_HEALTH, ["a:80", "b:80"])])
def test_minimum_servers_branches(mode: MinServers, expected: list[str]) -> None:
    """Below Minimum servers, honour-health keeps to healthy members; disregard-health uses all."""
    farm = Farm(["a:80", "b:80"], HealthTest(min_servers=2, min_servers_mode=mode))
    farm.record_probe("b:80", 404, "", 0.0)
    assert expected == farm.eligible()


def test_live_traffic_only_marks_unhealthy() -> None:
    """A 5xx in live traffic takes a member offline; a 2xx never brings one back."""
    farm = Farm(["a:80"], TEST)
    assert farm.live_failure("a:80", 200, 1.0) is None
    assert farm.live_failure("a:80", 502, 2.0) is not None
    assert farm.healthy["a:80"] is False
    assert farm.bring_back("a:80", 3.0) is not None


def test_events_are_bounded() -> None:
    """The health-change log keeps only the newest events."""
    farm = Farm(["a:80"], TEST, events_limit=3)
    for n in range(10):
        farm.record_probe("a:80", None if n % 2 else 200, "alive", float(n))
    assert [e.at for e in farm.events] == [7.0, 8.0, 9.0]


def test_probing_fills_in_the_url_only_when_the_test_names_none() -> None:
    """An unset probe URL becomes the farm's; a configured one is kept, with every other setting."""
    configured = HealthTest("/own?healthcheckignore=1", 0.2, 1.0, ((200, 299),), "OK", 1, MinServers.HONOR_HEALTH, 3)
    assert configured is configured.probing("/kaleyra/mo?healthcheckignore=1")
    derived = HealthTest(interval=0.5, burst=2).probing("/kaleyra/mo?healthcheckignore=1")
    assert HealthTest("/kaleyra/mo?healthcheckignore=1", 0.5, 30.0, ((200, 399),), "", 0,
                      MinServers.HONOR_HEALTH, 2) == derived


# -- the edges the mutation run found unguarded (issue 19) ---------------------------------------------------


@pytest.mark.parametrize(("text", "ranges"), [("100", ((100, 100),)), ("999", ((999, 999),)), ("100-999", ((100, 999),))])
def test_status_ranges_take_100_and_999_themselves(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    """100 and 999, the ends of the allowed codes, are accepted alone and as a range."""
    assert ranges == parse_status_ranges(text)


@pytest.mark.parametrize("text", ["99", "1000", "99-200", "200-1000"])
def test_status_ranges_refuse_codes_just_outside(text: str) -> None:
    """99 and 1000 are refused, alone or as an end of a range."""
    with pytest.raises(ValueError, match="must be within 100-999"):
        parse_status_ranges(text)


def test_the_top_of_an_acceptable_range_is_acceptable() -> None:
    """With 200-299 acceptable, 299 passes and 300 does not."""
    assert (True, False) == (judge(TEST, 299, "alive")[0], judge(TEST, 300, "alive")[0])


def test_a_probe_is_remembered_with_its_time_status_and_reason() -> None:
    """last_probe keeps, per member, when the last probe was, what it answered and the verdict."""
    farm = Farm(["a:80"], TEST)
    farm.record_probe("a:80", 503, "", 4.0)
    assert {"a:80": (4.0, 503, "status 503 is not acceptable")} == farm.last_probe


def test_live_traffic_takes_a_member_out_from_500_and_says_why() -> None:
    """499 leaves it healthy; 500 takes it out, the change at that time with the status in the reason."""
    farm = Farm(["a:80"], TEST)
    assert farm.live_failure("a:80", 499, 1.0) is None
    change = farm.live_failure("a:80", 500, 2.0)
    assert change is not None
    assert (2.0, "a:80", False, "live traffic answered 500") == (change.at, change.member, change.healthy,
                                                                 change.reason)


def test_bringing_a_member_back_by_hand_is_an_event_with_its_reason() -> None:
    """The manual bring-back makes the member healthy at that time, reason 'brought back by hand'."""
    farm = Farm(["a:80"], TEST)
    farm.live_failure("a:80", 503, 1.0)
    change = farm.bring_back("a:80", 5.0)
    assert change is not None
    assert ((5.0, "a:80", True, "brought back by hand"), True) == (
        (change.at, change.member, change.healthy, change.reason), farm.healthy["a:80"] is True)


def test_disregard_health_applies_below_the_minimum_only() -> None:
    """Minimum 1 with one healthy member: exactly at the minimum, only the healthy one is eligible."""
    farm = Farm(["a:80", "b:80"], HealthTest(min_servers=1, min_servers_mode=MinServers.DISREGARD_HEALTH))
    farm.record_probe("b:80", 404, "", 0.0)
    assert ["a:80"] == farm.eligible()


def test_round_robin_goes_forward_through_the_configuration_order() -> None:
    """Three healthy members are picked a, b, c, a: forward, not backward."""
    farm = Farm(["a:80", "b:80", "c:80"], TEST)
    assert ["a:80", "b:80", "c:80", "a:80"] == [farm.pick() for _ in range(4)]
