"""Tests for scenarios.scenario.steps: what each step calls, and the exact sentences of passes and failures."""

from __future__ import annotations

import pytest
import yaml

from scenarios.lab.client import LabClient, LabError
from scenarios.scenario.scenario_file import parse_scenarios
from scenarios.scenario.steps import Context, Outcome, check, run_step


class FakeLab:
    """A stand-in for LabClient: canned state, recorded calls, scripted refusals."""

    timeout = 5.0

    def __init__(self, messages=None, interactions=None, nodes=None, refuse=None, answers=None):
        self._messages = messages or {}
        self._interactions = interactions or []
        self._nodes = nodes or {"primary": {"role": "active"}, "backup": {"role": "backup"}}
        self.refuse = refuse or {}
        self.answers = answers or {}
        self.calls = []

    def _call(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        if name in self.refuse:
            raise self.refuse[name]
        return self.answers.get(name, {})

    def messages(self, broker, kind="", to="", sender=""):
        self.calls.append(("messages", (broker,), {"kind": kind}))
        return [m for m in self._messages.get(broker, []) if not kind or m["kind"] == kind]

    def interactions(self):
        return self._interactions

    def health(self):
        return {"nodes": self._nodes}

    def mo(self, broker, **kw):
        return self._call("mo", broker, **kw)

    def send(self, to, text, **kw):
        return self._call("send", to, text, **kw)

    def fail(self, node, mode):
        return self._call("fail", node, mode)

    def restore(self, node):
        return self._call("restore", node)

    def switchover(self):
        return self._call("switchover")

    def clear_messages(self, broker):
        return self._call("clear_messages", broker)


def _msg(seq, kind, sender, to, text="", *, state="", **fields):
    return {"seq": seq, "kind": kind, "from": sender, "to": to, "text": text, "state": state, "status": "",
            "fields": fields}


def _scenario(text):
    return parse_scenarios(yaml.safe_load(text), "t.yaml")[0]


def _expect(body):
    return _scenario(f"name: t\nexpect:\n  - {body}\n").expectations[0]


def _step(body):
    return _scenario(f"name: t\nsteps:\n  - {body}\n").steps[0]


MTS = {"kaleyra": [_msg(1, "mt", "8005550100", "+13175550101", "hi back", recipient="13175550101"),
                   _msg(2, "mt", "8005550100", "+13175550101", "hi again", recipient="13175550101"),
                   _msg(3, "dlr", "8005550100", "+13175550101", state="delivered")]}


def test_a_message_count_mismatch_shows_what_was_selected():
    """Too many selected: the failure names the expectation and lists what it selected."""
    outcome = check(_expect("messages: {broker: kaleyra, kind: mt, fields: {recipient: '13175550101'}, count: 1}"),
                    Context(FakeLab(MTS)))
    assert Outcome(False, "expected exactly 1 kaleyra mt message with recipient='13175550101'; saw 2: "
                          "[#1 mt 8005550100->+13175550101 'hi back', #2 mt 8005550100->+13175550101 'hi again']") == outcome


def test_nothing_selected_shows_everything_of_that_kind():
    """None selected: the failure lists every message of that broker and kind, to show the near miss."""
    outcome = check(_expect("messages: {broker: kaleyra, kind: mt, text: 'hi there'}"), Context(FakeLab(MTS)))
    assert Outcome(False, "expected at least 1 kaleyra mt message with text='hi there'; saw none of the 2 kaleyra "
                          "mt messages: [#1 mt 8005550100->+13175550101 'hi back', #2 mt 8005550100->+13175550101 "
                          "'hi again']") == outcome


def test_texts_are_checked_in_order_after_the_count():
    """texts compares the selected messages' texts, in order."""
    lab = FakeLab(MTS)
    good = check(_expect("messages: {broker: kaleyra, kind: mt, texts: ['hi back', 'hi again']}"), Context(lab))
    bad = check(_expect("messages: {broker: kaleyra, kind: mt, texts: ['hi again', 'hi back']}"), Context(lab))
    assert Outcome(True, "at least 1 kaleyra mt message, texts ['hi back', 'hi again']: saw 2") == good
    assert Outcome(False, "expected at least 1 kaleyra mt message, texts ['hi again', 'hi back']; saw texts "
                          "['hi back', 'hi again']") == bad


def test_dlr_and_text_contains_select():
    """dlr selects kind dlr and its state; text_contains selects by substring."""
    lab = FakeLab(MTS)
    assert check(_expect("dlr: {broker: kaleyra, state: delivered, count: 1}"), Context(lab)).ok
    assert not check(_expect("dlr: {broker: kaleyra, state: failed}"), Context(lab)).ok
    assert check(_expect("messages: {broker: kaleyra, text_contains: again, count: 1}"), Context(lab)).ok


CONV = {"id": "i-1", "customer": "+13175550101", "local": "8005550100", "broker": "kaleyra", "state": "active",
        "destination": {"kind": "Queue", "name": "Indianapolis Support"},
        "transcript": [{"direction": "in", "text": "hello"}, {"direction": "out", "text": "hi back"}]}


def test_interactions_select_by_where_destination_and_transcript_and_save_the_id():
    """An interactions expectation selects, counts and saves the first id as a variable."""
    ctx = Context(FakeLab(interactions=[CONV]))
    outcome = check(_expect("interactions: {where: {customer: '+13175550101'}, destination: {kind: Queue, "
                            "name: Indianapolis Support}, transcript: [hello, {out: hi back}], count: 1, save: c}"), ctx)
    assert Outcome(True, "exactly 1 interaction with customer='+13175550101', destination=Queue 'Indianapolis "
                         "Support', transcript=['hello', {'out': 'hi back'}]: saw 1 (saved c='i-1')") == outcome
    assert {"c": "i-1"} == ctx.variables


def test_an_interaction_failure_lists_every_interaction_when_none_is_selected():
    """A wrong transcript selects nothing: the failure shows each interaction with its transcript."""
    outcome = check(_expect("interactions: {transcript: [hello, {in: hi back}]}"), Context(FakeLab(interactions=[CONV])))
    assert Outcome(False, "expected at least 1 interaction with transcript=['hello', {'in': 'hi back'}]; saw none "
                          "of the 1 interactions: [i-1 +13175550101->8005550100 Queue 'Indianapolis Support' "
                          "[in 'hello', out 'hi back']]") == outcome


class PagedLab(LabClient):
    """A real LabClient whose control API answers scripted pages of ``GET /_smslab/interactions``."""

    def __init__(self, pages):
        super().__init__("http://lab.invalid")
        self.pages = list(pages)
        self.queries = []

    def request(self, method, path, body=None, query=None):
        self.queries.append((method, path, dict(query or {})))
        return self.pages.pop(0)


def test_an_interactions_expectation_reads_every_page_through_the_client():
    """The check sees the interactions of each page LabClient follows, the second one's included."""
    other = {**CONV, "id": "i-2", "transcript": [{"direction": "in", "text": "again"}]}
    lab = PagedLab([{"interactions": [CONV], "next": "c1"}, {"interactions": [other], "next": None}])
    ctx = Context(lab)
    outcome = check(_expect("interactions: {where: {customer: '+13175550101'}, transcript: [again], count: 1, "
                            "save: c}"), ctx)
    assert Outcome(True, "exactly 1 interaction with customer='+13175550101', transcript=['again']: saw 1 "
                         "(saved c='i-2')") == outcome
    assert [("GET", "/_smslab/interactions", {}), ("GET", "/_smslab/interactions", {"cursor": "c1"})] == lab.queries


def test_a_node_role_failure_names_every_role():
    """A node expectation reads the role from health and shows both nodes when it differs."""
    outcome = check(_expect("node: {name: backup, role: active}"), Context(FakeLab()))
    assert Outcome(False, "expected node backup to be active; saw backup (primary active, backup backup)") == outcome


def test_steps_call_the_control_api_with_their_fields():
    """mo, send, fail, restore, switchover and clear map to one client call each."""
    lab = FakeLab(answers={"mo": {"message_id": "m-1"}, "send": {"recipient": "+1", "requests": [
        {"broker": "kaleyra", "status": 200, "accepted": True}]}})
    ctx = Context(lab, variables={"c": "i-9"})
    steps = ["mo: {broker: kaleyra, from: '+1', to: '800', text: hi}",
             "send: {to: '+1', text: yo, classification: Local, interaction_id: '${c}'}",
             "fail: {node: primary, mode: hang}", "restore: {node: primary}", "switchover: {}",
             "clear: {broker: portico}"]
    details = [run_step(_scenario(f"name: t\nsteps:\n  - wait: {{for: interactions, save: c}}\n  - {s}\n").steps[1],
                        ctx).detail for s in steps]
    assert ["pushed MO m-1", "sent to +1: kaleyra 200", "done", "done", "done", "done"] == details
    assert [("mo", ("kaleyra",), {"sender": "+1", "to": "800", "text": "hi"}),
            ("send", ("+1", "yo"), {"sender": "", "account": "", "classification": "Local", "interaction_id": "i-9"}),
            ("fail", ("primary", "hang"), {}), ("restore", ("primary",), {}), ("switchover", (), {}),
            ("clear_messages", ("portico",), {})] == lab.calls


def test_a_broker_refusing_the_mt_fails_the_send():
    """A send the lab answered but the broker did not accept fails with the broker's reason."""
    lab = FakeLab(answers={"send": {"recipient": "+1", "requests": [
        {"broker": "kaleyra", "status": 200, "accepted": False, "reason": "107 Insufficient credit"}]}})
    assert Outcome(False, "the broker refused the MT: kaleyra 200: 107 Insufficient credit") == run_step(
        _step("send: {to: '+1', text: x}"), Context(lab))


@pytest.mark.parametrize(("expect_error", "detail"), [
    ("{status: 403, contains: permit}", (True, "refused as expected: 403 'route 0 does not permit Local'")),
    ("{status: 404}", (False, "expected it refused with 404; saw 403: 'route 0 does not permit Local'")),
    ("{contains: quota}", (False, "expected it refused with an error containing 'quota'; saw 403: "
                                  "'route 0 does not permit Local'")),
])
def test_expect_error_passes_only_on_the_wanted_refusal(expect_error, detail):
    """expect_error checks the status and the error text of a refusal."""
    lab = FakeLab(refuse={"send": LabError(403, {"error": "route 0 does not permit Local"}, "POST", "u")})
    outcome = run_step(_step(f"send: {{to: '+44', text: x, expect_error: {expect_error}}}"), Context(lab))
    assert detail == (outcome.ok, outcome.detail)


def test_expect_error_fails_when_the_step_is_accepted():
    """A step expected to be refused that the lab accepts fails, showing the answer."""
    lab = FakeLab(answers={"switchover": {"switchover": {"active": "backup"}}})
    outcome = run_step(_step("switchover: {expect_error: {status: 409}}"), Context(lab))
    assert Outcome(False, "expected it refused with 409; saw it accepted: {\"switchover\": {\"active\": \"backup\"}}") \
        == outcome


def test_an_unexpected_refusal_fails_the_step_with_the_error():
    """A refusal nobody expected fails the step, quoting the lab's answer."""
    lab = FakeLab(refuse={"fail": LabError(400, {"error": "'mode' must be one of kill"}, "POST", "http://lab/x")})
    assert Outcome(False, "the lab refused it: POST http://lab/x -> 400: 'mode' must be one of kill") == run_step(
        _step("fail: {node: primary, mode: kill}"), Context(lab))


def test_wait_polls_until_the_expectation_holds():
    """A wait re-checks with the injected sleep until the expectation holds."""
    lab = FakeLab()
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 3:
            lab._interactions = [CONV]

    outcome = run_step(_step("wait: {for: interactions, count: 1, interval: 0.01, timeout: 30}"), Context(lab, sleep=sleep))
    assert (True, [0.01, 0.01, 0.01]) == (outcome.ok, slept)


def test_wait_times_out_with_the_last_failure():
    """A wait that never holds fails with its timeout and the last thing seen."""
    outcome = run_step(_step("wait: {for: node, name: backup, role: active, timeout: 0.02, interval: 0.005}"),
                       Context(FakeLab()))
    assert Outcome(False, "timed out after 0.02s: expected node backup to be active; saw backup (primary active, "
                          "backup backup)") == outcome


def test_an_unsaved_variable_fails_the_step_that_uses_it():
    """A variable whose saving expectation selected nothing fails the step that needs it, saying so."""
    s = _scenario("name: t\nsteps:\n  - wait: {for: interactions, count: 0, save: c}\n"
                  "  - send: {to: '1', text: x, interaction_id: '${c}'}\n")
    ctx = Context(FakeLab())
    assert run_step(s.steps[0], ctx).ok
    assert Outcome(False, "${c} was never saved (did the expectation saving it select nothing?)") == run_step(s.steps[1], ctx)


def test_sleep_uses_the_injected_sleep():
    """sleep pauses through the context's sleep function, for the seconds given."""
    slept = []
    assert Outcome(True, "slept 0.25s") == run_step(_step("sleep: 0.25"), Context(FakeLab(), sleep=slept.append))
    assert [0.25] == slept
