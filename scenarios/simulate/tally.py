"""What an offline run counts: counters, latency histograms and a time series, in fixed memory.

Nothing is kept per message: counters, log-bucketed histograms (``sim.carrier.stats.Histogram``) and one
row per ``step`` seconds of the run, so a run of a million MTs costs the same memory as one of a hundred
thousand. The failover gap follows ``smslab failover``'s definition: from the first push that failed to the
first one accepted after it, on the model's clock.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from sim.carrier.stats import Histogram

__all__ = ["COLUMNS", "Tally"]

#: The columns of the time series: counts in each step, then what stood at its end.
COLUMNS = ("t", "mt_sent", "mt_accepted", "throttled", "dlr_stored", "mo_stored", "push_failed",
           "retry_backlog", "carrier_backlog_s", "active")
_COUNTED = COLUMNS[1:7]


class Tally:
    """The run's figures.

    Args:
        duration: the run's length in seconds.
        step: seconds per row of the time series.
    """

    def __init__(self, duration: float, step: float) -> None:
        self.step = step
        self.rows = max(1, math.ceil(duration / step))
        self.counts: Counter[str] = Counter()
        self.dlr = Histogram()  # MT handed to the broker -> its DLR stored on a node
        self.mo = Histogram()  # the broker's first push of an MO -> stored on a node
        self.series: dict[str, list[Any]] = {c: [0] * self.rows for c in _COUNTED}
        self.series["retry_backlog"] = [0] * self.rows
        self.series["carrier_backlog_s"] = [0.0] * self.rows
        self.series["active"] = [""] * self.rows
        self.gaps: list[float] = []
        self.waiting = 0  # pushes waiting for their retry now, every broker together
        self.backlog_peak = 0  # the most that ever waited at once
        self._failing_since: float | None = None
        self._taken: Counter[str] = Counter()  # each series column's count when the last step ended

    def count(self, name: str, now: float, n: int = 1) -> None:
        """Count ``n`` of ``name`` at ``now`` (a series column's step total is taken when its step ends)."""
        self.counts[name] += n

    def close_row(self, row: int) -> None:
        """Step ``row`` has ended: what each series column counted in it."""
        if not 0 <= row < self.rows:
            return
        counts, taken = self.counts, self._taken
        for column in _COUNTED:
            self.series[column][row] = counts[column] - taken[column]
            taken[column] = counts[column]

    def push_failed(self, now: float) -> None:
        """A push attempt failed: the start of a gap, unless one is open."""
        self.count("push_failed", now)
        if self._failing_since is None:
            self._failing_since = now

    def push_accepted(self, now: float) -> None:
        """A push attempt was accepted: the end of an open gap."""
        if self._failing_since is not None:
            self.gaps.append(now - self._failing_since)
            self._failing_since = None

    def retry_waiting(self, change: int) -> None:
        """A push starts (+1) or ends (-1) its wait for a retry."""
        self.waiting += change
        self.backlog_peak = max(self.backlog_peak, self.waiting)

    def sample(self, row: int, retry_backlog: int, carrier_backlog: float, active: str) -> None:
        """What stands as step ``row`` begins: pushes waiting for a retry, the longest carrier queue, the
        active node."""
        self.series["retry_backlog"][row] = max(self.series["retry_backlog"][row], retry_backlog)
        self.series["carrier_backlog_s"][row] = max(self.series["carrier_backlog_s"][row],
                                                    round(carrier_backlog, 6))
        self.series["active"][row] = active

    def table(self) -> list[list[Any]]:
        """The time series as rows, the columns of ``COLUMNS``."""
        rows = []
        for i in range(self.rows):
            rows.append([round(i * self.step, 6), *(self.series[c][i] for c in COLUMNS[1:])])
        return rows
