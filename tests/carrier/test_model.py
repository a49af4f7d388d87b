"""Tests for sim.carrier.model: the submit queue and its cap, reachability, outcomes, parts and windows."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

import pytest
import simpy

from sim.carrier.distributions import ExponentialDelay, FixedDelay
from sim.carrier.model import CarrierNetwork, Mt, Submitted
from sim.carrier.settings import (
    CarrierSettings,
    Outcome,
    OverCap,
    Reachability,
    SenderType,
    Service,
    Trigger,
    Window,
)
from sim.core.types import DeliveryState

UK = "+447700900123"
LONG = "+14155550100"


def uk(**changes: object) -> CarrierSettings:
    base = {"name": "uk", "match": ("+44",), "latency": FixedDelay(2.0), "dlr_latency": FixedDelay(0.5)}
    return CarrierSettings(**{**base, **changes})  # type: ignore[arg-type]


def network(*carriers: CarrierSettings, seed: int = 1) -> tuple[simpy.Environment, CarrierNetwork, list]:
    env = simpy.Environment()
    dlrs: list[tuple[float, str, DeliveryState, str]] = []
    net = CarrierNetwork(env, carriers, random.Random(seed),
                         lambda mt, state, code: dlrs.append((env.now, mt.id, state, code)))
    return env, net, dlrs


def test_a_message_reaches_the_handset_then_its_dlr_the_broker() -> None:
    """Submit, 2 s to the handset, 0.5 s back: the DLR lands at 2.5 s plus the one-slot service."""
    env, net, dlrs = network(uk(rates=dict.fromkeys(SenderType, 10.0)))
    assert net.submit(Mt("m1", UK, LONG)) is Submitted.ACCEPTED
    env.run()
    assert dlrs == [(pytest.approx(2.6), "m1", DeliveryState.DELIVERED, "")]


def test_a_number_no_carrier_matches_goes_through_the_default_carrier() -> None:
    """An unmatched number is delivered after the default carrier's 1 s, without a cap."""
    env, net, dlrs = network(uk())
    assert net.carrier_for("+33612345678").name == "default"
    net.submit(Mt("m1", "+33612345678", LONG))
    env.run()
    assert [(at, state) for at, _, state, _ in dlrs] == [(pytest.approx(1.5), DeliveryState.DELIVERED)]


def test_traffic_over_the_cap_waits_one_slot_per_message() -> None:
    """100 messages at once through a long code capped at 10/s leave the queue over 10 s, in order."""
    env, net, dlrs = network(uk(rates=dict.fromkeys(SenderType, 10.0), latency=FixedDelay(0.0),
                                dlr_latency=FixedDelay(0.0)))
    for n in range(100):
        net.submit(Mt(f"m{n}", UK, LONG))
    env.run()
    assert [mt for _, mt, _, _ in dlrs] == [f"m{n}" for n in range(100)]
    assert [at for at, *_ in dlrs][::33] == pytest.approx([0.1, 3.4, 6.7, 10.0])
    assert net.stats.queue.high == pytest.approx(10.0)


def test_asking_about_a_later_time_answers_as_the_environment_moved_there() -> None:
    """A full throttling queue refuses now, and admits at 2 s whether or not the environment is moved."""
    env, net, _ = network(uk(rates=dict.fromkeys(SenderType, 5.0), over_cap=OverCap.THROTTLE, burst=1.0))
    for n in range(7):
        net.submit(Mt(f"m{n}", UK, LONG))
    asked = (net.admits(UK, LONG), net.admits(UK, LONG, at=0.1), net.admits(UK, LONG, at=2.0))
    env.run(until=2.0)
    assert (False, False, True, True) == (*asked, net.admits(UK, LONG))


def test_each_sender_type_has_its_own_queue() -> None:
    """A short code's queue does not wait behind a long code's backlog."""
    _, net, _ = network(uk(rates={SenderType.SHORT_CODE: 100.0, SenderType.LONG_CODE: 1.0,
                                    SenderType.TOLL_FREE: 3.0, SenderType.ALPHANUMERIC: 10.0}))
    for n in range(10):
        net.submit(Mt(f"l{n}", UK, LONG))
    net.submit(Mt("s", UK, "55555"))
    carrier = net.carrier_for(UK)
    assert (net.backlog(carrier, SenderType.LONG_CODE), net.backlog(carrier, SenderType.SHORT_CODE)) == (
        pytest.approx(10.0), pytest.approx(0.01))


