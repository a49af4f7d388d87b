"""Tests of scenarios.lab.proxy_tls_cases: SSL offload and re-encrypt through the simulated proxy, for real."""

from __future__ import annotations

import pytest

from certs.cases import Case, run_case
from certs.pki import Pki, PkiOptions
from scenarios.lab.proxy_tls_cases import PROXY_CASES


@pytest.fixture(scope="module")
def pki() -> Pki:
    """The default PKI, as the matrix builds it."""
    return Pki.generate(PkiOptions())


@pytest.mark.parametrize("case", PROXY_CASES, ids=[c.name for c in PROXY_CASES])
def test_case(pki: Pki, case: Case) -> None:
    """The actual outcome, reason and facts of the proxy case are the expected ones."""
    result = run_case(case, pki)
    assert (case.expected, result.expected_reason) == (result.actual, result.reason[: len(result.expected_reason)])
    assert [] == result.mismatches
