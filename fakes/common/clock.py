"""Time passed in: a real clock for running fakes, a manual one for tests.

Every duration a fake waits for (DLR delays, push retries, injected latency) goes through a ``Clock``, so
a test can move time forward instead of sleeping on the wall clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Cancellable", "Clock", "ManualClock", "RealClock"]


class Cancellable(Protocol):
    """What ``Clock.call_later`` returns: something that can be called off."""

    def cancel(self) -> object:
        """Call the callback off (no effect once it has run)."""
        ...


@runtime_checkable
class Clock(Protocol):
    """What a fake needs from time: the current time and a way to wait."""

    def now(self) -> float:
        """Seconds on this clock (the real one reads the Unix epoch, so captured times are dates)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock (zero or less returns at the next loop turn)."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Cancellable:
        """Call ``callback`` from the running loop once ``seconds`` have passed on this clock.

        The task-free form of ``sleep``: the fakes' timers (DLRs, push retries) are callbacks, so a timer
        costs no task and no future on the loop that serves the MTs (``smslab bench fakes``).
        """
        ...


class RealClock:
    """The wall clock: ``time.time()`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Cancellable:
        """``loop.call_later`` on the running loop."""
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)


class ManualClock:
    """A clock that only moves when a test says so.

    Sleepers and ``call_later`` callbacks wait on futures kept in a heap by due time; ``advance`` moves
    the time and wakes every one that became due, in due order, then lets the loop run so the woken tasks
    make progress.

    Args:
        start: the initial time in seconds.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The current manual time."""
        return self._now

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting (cancelled ones excluded)."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock is advanced by at least ``seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Cancellable:
        """Call ``callback`` when the clock is advanced by at least ``seconds`` (next loop turn for 0)."""
        loop = asyncio.get_running_loop()
        if seconds <= 0:
            return loop.call_soon(callback)
        future: asyncio.Future[None] = loop.create_future()
        future.add_done_callback(lambda done: None if done.cancelled() else callback())
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        return future

    async def advance(self, seconds: float, turns: int = 20) -> None:
        """Move time forward by ``seconds``, waking due sleepers, then yield ``turns`` loop turns.

        Time moves to each sleeper's due time in order, with loop turns in between, so a task that
        sleeps again while being woken is woken again within the same advance when that is due.
        """
        target = self._now + seconds
        # A nanosecond of slack so advancing 4.9 then 0.1 reaches a sleep of 5.0 despite float rounding.
        while self._sleepers and self._sleepers[0][0] <= target + 1e-9:
            due, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            if not future.done():
                future.set_result(None)
                for _ in range(turns):
                    await asyncio.sleep(0)
        self._now = max(self._now, target)
        for _ in range(turns):
            await asyncio.sleep(0)
