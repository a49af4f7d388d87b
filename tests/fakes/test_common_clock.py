"""Tests for fakes.common.clock: the real and the manual clock."""

import asyncio

from fakes.common.clock import Clock, ManualClock, RealClock


def test_both_clocks_satisfy_the_protocol():
    """RealClock and ManualClock are Clocks."""
    assert isinstance(RealClock(), Clock)
    assert isinstance(ManualClock(), Clock)


async def test_manual_sleep_waits_for_advance():
    """A sleeper wakes only once the clock is advanced past its due time."""
    clock = ManualClock(start=100.0)
    task = asyncio.ensure_future(clock.sleep(5.0))
    await asyncio.sleep(0)  # let the sleep start at 100.0
    await clock.advance(4.9)
    assert (False, 104.9) == (task.done(), clock.now())
    await clock.advance(0.1)
    assert task.done()
    assert 105.0 == clock.now()


async def test_advance_wakes_in_due_order_with_the_time_of_each():
    """Sleepers wake in due order and each sees the clock at its own due time."""
    clock = ManualClock(start=0.0)
    seen: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        seen.append((name, clock.now()))

    tasks = [asyncio.ensure_future(sleeper(n, s)) for n, s in (("b", 2.0), ("a", 1.0), ("c", 3.0))]
    await asyncio.sleep(0)
    await clock.advance(10.0)
    await asyncio.gather(*tasks)
    assert [("a", 1.0), ("b", 2.0), ("c", 3.0)] == seen


async def test_zero_sleep_returns_without_advance():
    """Sleeping zero seconds does not need the clock to move."""
    clock = ManualClock()
    await asyncio.wait_for(clock.sleep(0), 1.0)
    assert 0 == clock.sleepers


async def test_manual_call_later_runs_when_advanced_and_not_once_cancelled():
    """A call_later callback runs at its due time on advance; a cancelled one never runs."""
    clock, got = ManualClock(start=0.0), []
    clock.call_later(2.0, lambda: got.append(("kept", clock.now())))
    clock.call_later(1.0, lambda: got.append(("cancelled", clock.now()))).cancel()
    await clock.advance(1.5)
    assert [] == got
    await clock.advance(1.0)
    assert [("kept", 2.0)] == got


async def test_real_call_later_runs_on_the_loop():
    """RealClock.call_later is the loop's own timer (a zero delay runs at the next turn)."""
    fired = asyncio.Event()
    RealClock().call_later(0.0, fired.set)
    await asyncio.wait_for(fired.wait(), 1.0)
