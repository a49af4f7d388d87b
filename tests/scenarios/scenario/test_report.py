"""Tests for scenarios.scenario.report: the JSON document, the JUnit XML, progress lines and the summary."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

from rich.console import Console

from scenarios.scenario.report import Progress, print_summary, to_json, write_json, write_junit
from scenarios.scenario.runner import CheckResult, ScenarioResult

RESULTS = [
    ScenarioResult("passes", "b/one.yaml", "passed", 0.5, [CheckResult("steps[0].mo", "mo x", "passed", "pushed", 0.1)]),
    ScenarioResult("fails", "b/two.yaml[1]", "failed", 1.25, [
        CheckResult("steps[0].send", "send y", "passed", "sent", 0.2),
        CheckResult("expect[0].messages", "exactly 1 kaleyra mt message", "failed",
                    "expected exactly 1 kaleyra mt message; saw 2: [...]", 0.01)],
        reason="expect[0].messages: expected exactly 1 kaleyra mt message; saw 2: [...]"),
    ScenarioResult("breaks", "b/three.yaml", "error", 0.0, reason="the lab answered GET u -> 500: boom"),
    ScenarioResult("skips", "b/four.yaml", "skipped", 0.0, reason="needs its own lab (x.yaml)"),
]


def test_the_json_document_holds_counts_and_every_check(tmp_path):
    """--json writes the counts, the total time and each scenario with its checks."""
    write_json(tmp_path / "r.json", RESULTS, 2.5)
    data = json.loads((tmp_path / "r.json").read_text())
    assert {"passed": 1, "failed": 1, "errors": 1, "skipped": 1, "seconds": 2.5} == {
        k: v for k, v in data.items() if k != "scenarios"}
    assert {"name": "fails", "source": "b/two.yaml[1]", "description": "", "status": "failed", "seconds": 1.25,
            "reason": "expect[0].messages: expected exactly 1 kaleyra mt message; saw 2: [...]",
            "checks": [{"path": "steps[0].send", "title": "send y", "status": "passed", "detail": "sent", "seconds": 0.2},
                       {"path": "expect[0].messages", "title": "exactly 1 kaleyra mt message", "status": "failed",
                        "detail": "expected exactly 1 kaleyra mt message; saw 2: [...]", "seconds": 0.01}]} \
        == data["scenarios"][1]
    assert data == to_json(RESULTS, 2.5)


def test_the_junit_xml_has_one_testcase_per_scenario(tmp_path):
    """--junit writes valid XML: one testsuite, one testcase each, failure/error/skipped as they ended."""
    write_junit(tmp_path / "r.xml", RESULTS, 2.5)
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert ("testsuites", "4", "1", "1", "1") == (root.tag, root.get("tests"), root.get("failures"),
                                                 root.get("errors"), root.get("skipped"))
    cases = root.findall("testsuite/testcase")
    assert [("smslab.one", "passes", "0.500"), ("smslab.two", "fails", "1.250"), ("smslab.three", "breaks", "0.000"),
            ("smslab.four", "skips", "0.000")] == [(c.get("classname"), c.get("name"), c.get("time")) for c in cases]
    failure = cases[1].find("failure")
    assert ("expect[0].messages: expected exactly 1 kaleyra mt message; saw 2: [...]",
            "expect[0].messages (exactly 1 kaleyra mt message): expected exactly 1 kaleyra mt message; saw 2: [...]") \
        == (failure.get("message"), failure.text)
    assert "the lab answered GET u -> 500: boom" == cases[2].find("error").get("message")
    assert "needs its own lab (x.yaml)" == cases[3].find("skipped").get("message")
    assert cases[0].find("failure") is None
    assert "[passed] steps[0].mo: mo x -> pushed" == cases[0].find("system-out").text
    assert (tmp_path / "r.xml").read_text().startswith("<?xml version='1.0' encoding='utf-8'?>")


def test_progress_and_summary_show_each_scenario_and_the_failures():
    """Progress prints one line per scenario; the summary lists the table, failed checks and the totals."""
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    progress = Progress(console, 4)
    for r in RESULTS[:2]:
        progress("start", None, None)
        progress("done", None, r)
    print_summary(console, RESULTS, 2.5)
    text = out.getvalue()
    assert text.startswith("[1/4] PASS passes (0.50 s)\n[2/4] FAIL fails (1.25 s)\n"
                           "    expect[0].messages: expected exactly 1 kaleyra mt message; saw 2: [...]\n")
    assert "fails > expect[0].messages (exactly 1 kaleyra mt message)\n" in text
    assert text.rstrip().endswith("1 passed, 1 failed, 1 errors, 1 skipped in 2.50 s")
    assert "│ 2 │ fails    │ failed  │ 1.25 s │ expect[0].messages: expected exactly 1" in text
