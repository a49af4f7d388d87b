"""Tests of sim.brokerdef.locator: paths into JSON and XML answers, read and written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from sim.brokerdef.locator import build_json, build_xml, parse_locator, read_json, read_xml, xml_escape


def test_a_locator_records_names_and_the_repeated_segment() -> None:
    """'[]' marks the repeated segment and is not part of the name."""
    locator = parse_locator("/data[]/id")
    assert (("data", "id"), 0) == (locator.names, locator.repeat)


def test_pointer_escapes_are_decoded() -> None:
    """~1 is a slash and ~0 a tilde, as in RFC 6901."""
    assert ("a/b", "c~d") == parse_locator("/a~1b/c~0d").names


@pytest.mark.parametrize(("source", "reason"), [
    ("code", "must be a path such as /code or /data[]/id"),
    ("/", "must be a path such as /code or /data[]/id"),
    ("/a[]/b[]", "may mark only one segment with []"),
    ("/a//b", "has an empty segment at position 2"),
    ("/@id/b", "may name an attribute (@name) only in its last segment"),
])
def test_bad_locators_are_refused(source: str, reason: str) -> None:
    """Each malformed locator names what is wrong."""
    with pytest.raises(ValueError, match=r".*") as caught:
        parse_locator(source)
    assert reason == str(caught.value)


def test_json_values_are_read_as_text() -> None:
    """Numbers and booleans read as their JSON text; an absent path reads as nothing."""
    document = {"code": 0, "ok": True, "data": [{"id": "a"}, {"id": 7}, {"x": 1}]}
    assert ["0"] == read_json(document, parse_locator("/code"))
    assert ["true"] == read_json(document, parse_locator("/ok"))
    assert ["a", "7"] == read_json(document, parse_locator("/data[]/id"))
    assert [] == read_json(document, parse_locator("/missing/x"))


def test_json_is_built_in_assignment_order_with_one_item_per_value() -> None:
    """A repeated locator spreads its values over array items; keys keep their order."""
    body = build_json([
        (parse_locator("/status"), ["0"]),
        (parse_locator("/messages[]/to"), ["+1", "+2"]),
        (parse_locator("/messages[]/id"), ["a", "b"]),
        (parse_locator("/ids[]"), ["x"]),
    ])
    assert b'{"status":"0","messages":[{"to":"+1","id":"a"},{"to":"+2","id":"b"}],"ids":["x"]}' == body


def test_xml_is_built_with_repeated_elements_and_attributes() -> None:
    """Each recipient gets its own element; children keep the order of the assignments."""
    body = build_xml([
        (parse_locator("/r/code"), ["100"]),
        (parse_locator("/r/list/item[]/n"), ["1", "2"]),
        (parse_locator("/r/list/item[]/@id"), ["a", "b"]),
    ])
    expected = ('<?xml version="1.0" encoding="UTF-8"?><r><code>100</code><list>'
                '<item id="a"><n>1</n></item><item id="b"><n>2</n></item></list></r>')
    assert expected.encode() == body


def test_xml_values_are_read_from_text_and_attributes() -> None:
    """Text and attribute locators read every repeated element in order."""
    root = ET.fromstring('<r><code>100</code><i id="a"><n>1</n></i><i id="b"><n>2</n></i></r>')
    assert ["100"] == read_xml(root, parse_locator("/r/code"))
    assert ["1", "2"] == read_xml(root, parse_locator("/r/i[]/n"))
    assert ["a", "b"] == read_xml(root, parse_locator("/r/i[]/@id"))
    assert [] == read_xml(root, parse_locator("/other/code"))


def test_xml_text_survives_a_parser_with_cr_and_markup_characters() -> None:
    """Escaped text (with CR, which parsers would turn into LF) reads back unchanged."""
    text = 'a<b>&"c"\r\nd'
    body = build_xml([(parse_locator("/r/t"), [text]), (parse_locator("/r/@v"), [text])])
    root = ET.fromstring(body)
    assert [text] == read_xml(root, parse_locator("/r/t"))
    assert [text] == read_xml(root, parse_locator("/r/@v"))


def test_xml_escape_quotes_attribute_whitespace() -> None:
    """In attributes, quotes, LF and TAB become character references."""
    assert "&lt;&amp;&#13;&quot;&#10;&#9;" == xml_escape('<&\r"\n\t', quote=True)


def test_locators_must_share_one_root_to_build_xml() -> None:
    """Two roots cannot make one document."""
    with pytest.raises(ValueError, match="share one root"):
        build_xml([(parse_locator("/a/x"), ["1"]), (parse_locator("/b/y"), ["2"])])


def test_built_json_parses_back() -> None:
    """The built JSON is valid JSON with non-ASCII text kept as is."""
    body = build_json([(parse_locator("/a/b"), ["é€"])])
    assert {"a": {"b": "é€"}} == json.loads(body)
    assert "é€".encode() in body
