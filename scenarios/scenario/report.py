"""Showing scenario results: progress lines while a run goes, a summary table at its end, and the
``--json`` and ``--junit`` files for CI.

The JSON document::

    {"passed": 13, "failed": 1, "errors": 0, "skipped": 0, "seconds": 21.4,
     "scenarios": [{"name", "source", "description", "status", "seconds", "reason",
                    "checks": [{"path", "title", "status", "detail", "seconds"}]}]}

The JUnit XML holds one ``testsuite`` named ``smslab`` with one ``testcase`` per scenario (``classname``
the scenario file's stem), a ``failure``, ``error`` or ``skipped`` element when it did not pass (its
``message`` the first failure, its text every failed check), and every step and expectation in
``system-out``: the shape Jenkins, GitLab and GitHub test reporters read.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scenarios.scenario.runner import ScenarioResult
from scenarios.scenario.scenario_file import Scenario

__all__ = ["Progress", "counts", "print_summary", "to_json", "to_junit", "write_json", "write_junit"]

STYLES = {"passed": "green", "failed": "red", "error": "red bold", "skipped": "yellow", "not run": "dim"}
MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def counts(results: list[ScenarioResult]) -> dict[str, int]:
    """How many scenarios passed, failed, broke (errors) and were skipped."""
    keys = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped"}
    out = dict.fromkeys(keys.values(), 0)
    for result in results:
        out[keys[result.status]] += 1
    return out


class Progress:
    """Prints one line per finished scenario: ``[3/14] PASS kaleyra MO and MT (0.41 s)``.

    Args:
        console: where to print.
        total: how many scenarios the run holds.
    """

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0

    def __call__(self, event: str, scenario: Scenario, result: ScenarioResult | None) -> None:
        """The runner's progress hook."""
        if event != "done" or result is None:
            return
        self.done += 1
        line = Text(f"[{self.done}/{self.total}] ")
        line.append(MARKS[result.status], style=STYLES[result.status])
        line.append(f" {result.name} ({result.seconds:.2f} s)")
        self.console.print(line)
        if result.reason and result.status != "passed":
            self.console.print(Text(f"    {result.reason}", style=STYLES[result.status]))


def print_summary(console: Console, results: list[ScenarioResult], seconds: float) -> None:
    """The summary table, the details of every failed check, and the totals line."""
    table = Table(title="smslab scenarios", title_justify="left")
    for name, justify in (("#", "right"), ("scenario", "left"), ("result", "left"), ("time", "right"),
                          ("first failure", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, r in enumerate(results, 1):
        table.add_row(str(i), r.name, Text(r.status, style=STYLES[r.status]), f"{r.seconds:.2f} s",
                      r.reason if r.status != "passed" else "")
    console.print(table)
    for r in results:
        for c in r.failures:
            console.print(Text(f"{r.name} > {c.path} ({c.title})", style="bold"))
            console.print(Text(f"    {c.detail}", style="red"))
    n = counts(results)
    words = ", ".join(f"{v} {k}" for k, v in n.items() if v or k == "passed")
    style = "green" if n["failed"] == n["errors"] == 0 else "red"
    console.print(Text(f"{words} in {seconds:.2f} s", style=style))


def to_json(results: list[ScenarioResult], seconds: float) -> dict[str, Any]:
    """The run as the ``--json`` document (see the module docstring)."""
    scenarios = [
        {"name": r.name, "source": r.source, "description": r.description, "status": r.status,
         "seconds": round(r.seconds, 4), "reason": r.reason,
         "checks": [{"path": c.path, "title": c.title, "status": c.status, "detail": c.detail,
                     "seconds": round(c.seconds, 4)} for c in r.checks]}
        for r in results
    ]
    return {**counts(results), "seconds": round(seconds, 4), "scenarios": scenarios}


def write_json(path: str | Path, results: list[ScenarioResult], seconds: float) -> None:
    """Write the ``--json`` document."""
    text = json.dumps(to_json(results, seconds), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def _classname(source: str) -> str:
    stem = Path(source.split("[", 1)[0]).stem if source else "scenarios"
    return f"smslab.{stem}"


def _testcase(suite: ET.Element, r: ScenarioResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=_classname(r.source), name=r.name,
                         time=f"{r.seconds:.3f}")
    if r.status == "failed":
        failure = ET.SubElement(case, "failure", message=r.reason, type="ScenarioFailure")
        failure.text = "\n".join(f"{c.path} ({c.title}): {c.detail}" for c in r.failures)
    elif r.status == "error":
        ET.SubElement(case, "error", message=r.reason, type="LabError").text = r.reason
    elif r.status == "skipped":
        ET.SubElement(case, "skipped", message=r.reason)
    if r.checks:
        lines = [f"[{c.status}] {c.path}: {c.title}" + (f" -> {c.detail}" if c.detail else "")
                 for c in r.checks]
        ET.SubElement(case, "system-out").text = "\n".join(lines)


def to_junit(results: list[ScenarioResult], seconds: float) -> ET.ElementTree:
    """The run as a JUnit XML tree (see the module docstring)."""
    n = counts(results)
    attrs = {"name": "smslab", "tests": str(len(results)), "failures": str(n["failed"]),
             "errors": str(n["errors"]), "skipped": str(n["skipped"]), "time": f"{seconds:.3f}"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for r in results:
        _testcase(suite, r)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: str | Path, results: list[ScenarioResult], seconds: float) -> None:
    """Write the ``--junit`` file (UTF-8, with an XML declaration)."""
    to_junit(results, seconds).write(path, encoding="utf-8", xml_declaration=True)
