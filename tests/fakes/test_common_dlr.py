"""Tests for fakes.common.dlr: outcome and delay models, the planner, the heap and the scheduler."""

import asyncio
import random
import re
from collections import Counter

import pytest

from fakes.common.clock import ManualClock
from fakes.common.dlr import (
    DlrPlanner,
    DlrScheduler,
    ExponentialDelay,
    FixedDelay,
    LogNormalDelay,
    TimerHeap,
    TriggeredOutcomes,
    UniformDelay,
)
from sim.core.types import DeliveryState as S

SEED = 20240501


def test_triggers_are_checked_first_in_order():
    """A destination matching a trigger gets that trigger's outcome, the first match winning."""
    triggers = ((re.compile(r"^\+1555000"), S.FAILED), (re.compile(r"^\+1555"), S.EXPIRED))
    model = TriggeredOutcomes(triggers=triggers, weights=((S.DELIVERED, 1.0),))
    rng = random.Random(SEED)
    assert [S.FAILED, S.EXPIRED, S.DELIVERED] == [
        model.choose(n, rng) for n in ("+15550001", "+15551234", "+16505551234")]


def test_weights_are_drawn_from_the_seeded_generator():
    """Weighted outcomes follow the weights and repeat exactly for the same seed."""
    model = TriggeredOutcomes(weights=((S.DELIVERED, 0.7), (S.FAILED, 0.2), (S.UNDELIVERABLE, 0.1)))
    first = [model.choose("+1650", random.Random(SEED)) for _ in range(1)]
    draws = Counter(model.choose("+1650", rng) for rng in [random.Random(SEED)] for _ in range(10_000))
    assert first == [model.choose("+1650", random.Random(SEED))]
    assert 6700 < draws[S.DELIVERED] < 7300
    assert 1700 < draws[S.FAILED] < 2300
    assert 0 == draws[S.EXPIRED]


def test_single_outcome_consumes_no_randomness():
    """With one outcome the generator is not touched, so ids drawn later do not shift."""
    rng = random.Random(SEED)
    TriggeredOutcomes().choose("+1650", rng)
    assert random.Random(SEED).random() == rng.random()


@pytest.mark.parametrize(("model", "low", "high", "mean"), [
    (FixedDelay(2.0), 2.0, 2.0, 2.0),
    (UniformDelay(1.0, 3.0), 1.0, 3.0, 2.0),
    (ExponentialDelay(2.0), 0.0, float("inf"), 2.0),
    (LogNormalDelay(median=2.0, sigma=0.25), 0.0, float("inf"), 2.0 * 1.0317),
])
def test_delay_models_have_their_range_and_mean(model, low, high, mean):
    """Each delay model stays in range and has the expected mean over many draws."""
    rng = random.Random(SEED)
    draws = [model.draw(rng) for _ in range(20_000)]
    assert all(low <= d <= high for d in draws)
    assert mean == pytest.approx(sum(draws) / len(draws), rel=0.05)


def test_maximum_caps_long_tails():
    """A maximum caps exponential and log-normal draws."""
    rng = random.Random(SEED)
    assert 0.5 >= max(ExponentialDelay(10.0, maximum=0.5).draw(rng) for _ in range(100))
    assert 0.5 >= max(LogNormalDelay(10.0, 1.0, maximum=0.5).draw(rng) for _ in range(100))


def test_planner_scales_delay():
    """The planner returns the outcome and the delay times the time scale."""
    planner = DlrPlanner(TriggeredOutcomes(), FixedDelay(60.0), time_scale=0.001)
    assert (S.DELIVERED, pytest.approx(0.06)) == planner.plan("+1650", random.Random(SEED))


def test_timer_heap_pops_due_items_in_order_ties_by_insertion():
    """Due items come out earliest first, equal times in insertion order, later ones stay."""
    heap: TimerHeap[str] = TimerHeap()
    for due, item in ((3.0, "c"), (1.0, "a1"), (1.0, "a2"), (9.0, "z")):
        heap.push(due, item)
    assert (["a1", "a2", "c"], 9.0, 1) == (heap.pop_due(5.0), heap.next_due(), len(heap))


