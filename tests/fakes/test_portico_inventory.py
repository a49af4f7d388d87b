"""Tests of fakes.portico.inventory: the seeded number pool and the /available query rules."""



from __future__ import annotations

import pytest

from fakes.portico.errors import ApiError
from fakes.portico.inventory import Search, check_order_number, normalise, parse_search, search
from fakes.portico.settings import TOLLFREE_PREFIXES, NumberKind

TF, LC = NumberKind.TOLLFREE, NumberKind.LONGCODE


def never(_: str) -> bool:
    return False


def refused(kind: NumberKind, query: dict[str, str]) -> tuple[int, str, str, str]:
    with pytest.raises(ApiError) as caught:
        parse_search(kind, query)
    e = caught.value
    return e.status, e.code, e.details[0].field_name, e.message


def test_the_query_defaults_to_ten_results() -> None:
    """numberOfResults defaults to 10 (as in the SDK 179.0.0); vanity is upper-cased."""
    assert Search(TF, 10, "") == parse_search(TF, {})
    assert Search(TF, 100, "SMSLAB") == parse_search(TF, {"numberOfResults": "100", "vanity": "smslab"})
    assert Search(LC, 5, "", "312", "555", "CA", "12", "1312") == parse_search(
        LC, {"numberOfResults": "5", "areaCode": "312", "exchangeCode": "555", "country": "ca",
             "endsWith": "12", "longCode": "1312"})


def test_out_of_range_queries_are_refused_with_the_platform_error() -> None:
    """numberOfResults outside 1-100, a vanity not 4-7 alphanumerics, other countries: 400 invalid.value."""
    assert (400, "invalid.value", "numberOfResults", "numberOfResults must be 1 to 100 (got '101')") == \
        refused(TF, {"numberOfResults": "101"})
    assert (400, "invalid.value", "numberOfResults", "numberOfResults must be 1 to 100 (got '0')") == \
        refused(TF, {"numberOfResults": "0"})
    assert (400, "invalid.value", "numberOfResults", "numberOfResults must be 1 to 100 (got 'ten')") == \
        refused(TF, {"numberOfResults": "ten"})
    assert (400, "invalid.value", "vanity", "vanity must be 4 to 7 letters or digits (got 'abc')") == \
        refused(TF, {"vanity": "abc"})
    assert (400, "invalid.value", "vanity", "vanity must be 4 to 7 letters or digits (got 'ABCDEFGH')") == \
        refused(TF, {"vanity": "ABCDEFGH"})
    assert (400, "invalid.value", "vanity", "vanity must be 4 to 7 letters or digits (got 'AB-D')") == \
        refused(TF, {"vanity": "AB-D"})
    assert (400, "invalid.value", "country", "country must be US or CA (got 'GB')") == \
        refused(LC, {"country": "gb"})
    assert (400, "invalid.value", "areaCode", "areaCode must match [2-9]\\d\\d (got '112')") == \
        refused(LC, {"areaCode": "112"})


def test_toll_free_numbers_use_the_north_american_prefixes() -> None:
    """Every offered toll-free number is 1 + a toll-free prefix + 7 digits."""
    found = search(Search(TF, 100), 3, never)
    assert 100 == len(set(found))
    assert all(len(n) == 11 and n[0] == "1" and n[1:4] in TOLLFREE_PREFIXES for n in found)


def test_searches_are_reproducible_from_the_seed() -> None:
    """The same seed and query give the same numbers; another seed gives others."""
    assert search(Search(TF, 10), 3, never) == search(Search(TF, 10), 3, never)
    assert search(Search(TF, 10), 3, never) != search(Search(TF, 10), 4, never)


def test_provisioned_numbers_are_not_offered() -> None:
    """A number already provisioned drops out; the search still returns as many as asked."""
    first = search(Search(TF, 5), 3, never)
    again = search(Search(TF, 5), 3, lambda n: n == first[0])
    assert first[1:] == again[:4]
    assert first[0] not in again
    assert 5 == len(again)


def test_vanity_letters_end_the_number_on_the_keypad() -> None:
    """A vanity word is spelt on the phone keypad at the end of the number."""
    found = search(Search(TF, 5, "SMSLAB"), 3, never)
    assert 5 == len(found)
    assert all(n.endswith("767522") for n in found)


def test_long_code_filters_shape_the_numbers() -> None:
    """Area code, exchange code, ending and prefix are honoured; numbers are valid NANP long codes."""
    assert all(n.startswith("1312") for n in search(Search(LC, 10, area_code="312"), 1, never))
    assert all(n[4:7] == "555" for n in search(Search(LC, 10, exchange_code="555"), 1, never))
    assert all(n.endswith("42") for n in search(Search(LC, 10, ends_with="42"), 1, never))
    assert all(n.startswith("1604") for n in search(Search(LC, 10, starts_with="+1604"), 1, never))
    canada = search(Search(LC, 20, country="CA"), 1, never)
    assert {n[1:4] for n in canada} <= {"416", "514", "604"}
    assert all(normalise(LC, n) == n for n in canada)


def test_numbers_are_normalised_without_plus() -> None:
    """A number is kept as its code without '+'; malformed ones are None."""
    assert "18445551212" == normalise(TF, "+18445551212")
    assert normalise(TF, "13125551212") is None
    assert normalise(LC, "11125551212") is None
    assert "13125551212" == check_order_number(LC, "+13125551212", "[0].longcode")
    with pytest.raises(ApiError) as caught:
        check_order_number(TF, 18445551212, "[0].tollfreeNumber")
    assert "[0].tollfreeNumber must be a toll-free number such as 18445551212 (got 18445551212)" == \
        caught.value.message
