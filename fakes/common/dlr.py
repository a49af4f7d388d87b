"""DLR scheduling: which outcome an MT gets, after how long, and one timer that delivers them when due.

The choice is sans-IO: an ``OutcomeModel`` picks a ``DeliveryState`` for a destination and a
``DelayModel`` (``sim.carrier.distributions``, shared with the carrier model) draws a delay, both from a
seeded ``random.Random`` passed in. Deterministic triggers (a
regex on the destination number, checked first, in order) let a test force an outcome for a number
without relying on probabilities. Both are protocols so the SimPy carrier model (``sim/carrier``) can
replace them later without touching the fakes.

``DlrScheduler`` is the only part that touches the loop: one timer per fake over a heap ordered by due
time (not one asyncio task per DLR), bounded by ``limit`` pending entries.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from fakes.common.clock import Cancellable, Clock
from sim.carrier.distributions import (
    DelayModel,
    EmpiricalDelay,
    ExponentialDelay,
    FixedDelay,
    LogNormalDelay,
    UniformDelay,
)
from sim.core.types import DeliveryState

__all__ = [
    "FINAL_STATES", "DelayModel", "DlrPlanner", "DlrScheduler", "EmpiricalDelay", "ExponentialDelay",
    "FixedDelay", "LogNormalDelay", "OutcomeModel", "TimerHeap", "TriggeredOutcomes", "UniformDelay",
]

T = TypeVar("T")

#: The outcomes a fake's DLR can report (issue 3: delivered, failed, undeliverable, expired).
FINAL_STATES: tuple[DeliveryState, ...] = (
    DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.UNDELIVERABLE, DeliveryState.EXPIRED,
)


class OutcomeModel(Protocol):
    """Chooses the final state of an MT to ``recipient`` (the carrier model's seam)."""

    def choose(self, recipient: str, rng: random.Random) -> DeliveryState:
        """The outcome for one MT."""
        ...


@dataclass(frozen=True)
class TriggeredOutcomes:
    """Triggers first (``re.search`` on the destination, first match wins), else seeded weights.

    Attributes:
        triggers: ``(pattern, state)`` pairs in the order they are checked.
        weights: ``(state, weight)`` pairs; weights need not sum to 1.
    """

    triggers: tuple[tuple[re.Pattern[str], DeliveryState], ...] = ()
    weights: tuple[tuple[DeliveryState, float], ...] = ((DeliveryState.DELIVERED, 1.0),)

    def choose(self, recipient: str, rng: random.Random) -> DeliveryState:
        """The first trigger's state, or a weighted draw."""
        for pattern, state in self.triggers:
            if pattern.search(recipient):
                return state
        states = [s for s, _ in self.weights]
        if len(states) == 1:
            return states[0]  # no draw: one-outcome fakes consume no randomness
        return rng.choices(states, weights=[w for _, w in self.weights])[0]


@dataclass(frozen=True)
class DlrPlanner:
    """Outcome and delay for an MT, scaled by ``time_scale`` (so tests shrink long delays)."""

    outcomes: OutcomeModel
    delays: DelayModel
    time_scale: float = 1.0

    def plan(self, recipient: str, rng: random.Random) -> tuple[DeliveryState, float]:
        """Return ``(state, delay_seconds)`` for one MT to ``recipient``."""
        state = self.outcomes.choose(recipient, rng)
        return state, max(0.0, self.delays.draw(rng)) * self.time_scale


class TimerHeap(Generic[T]):
    """Items ordered by due time, ties in insertion order (sans-IO)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()

    def push(self, due: float, item: T) -> None:
        """Add ``item`` due at ``due``."""
        heapq.heappush(self._heap, (due, next(self._order), item))

    def next_due(self) -> float | None:
        """The earliest due time, or ``None`` when empty."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[T]:
        """Remove and return every item due at or before ``now``, earliest first."""
        out: list[T] = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def clear(self) -> None:
        """Drop every item."""
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)


class DlrScheduler(Generic[T]):
    """Calls ``deliver(item)`` for each item when it falls due on ``clock``, from one timer.

    No task and no future per item, nor per wake: one ``clock.call_later`` timer is armed for the
    earliest due item, re-armed when an earlier one arrives, and when it fires it delivers every item due
    by then, in due order (a burst of MTs accepted in one loop turn gets its DLRs in one callback).

    Args:
        clock: the fake's clock.
        deliver: called with each due item (a plain function: a coroutine function is refused).
        limit: most items pending at once; beyond it ``schedule`` refuses and counts ``overflow``.
        on_error: called with any exception ``deliver`` raises (the fake records it for the test).

    Raises:
        TypeError: ``deliver`` is a coroutine function.
    """

    def __init__(self, clock: Clock, deliver: Callable[[T], object], limit: int = 100_000,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        if inspect.iscoroutinefunction(deliver):
            raise TypeError("DlrScheduler delivers from a timer callback: 'deliver' must not be async")
        self.clock = clock
        self.deliver = deliver
        self.limit = limit
        self.on_error = on_error
        self.heap: TimerHeap[T] = TimerHeap()
        self.scheduled = 0
        self.delivered = 0
        self.overflow = 0
        self._running = False
        self._timer: Cancellable | None = None
        self._armed_for = math.inf

    def schedule(self, delay: float, item: T) -> bool:
        """Queue ``item`` for ``delay`` seconds from now; ``False`` (and counted) when full."""
        if len(self.heap) >= self.limit:
            self.overflow += 1
            return False
        due = self.clock.now() + delay
        self.heap.push(due, item)
        self.scheduled += 1
        if self._running and due < self._armed_for:
            self._arm(due)  # nothing armed, or armed for a later item: fire for this one
        return True

    def start(self) -> None:
        """Arm the timer for what is pending, on the running loop (idempotent)."""
        if not self._running:
            self._running = True
            due = self.heap.next_due()
            if due is not None:
                self._arm(due)

    async def stop(self) -> None:
        """Disarm the timer; pending items stay in the heap."""
        self._running = False
        self._disarm()

    def clear(self) -> None:
        """Drop every pending item."""
        self.heap.clear()

    def stats(self) -> dict[str, int]:
        """Counters for the health endpoint."""
        return {"pending": len(self.heap), "scheduled": self.scheduled, "delivered": self.delivered,
                "overflow": self.overflow}

    def _arm(self, due: float) -> None:
        self._disarm()
        self._armed_for = due
        self._timer = self.clock.call_later(due - self.clock.now(), self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_for = math.inf

    def _fire(self) -> None:
        self._timer, self._armed_for = None, math.inf
        failed: Exception | None = None
        for item in self.heap.pop_due(self.clock.now()):
            self.delivered += 1
            try:
                self.deliver(item)
            except Exception as exc:  # a broken deliver must not stop every later DLR
                if self.on_error is not None:
                    self.on_error(exc)
                elif failed is None:
                    failed = exc
        due = self.heap.next_due()
        if self._running and due is not None and due < self._armed_for:
            self._arm(due)  # (unless deliver scheduled, and armed for, this very one)
        if failed is not None:
            raise failed  # without on_error: to the loop's exception handler, once the batch is done
