"""Tests for sim.carrier.population: Faker numbers, Poisson and bursty arrivals, replies and the text mix."""

from __future__ import annotations

import random

import pytest
import simpy

from sim.carrier.distributions import ExponentialDelay, FixedDelay
from sim.carrier.population import (
    Arrivals,
    Mo,
    Population,
    PopulationSettings,
    make_numbers,
    read_populations,
)
from sim.core.errors import ConfigError
from sim.core.segmentation import ParsingMode, segment


def run(settings: PopulationSettings, until: float, seed: int = 1) -> tuple[Population, list[tuple[float, Mo]]]:
    env = simpy.Environment()
    seen: list[tuple[float, Mo]] = []
    population = Population(settings, random.Random(seed), lambda mo: seen.append((env.now, mo)), seed=seed)
    env.process(population.run(env, until=until))
    env.run(until=until)
    return population, seen


def test_numbers_are_distinct_e164_of_the_country_and_seeded() -> None:
    """UK numbers start +44 with ten national digits; one seed gives the same list, another a different one."""
    numbers = make_numbers("44", 200, seed=3)
    assert len(set(numbers)) == 200
    assert all(n.startswith("+44") and len(n) == 13 and n[1:].isdigit() for n in numbers)
    assert make_numbers("44", 200, seed=3) == numbers
    assert make_numbers("44", 200, seed=4) != numbers
    assert all(len(n) == 13 for n in make_numbers("352", 5, seed=1))  # no locale: digits after the code


def test_poisson_arrivals_come_at_their_rate() -> None:
    """At 5 MOs/s over 2,000 s about 10,000 MOs arrive, from the population's own numbers, to its number."""
    settings = PopulationSettings("uk", "44", 50, "8005550100", Arrivals("poisson", 5.0))
    population, seen = run(settings, 2000.0)
    assert len(seen) == pytest.approx(10_000, rel=0.03)
    assert {mo.sender for _, mo in seen} <= set(population.numbers)
    assert {mo.to for _, mo in seen} == {"8005550100"}


def test_bursty_arrivals_are_quiet_between_bursts() -> None:
    """On 10 s, off 40 s: every MO falls in the first 10 s of each 50 s period."""
    settings = PopulationSettings("b", "1", 10, "55555", Arrivals("bursty", 20.0, on=10.0, off=40.0))
    _, seen = run(settings, 500.0)
    assert all(at % 50 < 10 for at, _ in seen)
    assert len(seen) == pytest.approx(20 * 10 * 10, rel=0.1)


def test_a_handset_replies_after_its_think_time() -> None:
    """With reply probability 1 and a fixed 20 s think, an MT to a member brings its MO 20 s later."""
    settings = PopulationSettings("r", "1", 5, "55555", Arrivals("poisson", 1e-9), reply_probability=1.0,
                                  think=FixedDelay(20.0))
    env = simpy.Environment()
    seen: list[tuple[float, str]] = []
    population = Population(settings, random.Random(1), lambda mo: seen.append((env.now, mo.sender)))
    env.process(population.run(env, until=100.0))
    env.run(until=5.0)
    population.mt_arrived(population.numbers[2])
    population.mt_arrived("+19999999999")  # not one of its handsets: no reply
    env.run(until=100.0)
    assert seen == [(25.0, population.numbers[2])]


def test_the_text_mix_includes_multipart_and_unicode_texts() -> None:
    """A mix of long and unicode texts gives MOs that need several GSM parts and MOs in UCS-2."""
    settings = PopulationSettings("t", "1", 5, "55555", Arrivals("poisson", 10.0),
                                  texts=(("long", 0.5), ("unicode", 0.5)))
    _, seen = run(settings, 100.0)
    segmented = [segment(mo.text, ParsingMode.SPLIT) for _, mo in seen]
    assert any(len(s.segments) > 1 and s.encoding.value == "GSM-7" for s in segmented)
    assert any(s.encoding.value == "UCS-2" for s in segmented)


def test_populations_are_read_and_every_problem_reported() -> None:
    """A valid entry reads; a bad country, rate, text kind, weight sum and a missing `to` are all named."""
    [p] = read_populations([{"name": "uk", "country": "+44", "size": 10, "to": "8005550100",
                             "arrivals": {"kind": "bursty", "rate": 2, "on": 5, "off": 5},
                             "reply": {"probability": 0.5}, "texts": {"gsm": 0.5, "unicode": 0.5}}])
    assert (p.country, p.arrivals, p.reply_probability, p.texts, p.think) == (
        "44", Arrivals("bursty", 2.0, 5.0, 5.0), 0.5, (("gsm", 0.5), ("unicode", 0.5)), ExponentialDelay(20.0))
    with pytest.raises(ConfigError) as caught:
        read_populations([{"name": "x", "country": "abc", "arrivals": {"rate": 0},
                           "texts": {"gsm": 0.5, "haiku": 0.5}}])
    assert [str(problem) for problem in caught.value.problems] == [
        "populations[0].country: must be a country code of 1 to 3 digits, e.g. +44 (got 'abc')",
        "populations[0].arrivals.rate: must be above 0 (got 0.0)",
        "populations[0].texts.haiku: must be one of gsm, long, unicode (got 0.5)",
        "populations[0].texts: must have weights that sum to 1 (got 0.5)",
        "populations[0].to: is required (got None)",
    ]
