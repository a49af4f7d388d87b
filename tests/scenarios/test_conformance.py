"""Tests for scenarios.conformance: every check against every registered core, and a broken core fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scenarios import conformance
from sim.core.loading import available_cores, load_core_class
from sim.core.reference import ReferenceCore
from sim.core.types import InboundSms


@pytest.mark.parametrize("core_name", sorted(available_cores()))
@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
def test_registered_cores_conform(core_name: str, check: Callable[[Any], None]) -> None:
    """Every registered core passes every conformance check."""
    check(load_core_class(core_name))


class ForgetfulCore(ReferenceCore):
    """A core that loses the transcript on restore, as a broken recovery would."""

    def restore(self, snapshot: Any) -> None:
        """Ignore the snapshot."""


class NoDuplicateCheckCore(ReferenceCore):
    """A core that stores a retried push twice."""

    def receive(self, sms: InboundSms, now: float) -> Any:
        """Receive without the duplicate check."""
        return super().receive(InboundSms(sms.broker, sms.ani, sms.dnis, sms.body, "", sms.account), now)


def test_run_all_reports_failures_of_a_broken_core() -> None:
    """run_all names the checks a faulty core fails and passes the rest."""
    results = {r.name: r for r in conformance.run_all(f"{__name__}:ForgetfulCore")}
    assert not results["recovery"].passed
    assert results["recovery"].detail.startswith("AssertionError")
    assert all(r.passed for name, r in results.items() if name != "recovery")


def test_duplicate_check_catches_a_core_that_stores_retries() -> None:
    """The duplicate_mo check fails for a core that ignores broker message ids."""
    results = {r.name: r.passed for r in conformance.run_all(f"{__name__}:NoDuplicateCheckCore")}
    assert (results["duplicate_mo"], results["recovery"]) == (False, False)
