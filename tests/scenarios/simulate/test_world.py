"""Tests for scenarios.simulate.world: the whole lab in virtual time, from MT to DLR and MO to store."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.simulate.report import figures
from scenarios.simulate.world import simulate

from .conftest import CAMPAIGN, US


def test_every_mt_of_a_quiet_run_gets_its_dlr(make_whatif: Any) -> None:
    """No fault: 200 MTs sent, accepted, and 200 DLRs stored, split by the carrier's weights."""
    f = figures(simulate(make_whatif()))
    assert (f["mt.requested"], f["mt.sent"], f["mt.accepted"], f["dlr.stored"]) == (200, 200, 200, 200)
    assert f["dlr.delivered"] + f["dlr.failed"] == 200
    assert 5 <= f["dlr.failed"] <= 40
    assert (f["lost"], f["gap_s"], f["switchovers"]) == (0, 0.0, 0)


def test_submit_to_dlr_is_the_carriers_latency(make_whatif: Any) -> None:
    """With fixed latencies and no queueing, every DLR is stored 2 s + 0.5 s after its MT (within a bucket)."""
    f = figures(simulate(make_whatif()))
    assert f["dlr_s.p50"] == pytest.approx(2.5, rel=0.04)
    assert f["dlr_s.p99"] == pytest.approx(2.5, rel=0.04)


def test_a_kill_of_the_primary_is_a_gap_and_nothing_is_lost(make_whatif: Any) -> None:
    """The primary killed at 10 s: the backup takes over after the timers, DLRs wait for it, none is lost."""
    result = simulate(make_whatif(events=[{"at": 10, "do": "kill", "node": "primary"}]))
    f = figures(result)
    assert f["switchovers"] == 1
    assert f["takeover_s"] == pytest.approx(6.0)  # the ping at 10 s fails, its retry at 11 s, 5 s takeover
    assert f["mt.not_sent"] == 60  # 10/s while no server is active: from 10 s to 16 s
    assert f["dlr.stored"] == f["mt.accepted"] == 140
    assert f["lost"] == 0
    assert 0 < f["gap_s"] <= 6.0 + 10.0 + 10.0  # takeover + probe interval + retry interval (model seconds)


def test_the_same_seed_gives_the_same_figures_and_another_seed_others(make_whatif: Any) -> None:
    """The run is a function of the file and its seed."""
    one, two = figures(simulate(make_whatif())), figures(simulate(make_whatif()))
    other = figures(simulate(make_whatif(seed=4)))
    assert one == two
    assert (one["dlr.delivered"], one["dlr.failed"]) != (other["dlr.delivered"], other["dlr.failed"])


def test_a_carrier_outage_fails_the_mts_inside_it(make_whatif: Any) -> None:
    """A fail outage from 5 s to 10 s: the 50 MTs in it get FAILED DLRs, the others the weights."""
    delivered = {**US, "outcomes": [{"state": "delivered", "weight": 1.0}]}
    f = figures(simulate(make_whatif(carriers=[delivered], events=[
        {"at": 5, "do": "carrier-outage", "carrier": "us", "until": 10}])))
    assert f["dlr.failed"] == 50
    assert f["dlr.delivered"] == 150


def test_a_burst_over_a_throttling_cap_is_throttled(make_whatif: Any) -> None:
    """100 MTs/s from the toll-free number into a 10/s cap that throttles beyond 1 s of backlog."""
    capped = {**US, "rates": {**US["rates"], "toll_free": 10}, "over_cap": "throttle", "burst": 1}
    f = figures(simulate(make_whatif(carriers=[capped], traffic={"campaigns": [
        {**CAMPAIGN, "rate": 100, "count": 1000}]})))
    assert f["mt.throttled"] > 0
    assert f["mt.accepted"] + f["mt.throttled"] == 1000
    assert f["mt.accepted"] == pytest.approx(10 * 10 + 11, abs=3)  # 10 s at the cap, plus the burst