def test_throttle_refuses_beyond_the_burst_and_counts_it() -> None:
    """With over_cap: throttle and a 1 s burst at 5/s, the sixth message at once is throttled."""
    _, net, _ = network(uk(rates=dict.fromkeys(SenderType, 5.0), over_cap=OverCap.THROTTLE, burst=1.0))
    answers = [net.submit(Mt(f"m{n}", UK, LONG)) for n in range(8)]
    assert answers == [Submitted.ACCEPTED] * 6 + [Submitted.THROTTLED] * 2
    assert (net.stats.counts["accepted"], net.stats.counts["throttled"]) == (6, 2)


def test_an_always_offline_handset_expires_at_the_validity_period() -> None:
    """Retries at 10 s, 20 s, then every 30 s; a 100 s validity gives EXPIRED after four retries."""
    reach = Reachability(offline=1.0, retry=(10.0, 20.0, 30.0), validity=100.0)
    env, net, dlrs = network(uk(rates=dict.fromkeys(SenderType, 1000.0), reachability=reach,
                                latency=FixedDelay(0.0), dlr_latency=FixedDelay(0.0)))
    net.submit(Mt("m1", UK, LONG))
    env.run()
    # arrivals at 0.001, 10.001, 30.001, 60.001, 90.001; the next retry would be past 100 s
    assert dlrs == [(pytest.approx(90.001), "m1", DeliveryState.EXPIRED, "validity period expired")]
    assert net.stats.counts["retries"] == 4


def test_triggers_come_before_the_weights() -> None:
    """A number matching a trigger gets its state and code; the others follow the weights."""
    trigger = Trigger(re.compile("0000$"), DeliveryState.UNDELIVERABLE, "err-21")
    env, net, dlrs = network(uk(triggers=(trigger,), rates=dict.fromkeys(SenderType, 1000.0)))
    net.submit(Mt("a", "+447700900000", LONG))
    net.submit(Mt("b", UK, LONG))
    env.run()
    assert sorted((mt, state, code) for _, mt, state, code in dlrs) == [
        ("a", DeliveryState.UNDELIVERABLE, "err-21"), ("b", DeliveryState.DELIVERED, "")]


def test_outcome_weights_hold_over_a_large_sample() -> None:
    """With weights 0.9/0.07/0.03 the shares of 20,000 MTs are within a point of each."""
    outcomes = (Outcome(DeliveryState.DELIVERED, 0.9), Outcome(DeliveryState.FAILED, 0.07, "err-1"),
                Outcome(DeliveryState.UNDELIVERABLE, 0.03, "err-2"))
    env, net, _ = network(uk(outcomes=outcomes, rates=dict.fromkeys(SenderType, float("inf"))))
    for n in range(20_000):
        net.submit(Mt(f"m{n}", UK, LONG))
    env.run()
    counts = net.stats.counts
    assert [counts[s] / 20_000 for s in ("delivered", "failed", "undeliverable")] == pytest.approx(
        [0.9, 0.07, 0.03], abs=0.01)


def test_a_concatenated_message_is_delivered_only_when_every_part_is() -> None:
    """Three parts with different latencies: one DLR, after the slowest part; one offline part expires it."""
    env, net, dlrs = network(uk(latency=ExponentialDelay(5.0), rates=dict.fromkeys(SenderType, 1000.0),
                                dlr_latency=FixedDelay(0.0)))
    net.submit(Mt("m1", UK, LONG, parts=3))
    env.run()
    assert [(mt, state) for _, mt, state, _ in dlrs] == [("m1", DeliveryState.DELIVERED)]
    assert dlrs[0][0] == pytest.approx(net.stats.handset.high)
    reach = Reachability(offline=0.5, retry=(1.0,), validity=0.5)
    env, net, dlrs = network(uk(reachability=reach, rates=dict.fromkeys(SenderType, 1000.0)), seed=3)
    for n in range(200):
        net.submit(Mt(f"m{n}", UK, LONG, parts=3))
    env.run()
    share = sum(state is DeliveryState.DELIVERED for *_, state, _ in dlrs) / 200
    assert share == pytest.approx(0.125, abs=0.06)  # all three parts reachable: 0.5 ** 3


