"""Tests for scenarios.scenario.scenario_file: reading scenario files, and every problem reported with its path."""

from __future__ import annotations

import pytest
import yaml

from scenarios.scenario.expect_format import Count, InteractionsCheck, MessagesCheck, NodeCheck
from scenarios.scenario.scenario_file import load_scenarios, parse_scenarios
from scenarios.scenario.step_format import HttpStep, WaitStep
from sim.core.errors import ConfigError

GOOD = """
name: kaleyra round trip
description: an MO, an answer, a receipt
timeout: 4
steps:
  - mo: {broker: kaleyra, from: "+13175550101", to: "8005550100", text: "hello"}
  - wait: {for: interactions, where: {customer: "+13175550101"}, count: 1, save: conv}
  - send: {to: "+13175550101", text: "hi back", classification: Local, interaction_id: "${conv}"}
  - wait: {for: dlr, broker: kaleyra, state: delivered, timeout: 2}
  - fail: {node: primary, mode: kill}
  - restore: {node: primary}
  - switchover: {}
  - clear: {broker: kaleyra}
  - sleep: 0.1
  - http: {broker: portico, path: /oauth/token, auth: {username: a, password: b},
           form: {grant_type: client_credentials}, expect_status: 200, save: {token: access_token}}
  - send: {to: "+4477", text: "x", expect_error: {status: 403, contains: "permit"}}
expect:
  - messages: {broker: kaleyra, kind: mt, to: "+13175550101", fields: {reply_to: "8005550100"}, count: 1,
               texts: ["hi back"]}
  - dlr: {broker: kaleyra, at_least: 1}
  - interactions: {where: {id: "${conv}"}, destination: {kind: Queue, name: Support},
                   transcript: ["hello", {out: "hi back"}]}
  - node: {name: backup, role: backup}
"""


