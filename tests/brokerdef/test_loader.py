"""Tests of sim.brokerdef.loader: every load rule refuses a bad definition with file, field and reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sim.brokerdef.definition import AnswerFormat, AuthScheme, Failure, Method, Placement, Recipients
from sim.brokerdef.loader import load_definition, parse_definition, shipped, shipped_names
from sim.core.errors import ConfigError
from sim.core.types import DeliveryState

BASE: dict[str, Any] = {
    "name": "t",
    "mt": {"path": "/send", "params": {"to": "{to}", "msg": "{text}"}},
    "answer": {"format": "bare", "success": {"code": "OK"}, "failures": {"unknown": {"code": "ERR"}}},
}


def with_(changes: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """BASE with ``changes`` (dotted keys) applied; a value of None deletes the key."""
    data = copy.deepcopy(base or BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The (path, reason) pairs of the ConfigError that loading ``data`` raises."""
    with pytest.raises(ConfigError) as caught:
        parse_definition(data, "t.yaml")
    assert "t.yaml" == caught.value.source
    return [(p.path, p.reason) for p in caught.value.problems]


def test_a_minimal_definition_loads_with_its_defaults() -> None:
    """Unset keys take their documented defaults."""
    d = parse_definition(BASE, "t.yaml")
    assert (Method.POST, Placement.FORM, AuthScheme.NONE, Recipients.SINGLE) == (
        d.mt.method, d.mt.placement, d.mt.auth.scheme, d.mt.recipients)
    answer = d.answer
    assert (AnswerFormat.BARE, 200, "{code}") == (answer.format, answer.success.status, answer.body.source)
    assert "ERR" == d.answer.failure(Failure.CREDIT).code
    assert (None, None, "t.yaml") == (d.mo, d.dr, d.source)


def test_every_shipped_definition_loads() -> None:
    """The shipped files are valid, and their names are their file names."""
    names = shipped_names()
    assert {"eztexting", "generic-form", "generic-json", "kaleyra-directtext"} <= set(names)
    assert list(names) == [shipped(n).name for n in names]


def test_an_unknown_shipped_name_lists_the_known_ones() -> None:
    """Asking for a definition that is not shipped names those that are."""
    with pytest.raises(ConfigError, match=r"is not a shipped definition \(known: eztexting, "):
        shipped("nope")


def test_all_problems_are_reported_at_once() -> None:
    """Several mistakes in one file give one error listing each."""
    found = problems(with_({"name": "Bad Name", "mt.method": "PUT", "extra": 1}))
    assert ("name", "must match [a-z0-9][a-z0-9-]*") in found
    assert ("mt.method", "must be one of GET, POST") in found
    assert ("extra", "is not a known field") in found