def test_admits_answers_what_submit_would_without_taking_a_slot() -> None:
    """``admits`` foretells a throttle and changes nothing, so asking twice gives the same answer."""
    _, net, _ = network(uk(over_cap=OverCap.THROTTLE, burst=1.0, rates=dict.fromkeys(SenderType, 2.0)))
    answers = []
    for n in range(5):
        before = net.admits(UK, LONG), net.admits(UK, LONG)
        answers.append((before, net.submit(Mt(f"m{n}", UK, LONG))))
    assert answers == [((True, True), Submitted.ACCEPTED)] * 3 + [((False, False), Submitted.THROTTLED)] * 2


def test_an_outage_fails_or_holds_and_a_degraded_window_slows() -> None:
    """A fail outage refuses and its DLR says FAILED; a queue outage holds the message; degraded slows it."""
    fail = Window("outage", 0.0, 10.0, mode="fail", code="route down")
    env, net, dlrs = network(uk(windows=(fail,)))
    assert net.submit(Mt("m1", UK, LONG)) is Submitted.REFUSED
    env.run()
    assert [(at, state, code) for at, _, state, code in dlrs] == [(0.5, DeliveryState.FAILED, "route down")]
    hold = Window("outage", 0.0, 10.0, mode="queue")
    env, net, dlrs = network(uk(windows=(hold,), rates=dict.fromkeys(SenderType, 1000.0)))
    net.submit(Mt("m1", UK, LONG))
    env.run()
    assert dlrs[0][0] == pytest.approx(10.0 + 0.001 + 2.0 + 0.5)
    slow = Window("degraded", 0.0, 60.0, factor=4.0)
    env, net, dlrs = network(uk(windows=(slow,), rates=dict.fromkeys(SenderType, 1000.0)))
    net.submit(Mt("m1", UK, LONG))
    env.run()
    assert dlrs[0][0] == pytest.approx(0.001 + 8.0 + 0.5)


def _run(seed: int) -> str:
    carrier = uk(latency=ExponentialDelay(3.0), reachability=Reachability(offline=0.1, retry=(5.0,)),
                 outcomes=(Outcome(DeliveryState.DELIVERED, 0.95), Outcome(DeliveryState.FAILED, 0.05, "x")))
    env, net, _ = network(carrier, seed=seed)
    for n in range(2000):
        env.process(_later(env, net, n))
    env.run()
    return json.dumps(net.stats.to_dict())


def _later(env: simpy.Environment, net: CarrierNetwork, n: int) -> Iterator[simpy.Event]:
    yield env.timeout(n * 0.1)
    net.submit(Mt(f"m{n}", UK, LONG, parts=1 + n % 3))


def test_the_same_seed_gives_the_same_json_byte_for_byte() -> None:
    """Two runs with one seed print identical statistics; another seed differs."""
    assert _run(5) == _run(5)
    assert _run(5) != _run(6)


def test_a_single_server_queue_matches_mm1_theory() -> None:
    """Poisson arrivals at 7/s, exponential service at 10/s: mean time in system within 5% of 1/(mu - lambda)."""
    lam, mu, count = 7.0, 10.0, 200_000
    env, net, _ = network(uk(rates=dict.fromkeys(SenderType, mu), service=Service.EXPONENTIAL,
                             queue_limit=10**9), seed=11)
    arrivals = random.Random(12)

    def source() -> Iterator[simpy.Event]:
        for n in range(count):
            yield env.timeout(arrivals.expovariate(lam))
            net.submit(Mt(str(n), UK, LONG))

    env.process(source())
    env.run()
    assert net.stats.queue.count == count
    assert net.stats.queue.mean == pytest.approx(1 / (mu - lam), rel=0.05)
