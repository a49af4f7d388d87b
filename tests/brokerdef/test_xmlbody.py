"""Tests of sim.brokerdef.xmlbody: XML body templates, rendered and read back."""

from __future__ import annotations

import pytest

from sim.brokerdef.template import MT_FIELDS, TemplateError
from sim.brokerdef.xmlbody import parse_xml_template, read_xml_body, render_xml_body

# The shape of the older DirectTEXT XML API (from public client code).
SOURCE = """<?xml version="1.0" encoding="UTF-8"?>
<router-api client_id="{account.id}" version="2.0">
  <request request_id="r-{correlation}">
    <send_message return_ids="true">
      <body type="text">{text}</body>
      <reply_to>{from}</reply_to>
      <recipient_list><recipient>+{to}</recipient></recipient_list>
    </send_message>
  </request>
</router-api>
"""

VALUES = {"account.id": "acc", "correlation": "c1", "text": 'a < b & "c"\r\nd', "from": "12345",
          "to": "15550001"}


def test_the_template_records_root_and_places() -> None:
    """Each field's place is recorded with its element path and attribute."""
    _, root, slots = parse_xml_template(SOURCE, MT_FIELDS)
    assert "router-api" == root
    places = [("/".join(t for t, _ in s.path), s.attribute, s.template.source) for s in slots]
    assert [("", "client_id", "{account.id}"), ("request", "request_id", "r-{correlation}"),
            ("request/send_message/body", None, "{text}"), ("request/send_message/reply_to", None, "{from}"),
            ("request/send_message/recipient_list/recipient", None, "+{to}")] == places


def test_render_escapes_values_in_place() -> None:
    """Values are XML-escaped where they stand; the literal XML is kept as written."""
    template, _, _ = parse_xml_template(SOURCE, MT_FIELDS)
    body = render_xml_body(template, VALUES)
    assert b'<body type="text">a &lt; b &amp; &quot;c&quot;&#13;&#10;d</body>' in body
    assert b'<router-api client_id="acc" version="2.0">' in body


def test_read_gives_back_what_was_rendered() -> None:
    """Reading the rendered body yields every value unchanged, CR LF included."""
    template, root, slots = parse_xml_template(SOURCE, MT_FIELDS)
    values = read_xml_body(render_xml_body(template, VALUES), root, slots)
    assert {k: [v] for k, v in VALUES.items()} == values


def test_read_ignores_layout_and_collects_repeated_recipients() -> None:
    """Another client's whitespace is fine, and every repeated recipient element is read."""
    _, root, slots = parse_xml_template(SOURCE, MT_FIELDS)
    body = (b'<router-api version="2.0" client_id="acc"><request request_id="r-"><send_message>'
            b'<body>hi</body><reply_to>1</reply_to><recipient_list><recipient>+1</recipient>'
            b'<recipient>+2</recipient></recipient_list></send_message></request></router-api>')
    assert ["1", "2"] == read_xml_body(body, root, slots, repeat_field="to")["to"]
    assert ["1"] == read_xml_body(body, root, slots)["to"]


@pytest.mark.parametrize(("body", "reason"), [
    (b"<router-api", "the body is not well-formed XML"),
    (b"<other/>", "the root element must be <router-api> (got <other>)"),
    (b'<router-api client_id="a"/>', "element <request> is missing"),
    (b'<router-api client_id="a"><request request_id="r-"/></router-api>',
     "element <request/send_message> is missing"),
    (b"<router-api/>", "<(root)> attribute client_id is missing"),
])
def test_unreadable_bodies_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    """A body that is not XML, has another root or lacks a place says which."""
    _, root, slots = parse_xml_template(SOURCE, MT_FIELDS)
    with pytest.raises(ValueError, match=r".*") as caught:
        read_xml_body(body, root, slots)
    assert str(caught.value).startswith(reason)


def test_a_place_that_does_not_match_its_template_is_refused() -> None:
    """A recipient without the template's '+' does not match '+{to}'."""
    _, root, slots = parse_xml_template("<a><t>{text}</t><n>+{to}</n></a>", MT_FIELDS)
    with pytest.raises(ValueError, match=r"the text of <n> must match '\+\{to\}' \(got '1'\)"):
        read_xml_body(b"<a><t>x</t><n>1</n></a>", root, slots)


def test_a_field_in_a_comment_is_refused() -> None:
    """A field the parser cannot see (in a comment) could not be read back, so it is refused."""
    with pytest.raises(TemplateError, match="outside element text"):
        parse_xml_template("<a><!-- {from} --><t>{text}</t><n>{to}</n></a>", MT_FIELDS)
