"""The pair's timeline: what happened to the switchover pair, in order, each entry stamped by one clock.

Each entry is ``{"at": <epoch seconds>, "t": <seconds since start>, "event": <kind>, ...}``; the lab serves
the list as ``GET /_smslab/timeline``. ``at`` is wall-clock time in epoch seconds (UTC), as every time in
the lab's answers is (messages, interactions, probes); ``t`` is measured on the timeline's own clock (the
event loop's, which never jumps), so differences of ``t`` are the durations to read. ``wait_until``
re-checks its condition after every new entry rather than polling. At most ``TIMELINE_LIMIT`` entries are
kept, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

__all__ = ["TIMELINE_LIMIT", "Timeline"]

TIMELINE_LIMIT = 5000  # entries kept; pings that change nothing are not recorded at all


class Timeline:
    """The entries, the clock that stamps them, and a way to wait for a condition between them.

    Args:
        clock: the timeline's clock, for ``t``; the event loop's by default.
        wall: the wall clock, for ``at`` (epoch seconds); ``time.time`` by default.
    """

    def __init__(self, clock: Callable[[], float] | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.entries: list[dict[str, Any]] = []
        self._clock = clock
        self._wall = wall
        self._t0 = 0.0
        self._changed = asyncio.Event()
        #: Called with each new entry as it is added (the lab's event stream listens here).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def now(self) -> float:
        """The timeline's clock."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def begin(self) -> None:
        """Count ``t`` from now."""
        self._t0 = self.now()

    def note(self, event: str, **fields: Any) -> None:
        """Add an entry and wake whoever waits in ``wait_until``."""
        now = self.now()
        entry = {"at": self._wall(), "t": round(now - self._t0, 6), "event": event, **fields}
        self.entries.append(entry)
        del self.entries[:-TIMELINE_LIMIT]
        for listener in self.listeners:
            listener(entry)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float,
                         status: Callable[[], object]) -> None:
        """Wait until ``predicate()`` holds, re-checking after each entry.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds (the message shows ``status()``).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the pair did not reach the condition in {timeout} s: {status()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
