"""Tests of sim.cic.timeline: entries stamped by the timeline's clock, the limit, and waiting on them."""

from __future__ import annotations

import asyncio
import time

import pytest
from nodekit import Clock

from sim.cic.timeline import TIMELINE_LIMIT, Timeline


def test_entries_carry_the_wall_clock_and_the_time_since_begin() -> None:
    """Each entry has ``at`` from the wall clock (epoch seconds), ``t`` from ``begin`` on the timeline's clock."""
    clock = Clock(100.0)
    timeline = Timeline(clock, wall=lambda: 1_796_000_000.25)
    timeline.begin()
    clock.now = 102.5
    timeline.note("fault", node="primary", mode="kill")
    assert [{"at": 1_796_000_000.25, "t": 2.5, "event": "fault", "node": "primary", "mode": "kill"}] == \
        timeline.entries


def test_only_the_newest_entries_are_kept() -> None:
    """Past ``TIMELINE_LIMIT`` entries the oldest are dropped first."""
    timeline = Timeline(Clock())
    for i in range(TIMELINE_LIMIT + 3):
        timeline.note("watch", n=i)
    assert (TIMELINE_LIMIT, 3) == (len(timeline.entries), timeline.entries[0]["n"])


async def test_the_loop_clock_and_epoch_time_are_the_defaults() -> None:
    """Without clocks, ``t`` is counted on the event loop's time and ``at`` is ``time.time()``."""
    timeline = Timeline()
    before, loop_before = time.time(), asyncio.get_running_loop().time()
    timeline.begin()
    timeline.note("start")
    entry = timeline.entries[0]
    assert before <= entry["at"] <= time.time()
    assert 0 <= entry["t"] <= asyncio.get_running_loop().time() - loop_before + 1e-6


async def test_wait_until_wakes_on_the_entry_that_makes_the_condition_hold() -> None:
    """``wait_until`` returns once an entry noted later makes the predicate true."""
    timeline = Timeline()
    waiting = asyncio.ensure_future(timeline.wait_until(lambda: len(timeline.entries) == 2, 5.0, dict))
    for event in ("fault", "promote"):
        await asyncio.sleep(0)
        timeline.note(event)
    await asyncio.wait_for(waiting, 1.0)
    assert ["fault", "promote"] == [e["event"] for e in timeline.entries]


async def test_wait_until_times_out_with_the_status_in_the_message() -> None:
    """A condition that never holds raises TimeoutError naming the timeout and the status."""
    timeline = Timeline()
    with pytest.raises(TimeoutError) as caught:
        await timeline.wait_until(lambda: False, 0.01, lambda: {"watch": "monitoring"})
    assert "the pair did not reach the condition in 0.01 s: {'watch': 'monitoring'}" == str(caught.value)
