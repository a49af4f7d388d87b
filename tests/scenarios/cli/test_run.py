"""Tests for scenarios.cli.run: ``smslab run`` exit codes, its files, and one run as a subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from labfiles import STAGED, STAGED_PROBLEMS, problems, write
from rich.console import Console

from scenarios.cli.run import builtin_files, main

ROOT = Path(__file__).parents[3]
PASSING = """
name: an MO is routed
steps:
  - mo: {broker: kaleyra, from: "+13175550300", to: "8005550100", text: "hi"}
  - wait: {for: interactions, where: {customer: "+13175550300"}, count: 1, timeout: 5}
"""
FAILING = """
name: a wrong expectation
steps:
  - mo: {broker: kaleyra, from: "+13175550301", to: "8005550100", text: "hi"}
  - wait: {for: interactions, where: {customer: "+13175550301"}, count: 1, timeout: 5}
expect:
  - interactions: {where: {customer: "+13175550301"}, destination: Chat}
"""


def _run(argv):
    out = io.StringIO()
    code = main(argv, Console(file=out, width=160, color_system=None))
    return code, out.getvalue()


def test_a_bad_scenario_file_exits_2_listing_every_problem(tmp_path):
    """An invalid scenario file: exit 2, each problem printed with its path, nothing run."""
    (tmp_path / "bad.yaml").write_text("name: bad\nsteps:\n  - mo: {broker: k}\n")
    code, text = _run([str(tmp_path / "bad.yaml")])
    assert 2 == code
    assert "bad.yaml: steps[0].mo.from: is required (got None)" in text
    assert "bad.yaml: steps[0].mo.text: is required (got None)" in text
    assert "passed" not in text


def test_a_bad_lab_file_exits_2(tmp_path):
    """An invalid --config: exit 2 with the problem, before any lab starts."""
    (tmp_path / "s.yaml").write_text(PASSING)
    (tmp_path / "lab.yaml").write_text("extends: default\nsms: {purge_days: many}\n")
    code, text = _run([str(tmp_path / "s.yaml"), "--config", str(tmp_path / "lab.yaml")])
    assert 2 == code
    assert "sms.purge_days: must be a whole number (got 'many')" in text


def test_a_bad_lab_file_lists_every_problem_at_once(tmp_path):
    """An invalid --config: the problems of the CIC sections, a fake, proxy and cic together, nothing run."""
    (tmp_path / "s.yaml").write_text(PASSING)
    lab = write(tmp_path, STAGED)
    code, text = _run([str(tmp_path / "s.yaml"), "--config", str(lab)])
    assert (code, problems(text, lab)) == (2, STAGED_PROBLEMS)


def test_no_scenario_files_exits_2(tmp_path):
    """An empty folder holds no scenario: exit 2."""
    assert 2 == _run([str(tmp_path)])[0]


def test_passing_and_failing_scenarios_exit_0_and_1_with_reports(tmp_path):
    """One in-process lab run: all passing exits 0; one failing exits 1 and the files say which and why."""
    (tmp_path / "ok.yaml").write_text(PASSING)
    (tmp_path / "both.yaml").write_text("- " + PASSING.strip().replace("\n", "\n  ") + "\n- "
                                        + FAILING.strip().replace("\n", "\n  ") + "\n")
    assert 0 == _run([str(tmp_path / "ok.yaml")])[0]
    code, text = _run([str(tmp_path / "both.yaml"), "--json", str(tmp_path / "r.json"),
                       "--junit", str(tmp_path / "r.xml")])
    assert 1 == code
    data = json.loads((tmp_path / "r.json").read_text())
    assert [("an MO is routed", "passed"), ("a wrong expectation", "failed")] == [
        (s["name"], s["status"]) for s in data["scenarios"]]
    reason = data["scenarios"][1]["reason"]
    assert reason.startswith("[1].expect[0].interactions: expected at least 1 interaction with "
                             "customer='+13175550301', destination=Chat; saw none of the 1 interactions: [")
    assert "+13175550301->8005550100 Queue 'Indianapolis Support' [in 'hi']]" in reason
    cases = ET.parse(tmp_path / "r.xml").getroot().findall("testsuite/testcase")
    assert [None, reason] == [c.find("failure").get("message") if c.find("failure") is not None else None
                              for c in cases]
    assert "1 passed, 1 failed in " in text


def test_the_builtin_scenarios_are_found():
    """No SCENARIO argument means every file in scenarios/builtin."""
    names = [p.name for p in builtin_files()]
    assert {"mo-mt-kaleyra.yaml", "mo-mt-portico.yaml", "mo-mt-eztexting.yaml", "switchover-recovery.yaml",
            "switchover-no-recovery.yaml", "consolidation.yaml"} <= set(names)


def test_smslab_run_as_a_subprocess(tmp_path):
    """python -m scenarios.cli.run starts the lab, runs a scenario, prints the summary and exits 0."""
    (tmp_path / "ok.yaml").write_text(PASSING)
    proc = subprocess.Popen([sys.executable, "-m", "scenarios.cli.run", str(tmp_path / "ok.yaml")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert 0 == proc.returncode, out + err
    assert "[1/1] PASS an MO is routed" in out
    assert "1 passed in " in out