def _problems(text: str) -> list[tuple[str, object, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_scenarios(yaml.safe_load(text), "s.yaml")
    return [(p.path, p.value, p.reason) for p in caught.value.problems]


def test_a_full_scenario_reads_into_typed_steps_and_expectations():
    """Every step and expectation kind is read into its frozen object with its path."""
    (s,) = parse_scenarios(yaml.safe_load(GOOD), "s.yaml")
    assert ("kaleyra round trip", "an MO, an answer, a receipt", 4.0, "s.yaml") == (
        s.name, s.description, s.timeout, s.source)
    assert ["mo", "wait", "send", "wait", "fail", "restore", "switchover", "clear", "sleep", "http", "send"] \
        == [step.kind for step in s.steps]
    assert "steps[0].mo" == s.steps[0].path
    assert (("broker", "kaleyra"), ("from", "+13175550101"), ("to", "8005550100"), ("text", "hello")) == s.steps[0].args
    wait = s.steps[1]
    assert isinstance(wait, WaitStep)
    assert (4.0, InteractionsCheck(path="steps[1].wait", where=(("customer", "+13175550101"),),
                                   count=Count(exact=1), save="conv")) == (wait.timeout, wait.check)
    assert 2.0 == s.steps[3].timeout
    assert MessagesCheck(path="steps[3].wait", broker="kaleyra", filters=(("kind", "dlr"), ("state", "delivered")),
                         count=Count(at_least=1)) == s.steps[3].check
    http = s.steps[9]
    assert isinstance(http, HttpStep)
    assert (("Authorization", "Basic YTpi"), ("Content-Type", "application/x-www-form-urlencoded")) == http.headers
    assert ("grant_type=client_credentials", 200, (("token", "access_token"),)) == (http.body, http.expect_status, http.save)
    assert (403, "permit") == (s.steps[10].expect_error.status, s.steps[10].expect_error.contains)
    assert [
        "exactly 1 kaleyra mt message with to='+13175550101', reply_to='8005550100', texts ['hi back']",
        "at least 1 kaleyra dlr message",
        "at least 1 interaction with id='${conv}', destination=Queue 'Support', transcript=['hello', {'out': 'hi back'}]",
        "node backup backup",
    ] == [e.describe() for e in s.expectations]
    assert NodeCheck(path="expect[3].node", name="backup", role="backup") == s.expectations[3]


def test_a_list_of_scenarios_reads_each_with_its_source_index():
    """A file holding a list gives one scenario per item, each named with its index."""
    data = [{"name": "a", "steps": [{"sleep": 0}]}, {"name": "b", "expect": [{"node": {"name": "primary", "role": "active"}}]}]
    assert [("a", "f.yaml[0]"), ("b", "f.yaml[1]")] == [(s.name, s.source) for s in parse_scenarios(data, "f.yaml")]


def test_every_problem_is_reported_with_its_path_value_and_reason():
    """Problems anywhere in the file come back together, each with its path, value and reason."""
    text = """
name: ""
timeout: -1
colour: blue
steps:
  - mo: {broker: kaleyra, from: "+1", text: 5.5}
  - teleport: {to: mars}
  - {send: {to: "1", text: "x"}, fail: {node: primary}}
  - fail: {node: tertiary, mode: melt}
  - wait: {for: weather}
  - wait: {for: messages, broker: k, count: 1, at_least: 2, kind: fax}
  - send: {to: "1", text: "x", interaction_id: "${nobody}", expect_error: {status: 200, colour: red}}
  - http: {broker: k, body: "a", json: {}, path: "no-slash"}
  - sleep: soon
expect:
  - interactions: {where: {colour: red}, destination: {kind: Moon}, transcript: [{sideways: "x"}], save: "9x"}
  - node: {name: primary}
"""
    assert [
        ("name", "", "must not be empty"),
        ("timeout", -1, "must be at least 0.01"),
        ("steps[0].mo.to", None, "is required"),
        ("steps[0].mo.text", 5.5, "must be a string"),
        ("steps[1].teleport", {"to": "mars"}, "is not a known step (one of mo, send, wait, fail, restore, switchover, clear, http, sleep)"),
        ("steps[2]", {"send": {"to": "1", "text": "x"}, "fail": {"node": "primary"}},
         "must be a mapping with exactly one key, the step (mo, send, wait, fail, restore, switchover, clear, http, sleep)"),
        ("steps[3].fail.node", "tertiary", "must be one of primary, backup"),
        ("steps[3].fail.mode", "melt", "must be one of kill, hang, slow, partition, crash-on-mo"),
        ("steps[4].wait.for", "weather", "must be one of messages, dlr, interactions, node"),
        ("steps[5].wait.kind", "fax", "must be one of mt, mo, dlr"),
        ("steps[5].wait.at_least", 2, "must not be given with 'count' (choose one)"),
        ("steps[6].send", {"to": "1", "text": "x", "interaction_id": "${nobody}", "expect_error": {"status": 200, "colour": "red"}},
         "refers to ${nobody}, which no earlier step or expectation saves"),
        ("steps[6].send.expect_error.status", 200, "must be at least 400"),
        ("steps[6].send.expect_error.colour", "red", "is not a known field"),
        ("steps[7].http.json", {}, "must not be given with 'body' (one body only)"),
        ("steps[7].http.path", "no-slash", "must match /\\S*"),
        ("steps[8].sleep", "soon", "must be a number of seconds, at least 0"),
        ("expect[0].interactions.where.colour", "red", "is not a known field (id, customer, local, broker, state)"),
        ("expect[0].interactions.destination.kind", "Moon", "must be one of Chat, Handler, Queue, Email"),
        ("expect[0].interactions.transcript[0]", {"sideways": "x"}, "must be a text, or {in: text} or {out: text}"),
        ("expect[0].interactions.save", "9x", "must match [A-Za-z_][A-Za-z0-9_]*"),
        ("expect[1].node.role", None, "is required"),
        ("colour", "blue", "is not a known field"),
    ] == _problems(text)


def test_unknown_keys_in_steps_and_expectations_are_refused():
    """A misspelt field in a step, a wait or an expectation is a problem, not ignored."""
    text = """
name: typo
steps:
  - mo: {broker: k, from: "1", to: "2", text: "x", txet: "y"}
  - wait: {for: node, name: backup, role: active, timeuot: 3}
expect:
  - dlr: {broker: k, kind: mt}
"""
    assert [
        ("steps[0].mo.txet", "y", "is not a known field"),
        ("steps[1].wait.timeuot", 3, "is not a known field"),
        ("expect[0].dlr.kind", "mt", "is not a known field"),
    ] == _problems(text)


def test_names_must_be_unique_and_a_scenario_must_do_something():
    """Two scenarios of one file may not share a name; an empty scenario is refused."""
    data = [{"name": "a", "steps": [{"sleep": 0}]}, {"name": "a", "steps": [{"sleep": 0}]}, {"name": "c"}]
    with pytest.raises(ConfigError) as caught:
        parse_scenarios(data, "f.yaml")
    assert [("[2].steps", None, "must hold at least one step (or give 'expect')"),
            ("[1].name", "a", "must be unique (also at [0].name)")] == [
        (p.path, p.value, p.reason) for p in caught.value.problems]


def test_a_variable_must_be_saved_before_it_is_used():
    """${NAME} refers only to what an earlier step or expectation saves; later saves do not count."""
    text = """
name: order
steps:
  - send: {to: "1", text: "x", interaction_id: "${conv}"}
  - wait: {for: interactions, save: conv}
  - send: {to: "1", text: "x", interaction_id: "${conv}"}
"""
    assert [("steps[0].send", {"to": "1", "text": "x", "interaction_id": "${conv}"},
             "refers to ${conv}, which no earlier step or expectation saves")] == _problems(text)


def test_config_is_relative_to_the_file_and_must_exist(tmp_path):
    """A scenario's lab file is found next to the scenario file; a missing one is a problem."""
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "mine.yaml").write_text("extends: default\n")
    (tmp_path / "ok.yaml").write_text("name: ok\nconfig: labs/mine.yaml\nsteps: [{sleep: 0}]\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nconfig: labs/none.yaml\nsteps: [{sleep: 0}]\n")
    assert str((tmp_path / "labs" / "mine.yaml").resolve()) == load_scenarios(tmp_path / "ok.yaml")[0].config
    with pytest.raises(ConfigError) as caught:
        load_scenarios(tmp_path / "bad.yaml")
    assert ("config", "labs/none.yaml") == (caught.value.problems[0].path, caught.value.problems[0].value)
    assert caught.value.problems[0].reason.startswith("is not a file (looked for ")


def test_invalid_yaml_names_the_line(tmp_path):
    """A YAML syntax error is a ConfigError naming the line and column."""
    (tmp_path / "broken.yaml").write_text("name: x\nsteps: [\n")
    with pytest.raises(ConfigError) as caught:
        load_scenarios(tmp_path / "broken.yaml")
    assert caught.value.problems[0].path.startswith("line 3, column")
