"""Tests for scenarios.scenario.step_format: each step read into its frozen object, and described in words."""

from __future__ import annotations

from typing import Any

from scenarios.scenario.expect_format import Count, NodeCheck
from scenarios.scenario.step_format import DEFAULT_INTERVAL, ExpectError, HttpStep, Step, WaitStep, read_step
from sim.core.schema import Problems


def _read(kind: str, body: Any, timeout: float = 10.0) -> tuple[Step, list[tuple[str, object, str]]]:
    problems = Problems()
    step = read_step(kind, body, f"steps[0].{kind}", problems, timeout)
    return step, [(p.path, p.value, p.reason) for p in problems]


def test_plain_steps_keep_their_fields_in_order():
    """``fail``, ``restore``, ``clear`` and ``switchover`` keep their validated fields, in the format's order."""
    assert [
        Step(kind="fail", path="steps[0].fail", args=(("node", "backup"), ("mode", "hang"))),
        Step(kind="restore", path="steps[0].restore", args=(("node", "primary"),)),
        Step(kind="clear", path="steps[0].clear", args=(("broker", "kaleyra"),)),
        Step(kind="switchover", path="steps[0].switchover", expect_error=ExpectError(status=409)),
    ] == [_read(k, b)[0] for k, b in (("fail", {"mode": "hang", "node": "backup"}),
                                     ("restore", {"node": "primary"}), ("clear", {"broker": "kaleyra"}),
                                     ("switchover", {"expect_error": {"status": 409}}))]


def test_optional_send_fields_are_empty_when_absent():
    """A ``send`` without its optional fields holds them as empty texts."""
    step, problems = _read("send", {"to": "+1", "text": "hi"})
    assert ((("to", "+1"), ("text", "hi"), ("from", ""), ("account", ""), ("classification", ""),
             ("interaction_id", "")), []) == (step.args, problems)


def test_sleep_is_a_number_of_seconds():
    """``sleep`` takes a plain number of seconds; anything else is a problem and sleeps 0."""
    assert (Step(kind="sleep", path="steps[0].sleep", args=(("seconds", 2.0),)), []) == _read("sleep", 2)
    assert (Step(kind="sleep", path="steps[0].sleep", args=(("seconds", 0.0),)),
            [("steps[0].sleep", True, "must be a number of seconds, at least 0")]) == _read("sleep", True)


def test_a_wait_defaults_to_the_scenario_timeout_and_the_default_interval():
    """A ``wait`` without ``timeout`` or ``interval`` takes the scenario's timeout and 0.05 s."""
    step, problems = _read("wait", {"for": "node", "name": "backup", "role": "active"}, timeout=4.0)
    assert (WaitStep(kind="wait", path="steps[0].wait", timeout=4.0, interval=DEFAULT_INTERVAL,
                     check=NodeCheck(path="steps[0].wait", name="backup", role="active")), []) == (step, problems)


def test_a_wait_for_an_unknown_kind_reports_only_that():
    """A ``wait`` whose ``for`` is unknown reports it once, not each field it cannot judge."""
    step, problems = _read("wait", {"for": "weather", "colour": "grey"})
    assert NodeCheck(path="steps[0].wait", name="", role="") == step.check
    assert [("steps[0].wait.for", "weather", "must be one of messages, dlr, interactions, node")] == problems


def test_an_http_json_body_is_encoded_with_its_content_type_unless_one_is_given():
    """``json`` is sent as JSON with ``application/json``, but a ``Content-Type`` header given wins."""
    step, _ = _read("http", {"broker": "k", "json": {"a": "é"}})
    assert isinstance(step, HttpStep)
    assert ('{"a": "é"}', (("Content-Type", "application/json"),)) == (step.body, step.headers)
    step, _ = _read("http", {"broker": "k", "json": [1], "headers": {"content-type": "text/plain"}})
    assert ("[1]", (("content-type", "text/plain"),)) == (step.body, step.headers)


def test_steps_describe_themselves_as_the_reports_show_them():
    """Empty fields are left out, texts quoted, and a refusal wanted is said."""
    send = Step(kind="send", path="p", args=(("to", "+1"), ("from", ""), ("text", "hi")),
                expect_error=ExpectError(status=403, contains="permit"))
    wait = WaitStep(kind="wait", path="p", timeout=5.0, check=NodeCheck(path="p", name="backup", role="active"))
    http = HttpStep(kind="http", path="p", broker="kaleyra", target="/send", expect_status=401,
                    expect_body_contains="denied")
    assert [
        "send to='+1' text='hi' (expect refused with 403 containing 'permit')",
        "sleep seconds=0.5",
        "wait up to 5s for node backup active",
        "http POST kaleyra /send -> 401 containing 'denied'",
        "http GET k / -> 2xx",
    ] == [send.describe(), Step(kind="sleep", path="p", args=(("seconds", 0.5),)).describe(), wait.describe(),
          http.describe(), HttpStep(kind="http", path="p", broker="k", method="GET").describe()]


def test_an_expected_error_without_a_status_is_any_error():
    """An ``expect_error`` without ``status`` is described as any refusal."""
    assert "refused with an error" == ExpectError().describe()


def test_what_a_step_saves():
    """An ``http`` step saves its ``save`` names and a ``wait`` what its expectation saves; others nothing."""
    http, _ = _read("http", {"broker": "k", "save": {"token": "access_token", "id": "data.id"}})
    wait, _ = _read("wait", {"for": "interactions", "save": "conv", "count": 1})
    mo, _ = _read("mo", {"broker": "k", "from": "1", "to": "2", "text": "x"})
    assert [("token", "id"), ("conv",), ()] == [http.saves(), wait.saves(), mo.saves()]
    assert Count(exact=1) == wait.check.count
