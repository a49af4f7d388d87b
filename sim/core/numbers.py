"""Internationalising telephone numbers to FQTN (``+CCdddddddd``).

The broker's Message Terminated tab has "Internationalize Telephone Numbers": numbers are sent to the broker
as FQTN (SMS Technical Reference, "Configure Broker Message Terminated settings"). How CIC turns a dialed
string into FQTN comes from its regional dial plan, which the documents do not give (GAP), so the rules are
settings with North American defaults: country code 1, ten-digit national numbers, international prefix 011.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.core.errors import InputError

__all__ = ["DEFAULT_PLAN", "NumberError", "NumberPlan", "internationalize"]

_SEPARATORS = re.compile(r"[\s().\-/]")


class NumberError(InputError):
    """A number cannot be put into FQTN form under the number plan."""


@dataclass(frozen=True)
class NumberPlan:
    """How a national number becomes FQTN; every field a setting (GAP: CIC takes it from the dial plan).

    Attributes:
        country_code: the country code added to national numbers.
        national_length: the digit count of a national number without trunk prefix.
        trunk_prefix: a national trunk prefix to drop (``0`` in much of Europe; NANP uses ``1`` = the CC).
        international_prefix: the prefix that marks an international number (``011`` NANP, ``00`` elsewhere).
    """

    country_code: str = "1"
    national_length: int = 10
    trunk_prefix: str = ""
    international_prefix: str = "011"


DEFAULT_PLAN = NumberPlan()


def internationalize(number: str, plan: NumberPlan | None = None) -> str:
    """Return ``number`` as ``+`` followed by country code and national number.

    Visual separators (spaces, dots, dashes, slashes, parentheses) are dropped first.

    Raises:
        NumberError: the number has characters other than digits (after an optional ``+``), or a length
            the plan does not explain.
    """
    plan = plan or DEFAULT_PLAN
    compact = _SEPARATORS.sub("", number)
    if compact.startswith("+"):
        digits = compact[1:]
        _digits_only(number, digits)
        return "+" + digits
    _digits_only(number, compact)
    if plan.international_prefix and compact.startswith(plan.international_prefix):
        return "+" + compact[len(plan.international_prefix):]
    national = compact
    if plan.trunk_prefix and compact.startswith(plan.trunk_prefix) \
            and len(compact) == plan.national_length + len(plan.trunk_prefix):
        national = compact[len(plan.trunk_prefix):]
    if len(national) == plan.national_length:
        return "+" + plan.country_code + national
    if compact.startswith(plan.country_code) \
            and len(compact) == len(plan.country_code) + plan.national_length:
        return "+" + compact
    raise NumberError(
        f"cannot internationalize {number!r}: expected {plan.national_length} national digits, "
        f"or country code {plan.country_code} and {plan.national_length} digits"
    )


def _digits_only(original: str, digits: str) -> None:
    if not digits.isdigit() or not digits.isascii():
        raise NumberError(f"cannot internationalize {original!r}: only digits may follow an optional '+'")
