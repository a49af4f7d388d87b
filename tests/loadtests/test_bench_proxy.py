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
    out, err = capsys.readouterr()
    result = json.loads(out)
    steps = 1 + (3 if shutil.which("haproxy") else 2)
    assert [line.split(" (")[0] for line in err.splitlines()] == [
        f"smslab bench proxy: [1/{steps}] starting the CIC pair and the proxy"
        + (" and HAProxy" if steps == 4 else ""),
        *(f"smslab bench proxy: [{i}/{steps}] round 1 of 1: {name}, 0.3 s"
          for i, name in enumerate(["direct", "proxy", "haproxy"][: steps - 1], start=2))]
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
    for argv in (["--seconds", "0"], ["--rounds", "0"], ["--concurrency", "-1"]):
        with pytest.raises(SystemExit) as caught:
            bench.main(argv)
        assert caught.value.code == 2
        assert f"argument {argv[0]}: must be" in capsys.readouterr().err
