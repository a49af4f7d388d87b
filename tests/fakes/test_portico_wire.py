"""Tests of fakes.portico.wire: strict body reading and the platform's date format."""



from __future__ import annotations

import pytest

from fakes.portico.errors import ApiError
from fakes.portico.wire import dumps, iso, parse_form, parse_json, url_field

JSON = "application/json"


def refusal(body: bytes, content_type: str = JSON, limit: int = 100) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as caught:
        parse_json(body, content_type, limit)
    return caught.value.status, caught.value.code, caught.value.message


def test_dates_are_iso_utc_with_milliseconds() -> None:
    """A clock reading is written as the platform writes dates."""
    assert "2023-11-14T22:13:20.250Z" == iso(1_700_000_000.25)


def test_json_is_compact_utf8() -> None:
    """JSON is written without spaces and without escaping non-ASCII text."""
    assert '{"a":"é","b":[1]}'.encode() == dumps({"a": "é", "b": [1]})


def test_json_body_is_parsed_with_a_charset_parameter() -> None:
    """application/json with a charset is accepted."""
    assert {"a": 1} == parse_json(b'{"a":1}', "application/json; charset=utf-8", 100)


def test_every_unreadable_body_is_refused_with_its_own_status() -> None:
    """Wrong type 415, too large 413, bad UTF-8, no body and bad JSON 400 bad.request."""
    assert (415, "unsupported.media.type", "Content-Type must be application/json (got 'text/plain').") == \
        refusal(b"{}", "text/plain")
    assert (415, "unsupported.media.type", "Content-Type must be application/json (got 'none').") == \
        refusal(b"{}", "")
    assert (413, "request.entity.too.large", "The request body is larger than the limit of 4 bytes.") == \
        refusal(b'{"a":1}', limit=4)
    assert (400, "bad.request", "The request body is not valid UTF-8 (byte 7).") == refusal(b'{"a":"x\xff"}')
    assert (400, "bad.request", "A request body is required.") == refusal(b"  ")
    assert (400, "bad.request", "The body is not valid JSON: Expecting ',' delimiter at line 1 "
                                "column 9.") == refusal(b'{"a": 1 "b": 2}')


def test_form_bodies_are_read_strictly() -> None:
    """A form is read only when it is a form and valid UTF-8."""
    form = "application/x-www-form-urlencoded"
    assert {"grant_type": "client_credentials"} == parse_form(b"grant_type=client_credentials", form)
    assert {} == parse_form(b"", form)
    assert parse_form(b"grant_type=client_credentials", JSON) is None
    assert parse_form(b"grant_type=%ff", form) is None


def test_urls_must_be_absolute_http() -> None:
    """Webhook URLs are absolute http or https URLs; others name the field."""
    assert "https://n.test/mo" == url_field({"moUrl": "https://n.test/mo"}, "moUrl")
    assert "" == url_field({}, "moUrl")
    with pytest.raises(ApiError) as caught:
        url_field({"moUrl": "ftp://n.test/x"}, "moUrl", "[0].")
    assert ("[0].moUrl must be an absolute http or https URL (got 'ftp://n.test/x')", "[0].moUrl") == \
        (caught.value.message, caught.value.details[0].field_name)
    with pytest.raises(ApiError) as caught:
        url_field({}, "loaFileUrl", required=True)
    assert "loaFileUrl is required" == caught.value.message
