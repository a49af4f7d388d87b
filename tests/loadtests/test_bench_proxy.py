"""Tests of loadtests/bench_proxy.py: `smslab bench proxy` measures every path and checks nothing was lost."""

from __future__ import annotations

import json
import shutil

import pytest

from loadtests import bench_proxy as bench
from scenarios.cli import main as cli


@pytest.mark.slow
def test_a_short_run_reports_rates_ratios_and_stores_every_answered_mo(capsys: pytest.CaptureFixture[str]) -> None:
    """A short run measures direct and proxy (and HAProxy where installed); every 2xx MO was stored."""
    cli.main(["bench", "proxy", "--seconds", "0.3", "--rounds", "1", "--concurrency", "4", "--json"])
    result = json.loads(capsys.readouterr().out)
    paths = ["direct", "proxy", *(["haproxy"] if shutil.which("haproxy") else [])]
    assert paths == list(result["rates"])
    assert sorted(paths[1:]) == sorted(result["ratios"])
    assert result["answered_2xx"] > 0
    assert (result["stored_inbound"], result["other_answers"]) == (result["answered_2xx"], 0)
    assert result["ratios"]["proxy"] == pytest.approx(result["median"]["proxy"] / result["median"]["direct"])


def test_the_report_fails_on_a_missed_target_or_a_lost_mo() -> None:
    """A ratio under its target, or fewer MOs stored than answered 2xx, fails the run."""
    result = {"median": {"direct": 100.0, "proxy": 40.0}, "ratios": {"proxy": 0.4}, "answered_2xx": 10,
              "stored_inbound": 10, "other_answers": 0}
    lines, passed = bench._report(result, haproxy_missing=False)
    assert not passed
    assert "FAIL" in lines[2]
    lines, passed = bench._report({**result, "ratios": {"proxy": 0.6}, "stored_inbound": 9}, False)
    assert not passed
    assert lines[-1].endswith("LOST 1")
    _, passed = bench._report({**result, "ratios": {"proxy": 0.6}}, False)
    assert passed


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Non-positive durations, rounds or concurrency are refused before anything starts."""
    assert bench.main(["--seconds", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
