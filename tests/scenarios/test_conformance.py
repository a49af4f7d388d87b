"""Tests for scenarios.conformance: every check against every registered core, and a broken core fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from scenarios import conformance
from sim.core.loading import available_cores, load_core_class
from sim.core.protocol import Sent
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


class NoLookupCore(ReferenceCore):
    """A core that finds nothing by id, and sets no state, as one that only offers ``interactions()``."""

    def interaction(self, interaction_id: str) -> Any:
        """Never found."""
        return None

    def set_state(self, interaction_id: str, state: Any) -> Any:
        """Never set."""
        return None


class UnnamedSendCore(ReferenceCore):
    """A core whose sends never say which interaction they joined."""

    def send(self, message: Any, now: float) -> Any:
        """The reference send without ``interaction_id``."""
        result = super().send(message, now)
        return dataclasses.replace(result, interaction_id="") if isinstance(result, Sent) else result


class HoardingCore(ReferenceCore):
    """A core that keeps every interaction it is asked to forget."""

    def forget(self, interaction_id: str) -> bool:
        """Claims to forget, keeps everything."""
        return self.interaction(interaction_id) is not None


def test_forget_check_catches_a_core_that_keeps_ended_interactions() -> None:
    """The forget check fails for a core whose forget lets nothing go, and only that check."""
    failed = {r.name for r in conformance.run_all(f"{__name__}:HoardingCore") if not r.passed}
    assert failed == {"forget"}


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


def test_lookup_checks_catch_a_core_without_an_index() -> None:
    """A core that finds nothing by id fails lookup_by_id and set_state; one that names no send, lookup_by_id."""
    missing = {r.name: r.passed for r in conformance.run_all(f"{__name__}:NoLookupCore")}
    unnamed = {r.name for r in conformance.run_all(f"{__name__}:UnnamedSendCore") if not r.passed}
    assert ((False, False), {"lookup_by_id"}) == ((missing["lookup_by_id"], missing["set_state"]), unnamed)