def test_population_mos_are_stored_once_each(make_whatif: Any) -> None:
    """Customers texting at 2/s for 60 s: every MO the brokers push is stored, none twice."""
    people = [{"name": "p", "broker": "kaleyra", "country": "+1", "size": 20, "to": "8005550100",
               "arrivals": {"kind": "poisson", "rate": 2}}]
    f = figures(simulate(make_whatif(populations=people, traffic={})))
    assert f["mo.sent"] > 60
    assert f["mo.stored"] == f["mo.sent"]
    assert f["duplicated"] == 0


def test_mos_across_a_kill_without_recovery_are_unrecovered(make_whatif: Any) -> None:
    """Recovery off (the server parameter at 0): the MOs the old primary stored count as unrecovered."""
    people = [{"name": "p", "broker": "kaleyra", "country": "+1", "size": 20, "to": "8005550100",
               "arrivals": {"kind": "poisson", "rate": 2}}]
    result = simulate(make_whatif(populations=people, traffic={}, server_parameters={
        "SMS Interaction Recovery Enabled": 0}, events=[{"at": 30, "do": "kill", "node": "primary"}]))
    f = figures(result)
    assert f["unrecovered"] > 30
    assert f["lost"] == f["unrecovered"] + f["given_up"]


def test_a_member_set_offline_takes_no_traffic(make_whatif: Any) -> None:
    """The primary's farm member set Unavailable: no member may take pushes, so they wait, then land."""
    result = simulate(make_whatif(events=[{"at": 10, "do": "member-offline", "node": "primary", "until": 20}]))
    f = figures(result)
    assert f["gap_s"] >= 9.0
    assert f["dlr.stored"] == 200
    assert ("member-online" in [what for _, what, _ in result.timeline])


def test_a_hung_primary_is_detected_by_ping_timeouts(make_whatif: Any) -> None:
    """Hung at 10 s, just before a ping: two 10 s ping timeouts, the 1 s retry and the 5 s takeover: 26 s."""
    f = figures(simulate(make_whatif(duration=120, events=[{"at": 10, "do": "hang", "node": "primary"}])))
    assert f["takeover_s"] == pytest.approx(26.0)
    assert f["lost"] == 0


def test_a_remote_core_is_refused_offline(make_whatif: Any) -> None:
    """A lab whose core is a URL cannot run offline: a config error names core.url."""
    from sim.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"core\.url"):
        simulate(make_whatif(core={"url": "http://127.0.0.1:9/"}))


def test_a_lab_of_external_servers_is_refused_offline() -> None:
    """The Kannel example's pair is two real gateways: simulate refuses it with a config error naming it."""
    from scenarios.paths import EXAMPLES_DIR
    from scenarios.simulate.whatif import read_whatif
    from sim.core.errors import ConfigError

    whatif = read_whatif({"lab": str(EXAMPLES_DIR / "kannel-lab.yaml"), "duration": 10}, "w.yaml")
    with pytest.raises(ConfigError, match=r"cic\.nodes: .*external servers cannot run offline \(got 'external: backup, primary'\)"):
        simulate(whatif)


def test_messages_held_for_consolidation_are_all_released(make_whatif: Any) -> None:
    """Consolidation on, two MTs a second apart to two handsets: each waits its window and is sent; none
    is left held once the first one's release has run."""
    from scenarios.simulate.world import World

    world = World(make_whatif(seed=3, sms={"consolidate_messages": True}, traffic={"campaigns": [
        {**CAMPAIGN, "count": 2, "rate": 1, "to": {"country": "+1", "size": 2}}]}))
    f = figures(world.run())
    assert (f["mt.sent"], f["mt.accepted"], f["dlr.stored"]) == (2, 2, 2)
    assert world.pair.active.core.next_due() is None


def test_the_retry_backlog_is_the_most_pushes_waiting_at_once(make_whatif: Any) -> None:
    """No fault, no retry; across a kill, the DLRs that failed wait for their retry and are counted."""
    assert figures(simulate(make_whatif()))["backlog"] == 0
    f = figures(simulate(make_whatif(events=[{"at": 2, "do": "kill", "node": "primary"}])))
    assert f["backlog"] > 0
    assert f["lost"] == 0
