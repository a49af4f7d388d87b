"""Tests of certs.matrix (``smslab ssl-matrix``): reports, JSON, exit status, subprocess run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from certs.experiments import CASES
from certs.matrix import main, render, run
from certs.pki import Pki

NAMED = next(c for c in CASES if c.name == "broker-to-proxy-named")


def test_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one JSON list with every case, all passed, and exits 0."""
    assert main(["--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [c.name for c in CASES] == [entry["name"] for entry in document]
    assert all(entry["passed"] for entry in document)
    first = document[0]
    assert {"name", "kind", "parties", "expected", "expected_reason", "actual", "reason", "details"} <= set(
        first
    )
    assert (first["actual"], first["reason"]) == ("refused", "verify_code 18 / self-signed certificate")


def test_mis_expected_case_fails(pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    """A case whose expectation is wrong makes main exit 1 and shows the mismatch."""
    wrong = dataclasses.replace(NAMED, name="named-expected-refused", expected="refused")
    assert main([], cases=[NAMED, wrong], pki=pki) == 1
    out = capsys.readouterr().out
    assert "[FAIL] named-expected-refused" in out
    assert "       mismatch: expected refused, got accepted" in out
    assert out.endswith("2 cases, 1 failed, 0 skipped\n")


def test_case_filter(pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    """--case runs only the named cases; an unknown name exits 2."""
    assert main(["--case", "broker-to-proxy-named", "--json"], pki=pki) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == ["broker-to-proxy-named"]
    assert main(["--case", "no-such-case"], pki=pki) == 2
    assert "no case named no-such-case" in capsys.readouterr().err


def test_skipped_case_does_not_fail(pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    """A case needing a component not built yet is reported as skipped and the run still passes."""
    pending = dataclasses.replace(NAMED, name="proxy-answers-502-3", needs=("sim.proxy.not_built_yet",))
    assert main([], cases=[pending], pki=pki) == 0
    out = capsys.readouterr().out
    assert "[skip] proxy-answers-502-3" in out
    assert "actual   skipped: needs sim.proxy.not_built_yet (not built yet)" in out


def test_render_summary(pki: Pki) -> None:
    """The text report has three lines per passing case and a summary line."""
    text = render(run([NAMED], pki))
    assert text.splitlines() == [
        "[  ok] broker-to-proxy-named: broker (trusts the public CA) -> proxy, named certificate",
        "       expected accepted: TLSv1.3",
        "       actual   accepted: TLSv1.3",
        "1 cases, 0 failed, 0 skipped",
    ]


def test_usage() -> None:
    """An unknown option exits 2 without raising."""
    assert main(["--bogus"]) == 2


def test_subprocess_json() -> None:
    """`python -m certs.matrix --json` runs in a fresh interpreter and prints valid JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "certs.matrix", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert len(json.loads(done.stdout)) == len(CASES)
