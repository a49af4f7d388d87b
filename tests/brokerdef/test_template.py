"""Tests of sim.brokerdef.template: parsing, rendering and reading back value templates."""

from __future__ import annotations

import pytest

from sim.brokerdef.template import MO_FIELDS, MT_FIELDS, Template, TemplateError, parse_template


def test_a_template_is_split_into_literals_and_fields() -> None:
    """Pieces alternate literal and field, starting and ending with a literal."""
    assert ("+", "to", "") == parse_template("+{to}", MT_FIELDS).pieces


def test_doubled_braces_are_literal_braces() -> None:
    """'{{' and '}}' stand for one brace each and are not fields."""
    template = parse_template("{{x}} {text}", MT_FIELDS)
    assert ("{x} ", "text", "") == template.pieces
    assert "{x} hi" == template.render({"text": "hi"})


def test_render_replaces_each_field() -> None:
    """Every field, including a repeated one, gets its value."""
    template = parse_template("{part}/{parts} of {part}", MT_FIELDS)
    assert "1/3 of 1" == template.render({"part": "1", "parts": "3"})


def test_match_reads_fields_back() -> None:
    """Reading a rendered value back yields the values that were put in."""
    template = parse_template("{part}/{parts}", MT_FIELDS)
    assert {"part": "12", "parts": "40"} == template.match("12/40")


def test_match_gives_none_when_the_literals_differ() -> None:
    """A value whose literal parts differ from the template does not match."""
    assert None is parse_template("+{to}", MT_FIELDS).match("0044")


def test_match_requires_a_repeated_field_to_repeat_its_value() -> None:
    """A field used twice must carry the same value both times."""
    template = parse_template("{to}-{to}", MT_FIELDS)
    assert {"to": "5"} == template.match("5-5")
    assert None is template.match("5-6")


def test_match_reads_text_with_newlines_and_the_separator() -> None:
    """The last field takes the rest of the value, separators and line breaks included."""
    template = parse_template("{part}/{text}", MT_FIELDS)
    assert {"part": "1", "text": "a/b\nc"} == template.match("1/a/b\nc")


def test_a_literal_template_has_no_fields() -> None:
    """A template without fields is literal and matches only itself."""
    template = parse_template("MMX", MO_FIELDS)
    assert template.is_literal
    assert {} == template.match("MMX")


@pytest.mark.parametrize(("source", "reason"), [
    ("{number}", "unknown field {number}"),
    ("{to", "unclosed '{' at offset 0"),
    ("to}", "unmatched '}' at offset 2"),
    ("{}", "empty field '{}'"),
    ("{from}{to}", "field {to} follows another field with no text between them"),
    ("{account.id.x}", "unknown field {account.id.x}"),
])
def test_malformed_templates_are_refused_with_the_reason(source: str, reason: str) -> None:
    """Each malformed template names what is wrong."""
    with pytest.raises(TemplateError) as caught:
        parse_template(source, MT_FIELDS)
    assert str(caught.value).startswith(reason)


def test_a_field_of_another_vocabulary_is_refused() -> None:
    """An MO template cannot use an MT-only field, and the error lists the allowed ones."""
    with pytest.raises(TemplateError) as caught:
        parse_template("{account.password}", MO_FIELDS)
    assert "(allowed: {from}, {message_id}, {text}, {to})" in str(caught.value)


def test_render_with_a_missing_value_is_a_caller_bug() -> None:
    """Rendering without a value for a field raises KeyError (vocabularies are closed)."""
    with pytest.raises(KeyError):
        Template("{to}", ("", "to", "")).render({})
