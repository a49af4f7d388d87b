"""Tests for sim.core.consolidation: Consolidate Messages on a passed-in clock."""

from __future__ import annotations

from sim.core.consolidation import ConsolidationSettings, Consolidator

ON = ConsolidationSettings(enabled=True, separator=" | ", window=5.0)


def test_disabled_releases_at_once() -> None:
    """With the check box off, every message is released when offered."""
    offered = Consolidator(ConsolidationSettings()).offer("k", "hi", 1.0, tag="m1")
    assert (offered.held, [(r.text, r.tag) for r in offered.released]) == (False, [("hi", "m1")])


def test_short_messages_combine_while_waiting() -> None:
    """A second short message for the same destination joins the waiting one; the first tag is kept."""
    c = Consolidator(ON)
    assert c.offer("k", "one", 0.0, tag="m1").held
    assert c.offer("k", "two", 3.0, tag="m2").released == []
    assert c.due(4.9) == []
    released = c.due(5.0)
    assert [(r.text, r.count, r.tag) for r in released] == [("one | two", 2, "m1")]
    assert c.next_due() is None


def test_destinations_do_not_mix() -> None:
    """Messages for different keys wait separately and are released by deadline order."""
    c = Consolidator(ON)
    c.offer("a", "x", 1.0)
    c.offer("b", "y", 0.0)
    assert [r.key for r in c.due(10.0)] == ["b", "a"]


def test_combined_length_must_stay_under_160() -> None:
    """When the combined text would reach 160, the waiting message goes and the newcomer waits."""
    c = Consolidator(ON)
    c.offer("k", "a" * 100, 0.0)
    offered = c.offer("k", "b" * 57, 1.0)  # 100 + 3 + 57 = 160: not less than 160
    assert [r.text for r in offered.released] == ["a" * 100]
    assert offered.held
    assert [r.text for r in c.waiting()] == ["b" * 57]


def test_long_message_goes_at_once_after_the_waiting_one() -> None:
    """A message of 160 or more is not consolidated and is sent after what was waiting, in order."""
    c = Consolidator(ON)
    c.offer("k", "short", 0.0)
    offered = c.offer("k", "L" * 160, 1.0)
    assert ([r.text for r in offered.released], offered.held) == (["short", "L" * 160], False)


def test_flush_releases_everything() -> None:
    """flush returns every waiting message and leaves nothing behind."""
    c = Consolidator(ON)
    c.offer("a", "x", 0.0)
    c.offer("b", "y", 1.0)
    assert [r.text for r in c.flush()] == ["x", "y"]
    assert c.next_due() is None
