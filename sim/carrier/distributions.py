"""Delay distributions: how long a hop takes (MT acceptance to DLR in the fakes; submit to handset, handset
to broker in the carrier model), drawn from a ``random.Random`` the caller passes in.

``read_delay`` reads one from a settings mapping, the shape every ``delay``/``latency`` key of a lab file
takes::

    {distribution: fixed, seconds: 1.0}
    {distribution: uniform, low: 0.5, high: 2.0}
    {distribution: exponential, mean: 2.0, maximum: 60}
    {distribution: lognormal, median: 2.0, sigma: 0.8, maximum: 60}
    {distribution: empirical, percentiles: {p50: 2.0, p90: 8.0, p99: 30.0, p100: 60.0}}

The empirical table is what a user reads off a carrier's delivery report: the time under which a given share
of messages arrived. It is drawn as a piecewise-linear inverse CDF through its knots, from ``min`` (0 by
default) at p0 to the last knot, which must be p100 so every draw is bounded.
"""

from __future__ import annotations

import bisect
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sim.core.schema import Reader

__all__ = ["DISTRIBUTIONS", "DelayModel", "EmpiricalDelay", "ExponentialDelay", "FixedDelay",
           "LogNormalDelay", "UniformDelay", "read_delay"]

DISTRIBUTIONS = ("fixed", "uniform", "exponential", "lognormal", "empirical")
_PERCENTILE = re.compile(r"p(\d{1,3}(?:\.\d+)?)")


class DelayModel(Protocol):
    """Draws a delay in seconds, never negative."""

    def draw(self, rng: random.Random) -> float:
        """One delay in seconds."""
        ...


@dataclass(frozen=True)
class FixedDelay:
    """Always ``seconds``."""

    seconds: float = 1.0

    def draw(self, rng: random.Random) -> float:
        """Return the fixed delay."""
        return self.seconds


@dataclass(frozen=True)
class UniformDelay:
    """Uniform between ``low`` and ``high`` seconds."""

    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        """Draw uniformly."""
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class ExponentialDelay:
    """Exponential with the given ``mean``, optionally capped at ``maximum``."""

    mean: float
    maximum: float = math.inf

    def draw(self, rng: random.Random) -> float:
        """Draw from the exponential distribution."""
        return min(self.maximum, rng.expovariate(1.0 / self.mean)) if self.mean > 0 else 0.0


@dataclass(frozen=True)
class LogNormalDelay:
    """Log-normal with the given ``median`` (e^mu) and ``sigma``, optionally capped at ``maximum``.

    Carrier delivery times are long-tailed; the median is the easier number to read off a trace.
    """

    median: float
    sigma: float
    maximum: float = math.inf

    def draw(self, rng: random.Random) -> float:
        """Draw from the log-normal distribution."""
        return min(self.maximum, rng.lognormvariate(math.log(self.median), self.sigma))


@dataclass(frozen=True)
class EmpiricalDelay:
    """A table of percentiles, drawn by linear interpolation between its knots.

    Attributes:
        knots: ``(fraction, seconds)`` pairs, fractions rising from 0 to 1 and seconds never falling.
    """

    knots: tuple[tuple[float, float], ...]

    def quantile(self, u: float) -> float:
        """The delay under which a share ``u`` (0 to 1) of draws fall."""
        fractions = [f for f, _ in self.knots]
        i = min(max(bisect.bisect_left(fractions, u), 1), len(self.knots) - 1)
        (f0, s0), (f1, s1) = self.knots[i - 1], self.knots[i]
        if u >= f1 or f1 == f0:
            return s1
        return s0 + (s1 - s0) * (u - f0) / (f1 - f0)

    def draw(self, rng: random.Random) -> float:
        """Draw through the inverse CDF."""
        return self.quantile(rng.random())


def read_delay(r: Reader, default_seconds: float) -> DelayModel:
    """A delay from its settings mapping (problems on ``r``; fixed ``default_seconds`` when absent).

    An unknown ``distribution`` is the one problem reported: which other keys belong depends on it, so none
    of them is reported as unknown beside it.
    """
    kind = r.text("distribution", "fixed")
    maximum = r.number("maximum", math.inf, minimum=0.0)
    out: DelayModel = FixedDelay(default_seconds)
    if kind == "fixed":
        out = FixedDelay(r.number("seconds", default_seconds, minimum=0.0))
    elif kind == "uniform":
        low, high = r.number("low", minimum=0.0), r.number("high", minimum=0.0)
        if high < low:
            r.problem("high", high, f"must be at least low ({low})")
        out = UniformDelay(low, min(high, maximum))
    elif kind == "exponential":
        out = ExponentialDelay(r.number("mean", minimum=0.0), maximum)
    elif kind == "lognormal":
        median = r.number("median", minimum=0.0)
        if median <= 0:
            r.problem("median", median, "must be above 0")
        out = LogNormalDelay(median if median > 0 else 1.0, r.number("sigma", minimum=0.0), maximum)
    elif kind == "empirical":
        out = _empirical(r)
    else:
        r.problem("distribution", kind, f"must be one of {', '.join(DISTRIBUTIONS)}")
        r.used.update(str(key) for key in r.data)
    r.done()
    return out


def _empirical(r: Reader) -> EmpiricalDelay:
    low = r.number("min", 0.0, minimum=0.0)
    table = r.child("percentiles")
    given = table.data if isinstance(table.data, Mapping) else {}
    knots = [(0.0, low)]
    for key in sorted(map(str, given), key=lambda k: (math.isnan(_fraction(k)), _fraction(k))):
        fraction, seconds = _fraction(key), table.number(key, minimum=0.0)
        if math.isnan(fraction) or not 0 < fraction <= 1:
            table.problem(key, given[key], "must be named p1 to p100 (e.g. p50, p99.9)")
        elif seconds < knots[-1][1]:
            table.problem(key, seconds, f"must be at least the lower percentile's {knots[-1][1]:g} s")
        else:
            knots.append((fraction, seconds))
    if knots[-1][0] != 1.0:
        table.problem("p100", given.get("p100"), "is required: the slowest delay, so every draw is bounded")
        knots.append((1.0, knots[-1][1]))
    table.done()
    return EmpiricalDelay(tuple(knots))


def _fraction(key: str) -> float:
    found = _PERCENTILE.fullmatch(key)
    return float(found.group(1)) / 100 if found else math.nan
