"""Tests for sim.carrier.distributions: each delay distribution and the reader of its settings."""

from __future__ import annotations

import math
import random

import pytest

from sim.carrier.distributions import (
    EmpiricalDelay,
    ExponentialDelay,
    FixedDelay,
    LogNormalDelay,
    UniformDelay,
    read_delay,
)
from sim.core.errors import ConfigError
from sim.core.schema import Reader


def read(mapping: object, default: float = 1.0) -> object:
    r = Reader(mapping, "latency")
    delay = read_delay(r, default)
    r.raise_if_problems("lab.yaml")
    return delay


def problems(mapping: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read(mapping)
    return [str(p) for p in caught.value.problems]


def test_each_distribution_is_read_with_its_parameters() -> None:
    """Every shape a delay setting takes gives its distribution, and an absent one the fixed default."""
    assert read({}, 2.5) == FixedDelay(2.5)
    assert read({"distribution": "uniform", "low": 1, "high": 3}) == UniformDelay(1, 3)
    assert read({"distribution": "exponential", "mean": 2, "maximum": 9}) == ExponentialDelay(2, 9)
    assert read({"distribution": "lognormal", "median": 2, "sigma": 0.5}) == LogNormalDelay(2, 0.5, math.inf)
    assert read({"distribution": "empirical", "percentiles": {"p50": 2, "p100": 10}}) == EmpiricalDelay(
        ((0.0, 0.0), (0.5, 2.0), (1.0, 10.0)))


def test_the_empirical_table_is_a_piecewise_linear_inverse_cdf() -> None:
    """At each knot the quantile is the knot's delay; between two knots it is on the line joining them."""
    table = EmpiricalDelay(((0.0, 1.0), (0.5, 2.0), (0.9, 8.0), (1.0, 30.0)))
    assert [table.quantile(u) for u in (0.0, 0.5, 0.9, 1.0)] == [1.0, 2.0, 8.0, 30.0]
    assert table.quantile(0.25) == pytest.approx(1.5)
    assert table.quantile(0.7) == pytest.approx(5.0)
    rng = random.Random(7)
    draws = sorted(table.draw(rng) for _ in range(20_000))
    assert (draws[0] >= 1.0, draws[-1] <= 30.0) == (True, True)
    assert draws[10_000] == pytest.approx(2.0, rel=0.05)
    assert draws[18_000] == pytest.approx(8.0, rel=0.05)


def test_a_bad_table_names_each_problem() -> None:
    """A percentile out of range, a falling delay and a missing p100 are each reported by path."""
    assert problems({"distribution": "empirical", "percentiles": {"p50": 5, "p90": 2, "x": 1}}) == [
        "latency.percentiles.p90: must be at least the lower percentile's 5 s (got 2.0)",
        "latency.percentiles.x: must be named p1 to p100 (e.g. p50, p99.9) (got 1)",
        "latency.percentiles.p100: is required: the slowest delay, so every draw is bounded (got None)",
    ]


def test_an_unknown_distribution_is_the_only_problem_reported() -> None:
    """Its sibling keys are not reported as unknown beside it."""
    assert problems({"distribution": "gamma", "seconds": 1, "shape": 2}) == [
        "latency.distribution: must be one of fixed, uniform, exponential, lognormal, empirical (got 'gamma')"]


def test_uniform_high_below_low_is_refused() -> None:
    """A uniform range whose high is below its low is a problem on high."""
    assert problems({"distribution": "uniform", "low": 3, "high": 1}) == [
        "latency.high: must be at least low (3.0) (got 1.0)"]