@pytest.mark.parametrize(("changes", "expected"), [
    ({"mt.params.to": "{number}"}, ("mt.params.to", "unknown field {number}")),
    ({"mt.params.to": "{from}"}, ("mt.params", "must place {to} exactly once (found 0)")),
    ({"mt.params.msg": "{text} {text}"}, ("mt.params", "must place {text} exactly once (found 2)")),
    ({"mt.params.to": "{to}-{from}"}, ("mt.params.to", "must hold no field besides {to}")),
    ({"mt.params": {}}, ("mt.params", "must name at least one parameter")),
    ({"mt.params.to": ["x"]}, ("mt.params.to", "must be a string template")),
    ({"mt.path": "send"}, ("mt.path", "must match /\\S*")),
    ({"mt.method": "GET"}, ("mt.placement", "must be query when method is GET (a GET has no body)")),
    ({"mt.accept_methods": ["GET", "DELETE"]}, ("mt.accept_methods[1]", "must be GET or POST")),
    ({"mt.auth": {"scheme": "params"}},
     ("mt.auth.scheme", "needs {account.login} or {account.password} in a parameter")),
    ({"mt.auth": {"scheme": "token"}},
     ("mt.auth.scheme", "must be one of none, basic, params, bearer, api-key")),
    ({"mt.recipient_pattern": "("}, ("mt.recipient_pattern", "is not a valid regular expression")),
    ({"mt.recipients": "join", "mt.separator": ""}, ("mt.separator", "must not be empty")),
    ({"mt.dr_url_param": "to"}, ("mt.dr_url_param", "must differ from every parameter name")),
    ({"mt.options": {"bad name": "x"}}, ("mt.options.bad name", "must be a name of letters, digits and _")),
    ({"mt.params.x": "{option.Missing}"}, ("mt.params.x", "unknown field {option.Missing}")),
    ({"mt.params.x": {"value": "{from}", "required": "maybe"}},
     ("mt.params.x.required", "must be true, false, 0 or 1")),
    ({"mt.xml_body": "<a/>"}, ("mt.xml_body", "is only read with placement xml")),
])
def test_mt_rules(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    """Each rule of the mt section refuses its mistake with the field path and the reason."""
    found = problems(with_(changes))
    assert any(path == expected[0] and reason.startswith(expected[1]) for path, reason in found), found


@pytest.mark.parametrize(("changes", "expected"), [
    ({"mt.placement": "json", "mt.recipients": "repeat"},
     ("mt.params.to", "must end with [] exactly when it holds {to} and recipients is repeat")),
    ({"mt.placement": "json", "mt.params.a//b": "{from}"}, ("mt.params.a//b", "has an empty segment")),
    ({"mt.placement": "xml"}, ("mt.params", "must be absent with an XML body (use xml_body)")),
    ({"mt.placement": "xml", "mt.params": None}, ("mt.xml_body", "is required")),
    ({"mt.placement": "xml", "mt.params": None, "mt.xml_body": "<a>{to}<b>{text}</a>"},
     ("mt.xml_body", "is not well-formed XML")),
    ({"mt.placement": "xml", "mt.params": None, "mt.xml_body": "<a><b>x</b>{to}<c>{text}</c></a>"},
     ("mt.xml_body", "a field stands outside element text and attribute values")),
    ({"mt.placement": "xml", "mt.params": None, "mt.dr_url_param": "cb",
      "mt.xml_body": "<a><b>{to}</b><c>{text}</c></a>"},
     ("mt.dr_url_param", "cannot be used with an XML body")),
])
def test_body_placement_rules(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    """JSON parameter paths and XML body templates are checked at load."""
    found = problems(with_(changes))
    assert any(path == expected[0] and reason.startswith(expected[1]) for path, reason in found), found


@pytest.mark.parametrize(("changes", "expected"), [
    ({"answer.format": "yaml"}, ("answer.format", "must be one of bare, json, xml, status")),
    ({"answer.body": "{description}"}, ("answer.body", "must contain {code}")),
    ({"answer.failures.unknown": None}, ("answer.failures.unknown", "is required")),
    ({"answer.failures.broke": {"code": "X"}}, ("answer.failures.broke", "is not a failure kind")),
    ({"answer.failures.auth": {"code": "OK"}},
     ("answer.failures.auth", "must differ from the success answer")),
    ({"answer.success": {"status": 700, "code": "OK"}}, ("answer.success.status", "must be at most 599")),
    ({"answer.success": {"status": 200}},
     ("answer.success.code", "is required when the answer carries a code")),
    ({"answer.fields": {"code": "/c"}}, ("answer.fields", "is only read with format json or xml")),
    ({"answer.format": "status", "answer.body": None},
     ("answer.success.code", "cannot be given: a status answer here carries no code field")),
    ({"answer.format": "json", "answer.body": None, "answer.fields": {"id": "/id"}},
     ("answer.fields.id", "is not an answer field")),
    ({"answer.format": "json", "answer.body": None, "answer.fields": {"code": "code"}},
     ("answer.fields.code", "must be a path such as /code")),
    ({"answer.format": "xml", "answer.body": None,
      "answer.fields": {"code": "/a/code", "description": "/b/d"}},
     ("answer.fields", "must share one root element")),
    ({"answer.format": "xml", "answer.body": None, "answer.fields": {"code": "/a[]/code"}},
     ("answer.fields.code", "cannot repeat the root element")),
])
def test_answer_rules(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    """Each rule of the answer section refuses its mistake with the field path and the reason."""
    found = problems(with_(changes))
    assert any(path == expected[0] and reason.startswith(expected[1]) for path, reason in found), found


MO = {"fields": {"a": "{from}", "t": "{text}"}}
DR = {"fields": {"id": "{message_id}", "s": "{status}"}, "states": [{"status": "OK", "state": "delivered"}]}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"mo": {"fields": {"a": "{from}"}}}, ("mo.fields", "must place {text}")),
    ({"mo": {**MO, "placement": "xml"}}, ("mo.placement", "must be query, form or json for a push")),
    ({"mo": {**MO, "method": "GET"}}, ("mo.placement", "must be query when method is GET")),
    ({"mo": {"fields": {"a": "{from}", "t": "{text}", "x": "{status}"}}},
     ("mo.fields.x", "unknown field {status}")),
    ({"mo": {"fields": {}}}, ("mo.fields", "must name at least one field")),
    ({"dr": {**DR, "fields": {"s": "{status}"}}}, ("dr.fields", "must place {message_id}")),
    ({"dr": {**DR, "fields": {"id": "{message_id}"}}}, ("dr.fields", "must place {status} or {status_code}")),
    ({"dr": {**DR, "states": []}}, ("dr.states", "must list at least one status")),
    ({"dr": {**DR, "states": [{"status": "OK", "state": "lost"}]}}, ("dr.states[0].state", "must be one of")),
    ({"dr": {**DR, "states": [{"state": "failed"}]}}, ("dr.states[0].status", "a status entry needs")),
    ({"dr": {**DR, "states": [{"status": "OK", "state": "sent"}, {"status": "OK", "state": "failed"}]}},
     ("dr.states[1]", "repeats states[0]")),
    ({"text_rules": {"max_length": 0}}, ("text_rules.max_length", "must be at least 1")),
    ({"text_rules": {"allowed": "[a-"}}, ("text_rules.allowed", "is not a valid regular expression")),
])
def test_push_and_rule_sections(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    """The mo, dr and text_rules sections refuse their mistakes with the field path and the reason."""
    found = problems(with_(changes))
    assert any(path == expected[0] and reason.startswith(expected[1]) for path, reason in found), found


def test_push_sections_read_their_defaults() -> None:
    """MO and DR pushes default to form POSTs at their documented default paths."""
    d = parse_definition(with_({"mo": MO, "dr": DR}))
    assert (Method.POST, Placement.FORM, "/receivesms.php") == (d.mo.method, d.mo.placement, d.mo.path)
    assert "/smsdr" == d.dr.push.path
    assert DeliveryState.DELIVERED == d.dr.entry_for(DeliveryState.DELIVERED).state
    assert None is d.dr.entry_for(DeliveryState.FAILED)


def test_a_file_that_is_not_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A YAML syntax error names the file."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_definition(path)
    assert str(path) == caught.value.source
    assert caught.value.problems[0].reason.startswith("is not valid YAML")


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    """A definition file that does not exist is a configuration error, not a crash."""
    with pytest.raises(ConfigError, match="cannot be read"):
        load_definition(tmp_path / "none.yaml")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    """A YAML list at the top is refused as not a mapping."""
    path = tmp_path / "list.yaml"
    path.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_definition(path)
    assert ("(top)", "must be a mapping") == (caught.value.problems[0].path, caught.value.problems[0].reason)


def test_an_error_message_names_file_field_value_and_reason(tmp_path: Path) -> None:
    """The text of the error carries the file, the field path, the reason and the value."""
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nmt: {path: /s, params: {to: '{number}', m: '{text}'}}\n"
                    "answer: {format: status, failures: {unknown: {status: 500}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_definition(path)
    assert str(caught.value).startswith(f"{path}: mt.params.to: unknown field {{number}} (allowed: ")
    assert str(caught.value).endswith("(got '{number}')")
