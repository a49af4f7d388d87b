"""Tests for scenarios.plugin: the pytest plugin, run with ``pytester`` in a subprocess (and with ``-n 2``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from external_labs import lab_data
from labfiles import STAGED, STAGED_PROBLEMS, write

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[2]

USES_THE_LAB = '''
import json, os

def _note(smslab, name):
    out = os.environ.get("SMSLAB_NOTES")
    if out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"worker": worker, "url": smslab.base_url}, f)

def test_mo_then_send_with_dlr(smslab):
    _note(smslab, "one")
    smslab.mo("kaleyra", sender="+13175550101", to="8005550100", text="hello")
    smslab.wait_for(smslab.interactions, lambda found: len(found) == 1, timeout=5)
    [conversation] = smslab.interactions(customer="+13175550101")
    assert ["hello"] == [e["text"] for e in conversation["transcript"]]
    assert ([], None) == smslab.interactions_page(limit=1, customer="+13175550199")
    smslab.send("+13175550101", "hi back", classification="Local")
    [dlr] = smslab.broker("kaleyra").expect_messages(kind="dlr", count=1)
    assert dlr["state"] == "delivered"

def test_state_is_reset_between_tests(smslab, smslab_broker, smslab_nodes):
    _note(smslab, "two")
    assert smslab.interactions() == []
    assert smslab_broker("kaleyra").messages() == []
    assert smslab_nodes.roles() == {"primary": "active", "backup": "backup"}

def test_nodes_fail_and_switch(smslab, smslab_nodes):
    _note(smslab, "three")
    smslab_nodes.fail("primary", "kill")
    smslab_nodes.wait_active("backup", timeout=5)

def test_broker_factory_refuses_unknown_names(smslab_broker, smslab):
    _note(smslab, "four")
    try:
        smslab_broker("nope")
    except LookupError as exc:
        assert "eztexting, kaleyra, portico" in str(exc)
    else:
        raise AssertionError("no LookupError")
'''

FAILS_AN_EXPECTATION = '''
def test_zz_expects_an_mt_that_never_came(smslab):
    smslab.mo("kaleyra", sender="+13175550101", to="8005550100", text="only an MO")
    smslab.broker("kaleyra").expect_messages(kind="mt", count=1, timeout=0.3)
'''


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose subprocess runs import smslab from this tree, warnings as errors."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # In process, the plugin module is already imported by this test module, so pytest cannot rewrite its
    # asserts (it has none) and says so; every other warning is an error, as in pyproject.toml.
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings =\n    error\n    ignore:Module already imported so cannot "
                     "be rewritten:pytest.PytestAssertRewriteWarning\n")
    return pytester


# pytest-benchmark, where installed, aborts xdist runs under warnings-as-errors (as in pyproject.toml).
_ARGS = ("-p", "no:cacheprovider", "-p", "no:benchmark", "-p", "no:randomly")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*_ARGS, *args, timeout=120)


def test_fixtures_work_reset_between_tests_and_failures_show_captures(inner: pytest.Pytester) -> None:
    """smslab, smslab_broker and smslab_nodes work, state is reset between tests, and a failed
    expectation says what was expected and lists every record the broker captured instead."""
    inner.makepyfile(test_lab=USES_THE_LAB + FAILS_AN_EXPECTATION)
    result = inner.runpytest_inprocess(*_ARGS)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*broker kaleyra: expected 1 message(s) matching {'kind': 'mt'} within 0.3 s, found 0; captured:*",
        "*#* mo from='+13175550101' to='8005550100' text='only an MO'*",
    ])


def test_each_xdist_worker_gets_its_own_lab(inner: pytest.Pytester, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With -n 2 both workers run tests, each against its own lab on its own ports."""
    pytest.importorskip("xdist")
    notes = tmp_path / "notes"
    notes.mkdir()
    inner.makepyfile(test_lab=USES_THE_LAB)
    monkeypatch.setenv("SMSLAB_NOTES", str(notes))  # the subprocess and its workers inherit it
    result = _run(inner, "-n", "2")
    result.assert_outcomes(passed=4)
    seen = [json.loads(p.read_text()) for p in sorted(notes.glob("*.json"))]
    by_worker: dict[str, set[str]] = {}
    for note in seen:
        by_worker.setdefault(note["worker"], set()).add(note["url"])
    assert sorted(by_worker) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in by_worker.values())
    assert by_worker["gw0"] != by_worker["gw1"]


def test_plugin_imports_nothing_heavy() -> None:
    """Importing the plugin loads neither aiohttp nor the lab (a suite that does not use it pays nothing)."""
    code = "import sys, scenarios.plugin; print(sorted(m for m in ('aiohttp', 'scenarios.lab.assembly', 'sim.cic.node') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "[]"


