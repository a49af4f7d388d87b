"""Tests of sim.cic.idle and the node's idle sweep: idle, then disconnected, and never an MT."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from nodekit import Clock, call, config, fake, kaleyra, running

from sim.cic.idle import IdleChange, IdleSchedule, idle_changes, next_change, next_idle_check
from sim.core.config import IdleTimeout
from sim.core.interactions import Direction, Interaction, InteractionState, TranscriptEntry
from sim.core.routing import Destination, DestinationKind

ON = IdleTimeout(True, 120.0, 60.0)
MO = {"device_address": "13175550123", "inbound_address": "8005550100", "message": "Hello", "message_id": "m-1"}


def chat(last_in: float) -> Interaction:
    """An interaction whose customer last wrote at ``last_in`` (an agent line comes later)."""
    return Interaction("i1", "+1317", "800", "k", Destination(DestinationKind.CHAT), created_at=0.0,
                       transcript=(TranscriptEntry(Direction.INBOUND, "hi", last_in),
                                   TranscriptEntry(Direction.OUTBOUND, "yes?", last_in + 100)))


def test_idle_after_party_idle_time_and_disconnected_after_the_grace() -> None:
    """Agent lines do not count: 119 s nothing, 120 s idle, 180 s disconnected; off means never."""
    assert [] == idle_changes([chat(0.0)], ON, 119.0)
    assert [InteractionState.IDLE] == [c.after.state for c in idle_changes([chat(0.0)], ON, 120.0)]
    assert [InteractionState.DISCONNECTED] == [c.after.state for c in idle_changes([chat(0.0)], ON, 180.0)]
    assert [] == idle_changes([chat(0.0)], IdleTimeout(False, 1.0, 1.0), 1e9)
    assert (120.0, None) == (next_idle_check([chat(0.0)], ON),
                             next_idle_check([chat(0.0)], IdleTimeout(False, 1.0, 1.0)))


async def test_the_node_disconnects_an_idle_sms_chat_without_sending_anything() -> None:
    """Settings: SMS override 120 s + 60 s grace; at 181 s the chat is disconnected and the broker got no MT."""
    clock = Clock()
    web_services = {"parameters": {"EnableIdleTimeout": 1, "PartyIdleTime": 300, "PartyIdleGraceTime": 60},
                    "settings_sms": {"CUSTOM::OPTION:PartyIdleTime": 120}}
    async with fake("kaleyra", "k", {}) as broker, running(config(
            kaleyra(gateway=broker.url), route_to=("kaleyra", "main"), web_services=web_services),
            clock=clock) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        clock.now += 130
        assert [] == await node.records.sweep_idle(clock.now - 11)
        await node.records.run_timers()
        assert InteractionState.IDLE == node.records.interactions()[0].state
        clock.now += 51
        await node.records.run_timers()
        [record] = node.records.interaction_views()
        assert ("disconnected", "idle timeout") == (record["state"], record["disconnect_reason"])
        assert ("disconnected", []) == (node.records.store.interactions()[0]["state"], broker.capture.query(kind="mt"))


@st.composite
def _events(draw: st.DrawFn) -> list[tuple[str, int, float]]:
    """Customer and agent messages on a few chats, and sweeps, each after a gap of time."""
    kinds = st.sampled_from(["mo", "agent", "sweep"])
    boundaries = st.sampled_from([0.0, 60.0, 120.0, 180.0])  # PartyIdleTime and the grace, exactly
    gaps = st.one_of(boundaries, st.floats(min_value=0.0, max_value=200.0, allow_nan=False))
    return draw(st.lists(st.tuples(kinds, st.integers(0, 3), gaps), max_size=40))


def _changed(changes: list[IdleChange]) -> list[tuple[str, InteractionState]]:
    return sorted((c.after.id, c.after.state) for c in changes)


@given(_events(), st.booleans(), st.sampled_from([0.0, 60.0]))
def test_the_schedule_finds_what_a_full_scan_finds(events: list[tuple[str, int, float]], enabled: bool,
                                                   grace: float) -> None:
    """Sweeping only what the schedule says is due makes the same changes, at each sweep, as scanning all."""
    idle = IdleTimeout(enabled, 120.0, grace)
    schedule = IdleSchedule(idle)
    now, chats, expected, actual = 0.0, {}, [], []
    for kind, n, gap in events:
        now += gap
        key = f"i{n}"
        if kind == "sweep":
            scanned = idle_changes(chats.values(), idle, now)
            scheduled = idle_changes([chats[k] for k in schedule.due(now)], idle, now)
            expected.append(_changed(scanned))
            actual.append(_changed(scheduled))
            for change in scanned:
                chats[change.after.id] = change.after
                schedule.update(change.after)
            continue
        before = chats.get(key) or Interaction(key, f"+1{n}", "800", "k", Destination(DestinationKind.CHAT),
                                               created_at=now)
        if before.state is InteractionState.DISCONNECTED:
            continue
        direction = Direction.INBOUND if kind == "mo" else Direction.OUTBOUND
        chats[key] = before.add(TranscriptEntry(direction, "hi", now))
        schedule.update(chats[key])
    assert expected == actual
    assert len(schedule) <= len(chats)


def test_next_change_of_one_chat() -> None:
    """Active: due at PartyIdleTime; idle: after the grace too; disconnected, or the timeout off: never."""
    idle = Interaction("i1", "+1", "800", "k", Destination(DestinationKind.CHAT), state=InteractionState.IDLE)
    gone = Interaction("i2", "+1", "800", "k", Destination(DestinationKind.CHAT),
                       state=InteractionState.DISCONNECTED)
    assert (120.0, 180.0, None, None) == (next_change(chat(0.0), ON), next_change(idle, ON),
                                          next_change(gone, ON), next_change(chat(0.0), IdleTimeout(False, 1, 1)))


def test_the_schedule_keeps_only_the_latest_time_and_stays_small() -> None:
    """Each update replaces the chat's time; a replaced entry is never reported; the heap is compacted."""
    schedule = IdleSchedule(ON)
    for last in range(1000):
        schedule.update(chat(float(last)))
    assert (1, 999.0 + 120.0) == (len(schedule), schedule.next_due())
    assert len(schedule._heap) <= 2 * len(schedule) + 64
    assert [] == schedule.due(1000.0)
    assert ["i1"] == schedule.due(1119.0)
    assert (0, None) == (len(schedule), schedule.next_due())


