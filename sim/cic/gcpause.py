"""Bulk steps pause the cyclic garbage collector, so that its full collections do not stall the loop.

A full (generation 2) collection looks at every object the collector tracks, and a lab holding 50,000
conversations has a few hundred thousand of them: measured, one such collection held the event loop for
100-250 ms, and a recovery or a full sync, which allocate and drop tens of thousands of records in a few
seconds, set off several in a row (``smslab bench scale``). Nothing those steps allocate forms reference
cycles (records are plain dicts and frozen dataclasses, freed by their reference counts), so pausing the
collector while they run loses nothing; it is turned back on as soon as the last of them ends, and a
collection it was holding back then runs once, at the scale of what was left behind, not of the heap.

``gc_paused`` nests and may be held by several tasks at once; the collector is resumed only if it was on
when the first of them began (a test or a user that turned it off keeps it off). A recovery keeps what it
allocated (the recovered core): it asks for those objects to be frozen when the collector resumes, or the
first collection after it would look at all of them at once (67 ms at 50,000 interactions, measured).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


class _Pause:
    """Who holds the collector off, and whether to resume it and freeze what survived."""

    def __init__(self) -> None:
        self.held = 0
        self.resume = False
        self.freeze = False

    @contextlib.contextmanager
    def __call__(self, *, freeze: bool = False) -> Iterator[None]:
        if self.held == 0:
            self.resume, self.freeze = gc.isenabled(), False
            gc.disable()
        self.held += 1
        self.freeze |= freeze
        try:
            yield
        finally:
            self.held -= 1
            if self.held == 0 and self.resume:
                if self.freeze:
                    gc.freeze()
                gc.enable()


gc_paused = _Pause()
"""``with gc_paused():`` holds the cyclic collector off for the block; ``freeze=True`` (for what a step keeps,
such as a recovered core) moves every object alive at the end out of the collector's sight
(``gc.freeze``), so that no later collection looks at them again: freed by their reference counts as
ever, they are only never scanned for cycles, and they have none."""
