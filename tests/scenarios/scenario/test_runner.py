"""Tests for scenarios.scenario.runner: lab files with extends, one scenario's flow, and grouping by lab."""

from __future__ import annotations

import pytest
import yaml

from scenarios.lab.client import LabError
from scenarios.scenario.runner import load_lab_file, run_all, run_scenario
from scenarios.scenario.scenario_file import parse_scenarios
from sim.core.errors import ConfigError


class Lab:
    """A control client double: records resets, answers health and sends as scripted."""

    timeout = 5.0

    def __init__(self, reset_error=None):
        self.calls = []
        self.reset_error = reset_error

    def reset(self):
        self.calls.append("reset")
        if self.reset_error:
            raise self.reset_error

    def health(self):
        self.calls.append("health")
        return {"nodes": {"primary": {"role": "active"}, "backup": {"role": "backup"}}}

    def switchover(self):
        self.calls.append("switchover")
        raise LabError(409, {"error": "no backup ready"}, "POST", "u")


def _one(text):
    return parse_scenarios(yaml.safe_load(text), "t.yaml")[0]


def test_extends_merges_mappings_and_named_lists(tmp_path):
    """A lab file extending the default changes only what it names; brokers merge by name."""
    (tmp_path / "lab.yaml").write_text(
        "extends: default\nserver_parameters: {SMS Interaction Recovery Enabled: 0}\n"
        "brokers: [{name: kaleyra, mt: {message_parsing: none}}]\nsms: {inbound_routes: [], default_route: null}\n")
    base, mine = load_lab_file(), load_lab_file(tmp_path / "lab.yaml")
    assert (True, False) == (base.cic.server_parameters.sms_interaction_recovery,
                             mine.cic.server_parameters.sms_interaction_recovery)
    assert [("kaleyra", "split"), ("portico", "truncate"), ("eztexting", "none")] == [
        (b.name, b.mt.message_parsing.value) for b in base.cic.brokers]
    assert [("kaleyra", "none", "/kaleyra/mo"), ("portico", "truncate", "/portico/mo"),
            ("eztexting", "none", "/receivesms.php")] == [
        (b.name, b.mt.message_parsing.value, b.mo.incoming_path) for b in mine.cic.brokers]
    assert ((), None, base.cic.sms.outbound_routes) == (mine.cic.sms.inbound_routes, mine.cic.sms.default_route,
                                                        mine.cic.sms.outbound_routes)
    assert base.fakes == mine.fakes


def test_extends_refuses_loops_and_missing_files(tmp_path):
    """A lab file extending itself, or a file that is not there, is a ConfigError naming 'extends'."""
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ConfigError) as loop:
        load_lab_file(tmp_path / "a.yaml")
    with pytest.raises(ConfigError) as missing:
        load_lab_file(tmp_path / "c.yaml")
    assert ("extends", "a.yaml", "makes a loop of lab files") == (
        loop.value.problems[0].path, loop.value.problems[0].value, loop.value.problems[0].reason)
    assert missing.value.problems[0].reason.startswith("is not a file (looked for ")


def test_a_failed_step_stops_the_steps_and_the_expectations_are_not_run():
    """The first failed step ends the steps; expectations are listed as not run; the reason names it."""
    s = _one("name: t\nsteps:\n  - switchover: {}\n  - sleep: 0\nexpect:\n  - node: {name: primary, role: active}\n")
    lab = Lab()
    result = run_scenario(s, lab, sleep=lambda _: None)
    assert ("failed", "steps[0].switchover: the lab refused it: POST u -> 409: no backup ready") == (
        result.status, result.reason)
    assert [("steps[0].switchover", "failed"), ("expect[0].node", "not run")] == [
        (c.path, c.status) for c in result.checks]
    assert ["reset", "switchover"] == lab.calls


def test_every_expectation_runs_once_the_steps_passed():
    """With the steps done, each expectation is checked even after one failed."""
    s = _one("name: t\nsteps:\n  - sleep: 0\nexpect:\n  - node: {name: primary, role: backup}\n"
             "  - node: {name: primary, role: active}\n")
    result = run_scenario(s, Lab(), sleep=lambda _: None)
    assert ["passed", "failed", "passed"] == [c.status for c in result.checks]
    assert "failed" == result.status


def test_a_lab_that_cannot_reset_is_an_error_not_a_failure():
    """A reset the lab refuses makes the scenario an error with the lab's answer."""
    result = run_scenario(_one("name: t\nsteps: [{sleep: 0}]\n"), Lab(LabError(0, {"error": "cannot reach the lab"})))
    assert ("error", "the lab could not be reset: 0: cannot reach the lab") == (result.status, result.reason)


def test_with_a_url_scenarios_needing_their_own_lab_are_skipped(tmp_path):
    """Against a lab already up, a scenario with its own config is skipped with the reason."""
    (tmp_path / "lab.yaml").write_text("extends: default\n")
    scenarios = parse_scenarios(yaml.safe_load("- {name: own, config: lab.yaml, steps: [{sleep: 0}]}\n"),
                                "t.yaml", tmp_path)
    events = []
    results = run_all(scenarios, url="http://127.0.0.1:9", progress=lambda e, s, r: events.append((e, s.name)))
    assert [("skipped", f"needs its own lab ({(tmp_path / 'lab.yaml').resolve()}); --url runs on a lab already up")] \
        == [(r.status, r.reason) for r in results]
    assert [("done", "own")] == events