async def test_scheduler_delivers_when_due_on_the_manual_clock():
    """Items are delivered when the clock reaches their due time, earliest first, by one timer."""
    clock = ManualClock(start=0.0)
    got: list[tuple[str, float]] = []
    scheduler = DlrScheduler(clock, lambda item: got.append((item, clock.now())))
    scheduler.start()
    scheduler.schedule(5.0, "late")
    await asyncio.sleep(0)
    scheduler.schedule(1.0, "early")  # earlier than the head: the runner must wake and re-plan
    await clock.advance(0.5)
    assert [] == got
    await clock.advance(10.0)
    await scheduler.stop()
    assert [("early", 1.0), ("late", 5.0)] == got
    assert {"pending": 0, "scheduled": 2, "delivered": 2, "overflow": 0} == scheduler.stats()


async def test_scheduler_is_bounded():
    """Beyond its limit the scheduler refuses and counts the overflow."""
    scheduler = DlrScheduler(ManualClock(), lambda item: None, limit=2)
    assert [True, True, False] == [scheduler.schedule(1.0, i) for i in range(3)]
    assert 1 == scheduler.stats()["overflow"]


async def test_scheduler_survives_a_failing_deliver_and_reports_it():
    """An exception in deliver goes to on_error and later items are still delivered."""
    clock, errors, got = ManualClock(), [], []

    def deliver(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        got.append(item)

    scheduler = DlrScheduler(clock, deliver, on_error=errors.append)
    scheduler.start()
    for i in range(3):
        scheduler.schedule(float(i), i)
    await clock.advance(5.0)
    await scheduler.stop()
    assert ([0, 2], ["boom"]) == (got, [str(e) for e in errors])


async def test_without_on_error_a_failing_deliver_goes_to_the_loop_and_the_rest_still_arrive():
    """With no on_error, the error reaches the loop's handler after the batch; later items still come."""
    clock, got, seen = ManualClock(start=0.0), [], []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context["exception"]))

    def deliver(item: int) -> None:
        if item == 0:
            raise RuntimeError("boom")
        got.append(item)

    scheduler: DlrScheduler[int] = DlrScheduler(clock, deliver)
    scheduler.start()
    for i, delay in enumerate((1.0, 1.0, 2.0)):
        scheduler.schedule(delay, i)
    await clock.advance(5.0)
    await scheduler.stop()
    assert ([1, 2], ["boom"]) == (got, [str(e) for e in seen])


def test_scheduler_refuses_a_coroutine_deliver():
    """A coroutine function cannot be a deliver: the scheduler calls it from a timer callback."""
    async def deliver(item: str) -> None:
        return None

    with pytest.raises(TypeError, match="must not be async"):
        DlrScheduler(ManualClock(), deliver)


async def test_scheduler_fires_one_callback_for_a_burst_and_keeps_no_timer_when_idle():
    """Items due in one loop turn are delivered by one timer callback, and nothing is armed afterwards."""
    clock, batches = ManualClock(start=0.0), []
    scheduler: DlrScheduler[int] = DlrScheduler(clock, lambda item: batches.append((clock.now(), item)))
    scheduler.start()
    for i in range(5):
        scheduler.schedule(0.0, i)
    assert 0 == clock.sleepers  # a zero delay is a call_soon, not a sleeper
    await asyncio.sleep(0)
    assert [(0.0, i) for i in range(5)] == batches
    assert scheduler._timer is None
    scheduler.schedule(2.0, 9)
    scheduler.schedule(1.0, 8)  # earlier than the armed one: re-armed, the old timer cancelled
    assert 1 == clock.sleepers
    await clock.advance(2.0)
    await scheduler.stop()
    assert [(1.0, 8), (2.0, 9)] == batches[5:]


async def test_a_deliver_that_schedules_a_later_item_does_not_hide_an_earlier_one():
    """When deliver schedules an item later than one still pending, the earlier one is still delivered."""
    clock, got = ManualClock(start=0.0), []
    scheduler: DlrScheduler[str] = DlrScheduler(clock, lambda item: None)

    def deliver(item: str) -> None:
        got.append((item, clock.now()))
        if item == "first":
            scheduler.schedule(10.0, "much later")

    scheduler.deliver = deliver
    scheduler.start()
    scheduler.schedule(1.0, "first")
    scheduler.schedule(3.0, "second")
    await clock.advance(20.0)
    await scheduler.stop()
    assert [("first", 1.0), ("second", 3.0), ("much later", 11.0)] == got
