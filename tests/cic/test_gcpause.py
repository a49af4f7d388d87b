"""Tests of sim.cic.gcpause: the collector is held off while any holder runs, and left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sim.cic.gcpause import gc_paused


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector on, and put back on (and unfrozen) after the test."""
    gc.enable()
    yield
    gc.unfreeze()
    gc.enable()


def test_nested_holders_resume_the_collector_only_when_the_last_one_ends(collector: None) -> None:
    """Two holders: off inside both, still off when the inner one ends, on again after the outer."""
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_found_off_stays_off(collector: None) -> None:
    """Turned off by someone else before: the pause does not turn it on at the end."""
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_freeze_moves_what_survived_out_of_the_collectors_sight(collector: None) -> None:
    """With freeze=True from any holder, the objects alive at the end are frozen once the collector resumes."""
    before = gc.get_freeze_count()
    with gc_paused(), gc_paused(freeze=True):
        kept = [[n] for n in range(1000)]
    assert (gc.isenabled(), len(kept)) == (True, 1000)
    assert gc.get_freeze_count() >= before + 1000
