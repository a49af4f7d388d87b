"""Tests of certs.cases: how a case's result is judged, skipped, or turned into an error."""

from __future__ import annotations

import pytest

from certs.cases import Case, fill, run_case
from certs.pki import Pki
from certs.probe import Outcome


def _case(run: object, **changes: object) -> Case:
    fields: dict[str, object] = {
        "name": "sample",
        "client": "client of {fqdn}",
        "server": "server in {domain}",
        "expected": "refused",
        "reason": "verify_code 62 / Hostname mismatch, certificate is not valid for '{fqdn}'.",
        "run": run,
    }
    return Case(**{**fields, **changes})  # type: ignore[arg-type]


def test_fill(fixed_pki: Pki) -> None:
    """Placeholders are filled from the PKI's options."""
    assert fill("{fqdn} {domain} {parent}", fixed_pki) == "webportal.smslab.test smslab.test smslab.test"


def test_matching_result_passes(fixed_pki: Pki) -> None:
    """An outcome with the expected verdict and reason passes; parties are filled."""
    reason = "verify_code 62 / Hostname mismatch, certificate is not valid for 'webportal.smslab.test'."
    result = run_case(_case(lambda pki: Outcome(False, reason, {"x": 1})), fixed_pki)
    assert (result.passed, result.mismatches, result.actual) == (True, [], "refused")
    assert (result.client, result.server) == ("client of webportal.smslab.test", "server in smslab.test")


def test_mismatches_listed(fixed_pki: Pki) -> None:
    """A different verdict, reason and fact are each named."""
    case = _case(lambda pki: Outcome(True, "TLSv1.3", {"alpn": "h2"}), facts={"alpn": "http/1.1"})
    result = run_case(case, fixed_pki)
    assert not result.passed
    assert result.mismatches == [
        "expected refused, got accepted",
        'reason must start with "verify_code 62 / Hostname mismatch, certificate is not valid for '
        "'webportal.smslab.test'.\" (got 'TLSv1.3')",
        "details['alpn'] must be 'http/1.1' (got 'h2')",
    ]


def test_facts_are_filled(fixed_pki: Pki) -> None:
    """Facts may hold placeholders, in strings and in lists of strings."""
    case = _case(
        lambda pki: Outcome(True, "ok", {"chain": ["a.smslab.test"]}), expected="accepted", reason="ok"
    )
    result = run_case(Case(**{**case.__dict__, "facts": {"chain": ["a.{domain}"]}}), fixed_pki)
    assert result.passed


@pytest.mark.parametrize("module", ["sim.no_such_component", "no_such_package.proxy"])
def test_missing_component_skips(fixed_pki: Pki, module: str) -> None:
    """A case needing a module that does not exist yet is skipped, not failed, and not run."""
    ran = []
    result = run_case(_case(lambda pki: ran.append(1), needs=(module,)), fixed_pki)
    assert ("skipped", f"needs {module} (not built yet)", True, []) == (
        result.actual,
        result.reason,
        result.passed,
        ran,
    )


def test_present_component_runs(fixed_pki: Pki) -> None:
    """A case whose needed modules exist is run."""
    result = run_case(_case(lambda pki: Outcome(True, "x"), needs=("certs.probe",)), fixed_pki)
    assert result.actual == "accepted"


def test_exception_becomes_error(fixed_pki: Pki) -> None:
    """An exception inside a case is reported as an error result, which fails."""

    def broken(pki: Pki) -> Outcome:
        raise RuntimeError("boom")

    result = run_case(_case(broken), fixed_pki)
    assert (result.actual, result.reason, result.passed) == ("error", "RuntimeError: boom", False)


def test_as_dict(fixed_pki: Pki) -> None:
    """The JSON form carries name, parties, expected and actual outcome, reason and details."""
    result = run_case(_case(lambda pki: Outcome(True, "TLSv1.3", {"cipher": "c"})), fixed_pki)
    data = result.as_dict()
    assert data["parties"] == {"client": "client of webportal.smslab.test", "server": "server in smslab.test"}
    assert (
        data["expected"], data["actual"], data["reason"], data["details"], data["passed"]
    ) == ("refused", "accepted", "TLSv1.3", {"cipher": "c"}, False)  # fmt: skip
