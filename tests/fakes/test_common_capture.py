"""Tests for fakes.common.capture: the bounded capture store."""

import pytest

from fakes.common.capture import CaptureStore


def _fill(store: CaptureStore, n: int) -> None:
    for i in range(n):
        store.add("mt" if i % 2 == 0 else "dlr", float(i), sender=f"s{i % 3}", recipient=f"r{i % 2}",
                  text=f"t{i}", message_id=f"m{i}")


def test_add_returns_the_record_with_running_number_and_broker():
    """A record carries the store's running number, the broker name and the given fields."""
    store = CaptureStore("k1", limit=5)
    record = store.add("mt", 12.5, sender="+1650", recipient="+1555", text="hi", message_id="m1",
                       fields={"body": "hi"}, status="accepted")
    expected = {"seq": 1, "kind": "mt", "at": 12.5, "broker": "k1", "from": "+1650", "to": "+1555",
                "text": "hi", "message_id": "m1", "fields": {"body": "hi"}, "status": "accepted", "state": ""}
    assert expected == record.to_json()


def test_ring_buffer_evicts_oldest_and_counts():
    """Beyond the limit the oldest records go, and the counters say how many were seen and evicted."""
    store = CaptureStore("k1", limit=3)
    _fill(store, 7)
    assert ["m4", "m5", "m6"] == [r.message_id for r in store]
    assert {"held": 3, "limit": 3, "total": 7, "evicted": 4} == store.stats()


def test_query_filters_combine():
    """kind, to, from, since, until and limit filter together, oldest first."""
    store = CaptureStore("k1", limit=100)
    _fill(store, 12)
    found = store.query(kind="mt", to="r0", from_="s0", since=1.0, until=10.0)
    assert ["m6"] == [r.message_id for r in found]
    assert ["m0", "m2"] == [r.message_id for r in store.query(kind="mt", limit=2)]
    assert ["m3"] == [r.message_id for r in store.query(message_id="m3")]


def test_clear_keeps_counters_and_numbering():
    """Clearing forgets records but the next record still gets a fresh number."""
    store = CaptureStore("k1", limit=10)
    _fill(store, 3)
    store.clear()
    record = store.add("mo", 0.0)
    assert (0 + 1, 4, 4) == (len(store), record.seq, store.total)


def test_limit_must_be_positive():
    """A zero limit is refused with a message naming it."""
    with pytest.raises(ValueError, match="'limit' must be at least 1"):
        CaptureStore("k1", limit=0)


def test_memory_stays_flat_under_many_adds():
    """However many records are added, only ``limit`` are held."""
    store = CaptureStore("k1", limit=50)
    _fill(store, 20_000)
    assert (50, 19_950) == (len(store), store.evicted)


def test_query_after_a_seq_starts_past_it_even_once_the_ring_has_evicted():
    """after=N answers the records numbered above N, whether N is still held, evicted, or ahead of everything."""
    store = CaptureStore("k", limit=5)
    _fill(store, 8)  # holds 4..8
    assert ([6, 7, 8], [4, 5, 6, 7, 8], [], [7]) == (
        [r.seq for r in store.query(after=5)], [r.seq for r in store.query(after=1)],
        [r.seq for r in store.query(after=8)], [r.seq for r in store.query(after=6, limit=1)])