def test_a_disconnected_chat_or_the_timeout_off_leaves_the_schedule() -> None:
    """An update to a disconnected chat drops it; with the timeout off nothing is ever scheduled."""
    schedule, off = IdleSchedule(ON), IdleSchedule(IdleTimeout(False, 1.0, 1.0))
    schedule.update(chat(0.0))
    off.update(chat(0.0))
    schedule.update(replace(chat(0.0), state=InteractionState.DISCONNECTED))
    assert ([], None, 0, []) == (schedule.due(1e9), schedule.next_due(), len(off), off.due(1e9))


def test_due_chats_come_earliest_first_each_once() -> None:
    """Three chats due at different times come out earliest first, and a second call finds none of them."""
    schedule = IdleSchedule(ON)
    for key, last in (("late", 30.0), ("early", 10.0), ("middle", 20.0)):
        schedule.update(replace(chat(last), id=key))
    assert (["early", "middle", "late"], []) == (schedule.due(200.0), schedule.due(200.0))


def test_the_schedule_hands_out_at_most_limit_due_ids_and_keeps_the_rest() -> None:
    """due(now, limit) pops the earliest ``limit`` due ids; the next call goes on from there, nothing lost or repeated."""
    schedule = IdleSchedule(IdleTimeout(True, 10.0, 5.0))
    for n in range(7):
        schedule.update(replace(chat(float(n)), id=f"i-{n}"))
    assert (["i-0", "i-1", "i-2"], ["i-3", "i-4", "i-5"], ["i-6"], []) == (
        schedule.due(100.0, 3), schedule.due(100.0, 3), schedule.due(100.0, 3), schedule.due(100.0, 3))


def test_a_due_time_reached_by_a_different_sum_still_changes_the_chat() -> None:
    """Last line at 8.033053538129153, swept at that plus 60 plus 60: due, and disconnected (grace 0), not missed."""
    idle = IdleTimeout(True, 120.0, 0.0)
    last = 8.033053538129153
    chat_at = replace(chat(last), id="i0")
    now = last + 60.0 + 60.0
    schedule = IdleSchedule(idle)
    schedule.update(chat_at)
    assert (["i0"], [InteractionState.DISCONNECTED]) == (
        schedule.due(now), [c.after.state for c in idle_changes([chat_at], idle, now)])
