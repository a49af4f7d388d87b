"""Tests of certs.config_cases: a broker with MO on HTTPS and MT on HTTP is refused by validation."""

from __future__ import annotations

from certs.cases import run_case
from certs.config_cases import CONFIG_CASES
from certs.pki import Pki


def test_mixed_schemes_are_refused_with_the_field_and_value(fixed_pki: Pki) -> None:
    """The case's outcome names the MT gateway field, the rule and the value, as validation reports it."""
    (case,) = CONFIG_CASES
    result = run_case(case, fixed_pki)
    assert ("refused", "brokers[0].mt.gateway: must use https like the broker's encryption HTTPS "
                  "(MO and MT must both be HTTP or both HTTPS)") == (
        result.actual, result.reason)
    assert [] == result.mismatches
