"""Tests of sim.cic.timeline: entries stamped by the timeline's clock, the limit, and waiting on them."""

from __future__ import annotations

import asyncio

import pytest
from nodekit import Clock

from sim.cic.timeline import TIMELINE_LIMIT, Timeline


def test_entries_carry_the_clock_and_the_time_since_begin() -> None:
    """Each entry has ``at`` from the clock, ``t`` from ``begin`` and its own fields, in order."""
    clock = Clock(100.0)
    timeline = Timeline(clock)
    timeline.begin()
    clock.now = 102.5
    timeline.note("fault", node="primary", mode="kill")
    assert [{"at": 102.5, "t": 2.5, "event": "fault", "node": "primary", "mode": "kill"}] == timeline.entries


def test_only_the_newest_entries_are_kept() -> None:
    """Past ``TIMELINE_LIMIT`` entries the oldest are dropped first."""
    timeline = Timeline(Clock())
    for i in range(TIMELINE_LIMIT + 3):
        timeline.note("watch", n=i)
    assert (TIMELINE_LIMIT, 3) == (len(timeline.entries), timeline.entries[0]["n"])


async def test_the_loop_clock_is_the_default() -> None:
    """Without a clock the entries are stamped with the event loop's time."""
    timeline = Timeline()
    before = asyncio.get_running_loop().time()
    timeline.note("start")
    assert before <= timeline.entries[0]["at"] <= asyncio.get_running_loop().time()


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
