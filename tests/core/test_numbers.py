"""Tests for sim.core.numbers: FQTN internationalisation under a number plan."""

from __future__ import annotations

import pytest

from sim.core.numbers import NumberError, NumberPlan, internationalize

UK = NumberPlan(country_code="44", national_length=10, trunk_prefix="0", international_prefix="00")


@pytest.mark.parametrize(("number", "expected"), [
    ("3175550123", "+13175550123"),
    ("13175550123", "+13175550123"),
    ("+13175550123", "+13175550123"),
    ("(317) 555-0123", "+13175550123"),
    ("011447700900123", "+447700900123"),
])
def test_north_american_defaults(number: str, expected: str) -> None:
    """National, with country code, already FQTN, punctuated and 011-prefixed numbers become FQTN."""
    assert expected == internationalize(number)


@pytest.mark.parametrize(("number", "expected"), [
    ("07700900123", "+447700900123"),
    ("7700900123", "+447700900123"),
    ("0033612345678", "+33612345678"),
])
def test_plan_with_trunk_prefix(number: str, expected: str) -> None:
    """A plan with trunk prefix 0 and international prefix 00 drops and adds the right digits."""
    assert expected == internationalize(number, UK)


@pytest.mark.parametrize("number", ["12345", "31755501234567", "317-555-01x3", "+1 317 abc"])
def test_unexplained_numbers_are_refused(number: str) -> None:
    """A length the plan does not explain, or letters, raise NumberError naming the number."""
    with pytest.raises(NumberError, match="cannot internationalize"):
        internationalize(number)
