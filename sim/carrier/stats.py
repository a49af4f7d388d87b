"""Streaming statistics of a carrier run: counters and fixed-memory latency histograms.

A run of a million messages keeps no list per message: each latency goes into a ``Histogram`` of
log-spaced buckets (``BUCKETS_PER_DECADE`` per factor of ten: a bucket is 6 % wide, so a percentile is
within about 3 % of the true value) with its exact count, sum and extremes. Everything is plain data with
a stable key order, so the same seed gives the same JSON, byte for byte.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUCKETS_PER_DECADE", "Histogram", "RunStats"]

BUCKETS_PER_DECADE = 40
_SMALLEST = 1e-4  # seconds; anything faster counts as this (a tenth of a millisecond)
_floor, _log10 = math.floor, math.log10  # looked up once: add() runs a few times per message


@dataclass
class Histogram:
    """Latencies in seconds, bucketed on a log scale."""

    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = 0.0
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, seconds: float) -> None:
        """Count one latency."""
        # Three of these per MT in a live fake's carrier model: comparisons, not min()/max() calls.
        self.count += 1
        self.total += seconds
        if seconds < self.low:  # noqa: PLR1730 - see above
            self.low = seconds
        if seconds > self.high:  # noqa: PLR1730 - see above
            self.high = seconds
        bucket = _floor(_log10(seconds if seconds > _SMALLEST else _SMALLEST) * BUCKETS_PER_DECADE)
        buckets = self.buckets
        buckets[bucket] = buckets.get(bucket, 0) + 1

    @property
    def mean(self) -> float:
        """The exact mean (0 when empty)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, share: float) -> float:
        """The latency under which ``share`` (0 to 1) of the values fall: a bucket's middle, clamped."""
        if not self.count:
            return 0.0
        rank, seen = share * self.count, 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                middle = 10 ** ((bucket + 0.5) / BUCKETS_PER_DECADE)
                return min(max(middle, self.low), self.high)
        return self.high

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s values to these."""
        self.count += other.count
        self.total += other.total
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.buckets.update(other.buckets)

    def to_dict(self) -> dict[str, Any]:
        """Count, mean, p50, p95, p99 and max, rounded to the microsecond."""
        return {"count": self.count, "mean": round(self.mean, 6), "p50": round(self.percentile(0.5), 6),
                "p95": round(self.percentile(0.95), 6), "p99": round(self.percentile(0.99), 6),
                "max": round(self.high, 6)}


@dataclass
class RunStats:
    """What a carrier network saw: counters by name, and latency histograms by hop."""

    counts: Counter[str] = field(default_factory=Counter)
    queue: Histogram = field(default_factory=Histogram)  # submit to leaving the carrier's submit queue
    handset: Histogram = field(default_factory=Histogram)  # submit to the last part on the handset
    dlr: Histogram = field(default_factory=Histogram)  # submit to the DLR reaching the broker

    def to_dict(self) -> dict[str, Any]:
        """Counters sorted by name, then each histogram."""
        return {"counts": dict(sorted(self.counts.items())), "queue_s": self.queue.to_dict(),
                "handset_s": self.handset.to_dict(), "dlr_s": self.dlr.to_dict()}
