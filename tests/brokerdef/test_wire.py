"""Tests of sim.brokerdef.wire: URLs and strict field decoding shared by both ends."""

from __future__ import annotations

import pytest

from sim.brokerdef.wire import HttpRequest, decode_fields, decode_json_object, join_url
from sim.core.errors import InputError


@pytest.mark.parametrize(("base", "path", "query", "expected"), [
    ("http://gw", "/send", "", "http://gw/send"),
    ("http://gw/", "/send", "a=1", "http://gw/send?a=1"),
    ("https://gw/id/123/", "/send", "", "https://gw/id/123/send"),
    ("http://cic/dr?x=1", "", "a=b", "http://cic/dr?x=1&a=b"),
])
def test_urls_join_gateway_path_and_query(base: str, path: str, query: str, expected: str) -> None:
    """The gateway keeps its own path; a query is appended with ? or &."""
    assert expected == join_url(base, path, query)


def test_query_and_form_fields_are_read_together_in_order() -> None:
    """Query fields come first, then form fields, repeated names kept."""
    fields = decode_fields("a=1&b=%C3%A9", "application/x-www-form-urlencoded; charset=utf-8", b"a=2&c=+x+")
    assert [("a", "1"), ("b", "é"), ("a", "2"), ("c", " x ")] == fields


def test_a_body_of_another_type_is_not_read_as_form() -> None:
    """Only a form content type makes the body count as fields."""
    assert [("a", "1")] == decode_fields("a=1", "text/plain", b"b=2")


@pytest.mark.parametrize(("query", "body", "reason"), [
    ("a=%FF", b"", "a field is not valid UTF-8 once decoded"),
    ("", b"a=%C3", "a field is not valid UTF-8 once decoded"),
    ("", b"a=\xff", "the form body is not valid UTF-8"),
    ("&".join(f"f{i}=1" for i in range(1001)), b"", "the request has too many fields"),
])
def test_undecodable_fields_are_input_errors(query: str, body: bytes, reason: str) -> None:
    """Invalid UTF-8 and absurd field counts are refused, never replaced silently."""
    with pytest.raises(InputError) as caught:
        decode_fields(query, "application/x-www-form-urlencoded", body)
    assert str(caught.value).startswith(reason)
    assert 400 == caught.value.status


def test_json_objects_are_decoded_strictly() -> None:
    """A JSON object is returned; broken JSON, bad UTF-8 and non-objects are refused."""
    assert {"a": 1} == decode_json_object(b'{"a": 1}')
    for body in (b"{", b"\xff", b"[1]"):
        with pytest.raises(InputError):
            decode_json_object(body)


def test_a_request_exposes_path_query_and_headers() -> None:
    """Headers are looked up case-insensitively; path and query come from the URL."""
    request = HttpRequest("GET", "http://h/p/q?x=1", (("Content-Type", "a/b"),))
    assert ("/p/q", "x=1", "a/b", "") == (request.path, request.query, request.header("content-type"),
                                          request.header("missing"))