def test_smslab_url_uses_a_lab_already_up(inner: pytest.Pytester, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """--smslab-url: the fixtures drive the lab at that URL instead of starting one."""
    from scenarios.plugin import LabThread

    runner = LabThread()
    url = runner.start()
    notes = tmp_path / "notes"
    notes.mkdir()
    inner.makepyfile(test_lab=USES_THE_LAB)
    monkeypatch.setenv("SMSLAB_NOTES", str(notes))
    try:
        result = inner.runpytest_inprocess(*_ARGS, "--smslab-url", url)
    finally:
        runner.stop()
    result.assert_outcomes(passed=4)
    assert {json.loads(p.read_text())["url"] for p in notes.glob("*.json")} == {url}


def test_a_bad_lab_file_is_refused_with_every_problem_at_once(inner: pytest.Pytester, tmp_path: Path) -> None:
    """--smslab-config with problems in every section: the lab fixture errors, listing all of them in order."""
    lab = write(tmp_path, STAGED)
    inner.makepyfile(test_lab="def test_uses_the_lab(smslab):\n    pass\n")
    result = inner.runpytest_inprocess(*_ARGS, f"--smslab-config={lab}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{lab}: {problem}" for problem in STAGED_PROBLEMS])


NEXUS_LAB = """
def test_portico_mo_reply_delivered(smslab):
    smslab.broker("nx-portico").mo("+13125550100", "18445551212", "Where is it?")
    chat = smslab.nexus.expect_interaction(section="chat.SMS_Main_Corporate", text="Where is it?")
    sent = smslab.nexus.reply(chat["id"], "On its way")
    assert smslab.nexus.expect_state(chat["id"], sent["id"])["state"] == "delivered"


def test_zz_missing_interaction_is_explained(smslab):
    smslab.nexus.expect_interaction(section="chat.SMS_Async", text="never sent", timeout=0.3)
"""


def test_nexus_helpers_on_the_example_lab(inner: pytest.Pytester) -> None:
    """With --smslab-config scenarios/labs/nexus.yaml, smslab.nexus waits for chats and delivered replies."""
    inner.makepyfile(test_nexus=NEXUS_LAB)
    result = inner.runpytest_inprocess(*_ARGS, "--smslab-config", str(ROOT / "scenarios" / "labs" / "nexus.yaml"))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*nexus: no interaction of chat.SMS_Async with 'never sent' within 0.3 s*"])


LOADS_THE_LAB = '''
def test_a_short_load_run_is_counted_by_the_lab(smslab, smslab_load):
    figures = smslab_load("mo_push", users=2, run_time=3)
    assert figures["passed"], figures["checks"]
    assert figures["locust"]["total"]["requests"] > 0
    assert figures["mo"]["stored"] == figures["locust"]["total"]["successes"]

def test_an_unmet_threshold_comes_back_as_a_failed_check(smslab_load):
    figures = smslab_load("mo_push", users=1, run_time=1, min_rps=1000000)
    assert not figures["passed"]
    assert [name for name, ok in figures["checks"].items() if not ok][0].startswith("rate ")

def test_a_refused_run_raises_with_the_commands_message(smslab_load):
    import pytest
    from scenarios.plugin import LoadError
    with pytest.raises(LoadError, match="unknown locustfile 'nope'"):
        smslab_load("nope")
'''


def test_smslab_load_runs_a_short_load_test_against_the_sessions_lab(inner: pytest.Pytester) -> None:
    """smslab_load runs smslab load as a subprocess against the session's lab and returns its figures: a
    passing run, a failed threshold as a failed check, a refused run as LoadError."""
    inner.makepyfile(test_load=LOADS_THE_LAB)
    result = inner.runpytest_inprocess(*_ARGS)
    result.assert_outcomes(passed=3)


USES_AN_EXTERNAL_PAIR = '''
def test_mo_send_and_a_hang_on_two_gateways(smslab, smslab_nodes):
    smslab.mo("kaleyra", sender="+13175550101", to="8005550100", text="hello gateway")
    smslab.send("13175550101", "shipped", sender="8005550100")
    smslab.broker("kaleyra").expect_messages(kind="dlr", count=1, timeout=5)
    smslab_nodes.fail("primary", "hang")
    smslab.wait_for(lambda: smslab.health()["switchover"]["active"], lambda a: a == "backup", timeout=5)
    assert smslab.send("13175550101", "again", sender="8005550100")["member"] == "backup"
'''


def test_the_fixtures_drive_an_external_pair(inner: pytest.Pytester) -> None:
    """--smslab-config naming a lab of two external gateways: MO, send with its DLR, a hang, all through
    the fixtures."""
    lab_file = inner.path / "external-lab.yaml"
    lab_file.write_text(yaml.safe_dump(lab_data()), encoding="utf-8")
    inner.makepyfile(test_external=USES_AN_EXTERNAL_PAIR)
    result = inner.runpytest_inprocess(*_ARGS, "--smslab-config", str(lab_file))
    result.assert_outcomes(passed=1)
