"""Tests for sim.core.interactions: the interaction book and its snapshots."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from sim.core.errors import InputError
from sim.core.interactions import Direction, InteractionBook, InteractionState, TranscriptEntry
from sim.core.routing import Destination, DestinationKind

QUEUE = Destination(DestinationKind.QUEUE, "Support")


def book() -> InteractionBook:
    counter = itertools.count(1)
    return InteractionBook(lambda: f"i{next(counter)}")


def test_open_conversation_is_found_by_customer_and_local() -> None:
    """start indexes the interaction under its (customer, local) pair."""
    b = book()
    started = b.start("+1317", "800", "k", QUEUE, 1.0)
    assert b.open_for("+1317", "800") == started
    assert b.open_for("+1317", "801") is None


def test_disconnected_interaction_is_no_longer_open() -> None:
    """A disconnected interaction stays readable by id but no longer takes new messages."""
    b = book()
    started = b.start("+1317", "800", "k", QUEUE, 1.0)
    b.put(replace(started, state=InteractionState.DISCONNECTED))
    assert b.open_for("+1317", "800") is None
    assert b.get(started.id) is not None


def test_snapshot_round_trip_keeps_everything() -> None:
    """restore(snapshot()) gives back equal interactions with their transcripts and index."""
    b = book()
    i = b.start("+1317", "800", "k", QUEUE, 1.0)
    i = i.add(TranscriptEntry(Direction.INBOUND, "hello\nthere", 1.0, "m1", "+1317"))
    b.put(i.add(TranscriptEntry(Direction.OUTBOUND, "hi €", 2.0, "c1", "agent1")))
    other = book()
    other.restore(b.snapshot())
    assert list(b) == list(other)
    assert other.open_for("+1317", "800") == b.get("i1")


def test_the_book_keeps_creation_order_through_updates_and_restores_oldest_first() -> None:
    """Iteration is in start order, an update keeps its place, and a restore sorts by (created_at, id)."""
    b = book()
    first, second = b.start("+1", "8", "k", QUEUE, 5.0), b.start("+2", "8", "k", QUEUE, 1.0)
    b.put(first.add(TranscriptEntry(Direction.INBOUND, "again", 6.0)))
    restored = book()
    restored.restore(b.snapshot())
    assert (["i1", "i2"], ["i2", "i1"]) == ([i.id for i in b], [i.id for i in restored])
    assert (b.get("i1"), b.get(second.id)) == (restored.get("i1"), restored.get("i2"))


def test_message_wakes_an_idle_interaction() -> None:
    """Adding a message to an idle interaction makes it active again."""
    b = book()
    i = b.start("+1", "8", "k", QUEUE, 0.0)
    idle = replace(i, state=InteractionState.IDLE)
    assert idle.add(TranscriptEntry(Direction.INBOUND, "x", 5.0)).state is InteractionState.ACTIVE


@pytest.mark.parametrize("snapshot", [{"version": 99, "interactions": []},
                                      {"version": 1, "interactions": [{"id": "x"}]}])
def test_bad_snapshot_is_refused(snapshot: dict[str, object]) -> None:
    """A snapshot of another version, or missing fields, raises InputError and changes nothing."""
    b = book()
    b.start("+1", "8", "k", QUEUE, 0.0)
    with pytest.raises(InputError):
        b.restore(snapshot)
    assert len(b) == 1
