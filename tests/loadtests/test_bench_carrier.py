"""Tests for loadtests.bench_carrier: a small campaign prints the three rows, and the report judges targets."""

from __future__ import annotations

import pytest

from loadtests import bench_carrier as bench
from scenarios.cli import main as cli


def test_a_small_campaign_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Through `smslab bench carrier`, 5,000 MTs give the rate, CPU and memory rows, each judged."""
    code = cli.main(["bench", "carrier", "--messages", "5000"])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code in (0, 1)
    assert lines[0].split() == ["metric", "model", "bare", "SimPy", "value", "target", "result"]
    assert [line[:46].strip() for line in lines[1:4]] == [
        "offline MTs per CPU second", "CPU seconds per 1,000,000 MTs", "peak RSS after 5,000 vs 500 MTs (MiB)"]
    assert all(line.endswith(("PASS", "MISS")) for line in lines[1:4])
    assert lines[4].startswith("(model: ")
    assert "[3/3] peak RSS" in err


def test_the_model_run_delivers_what_it_does_not_fail() -> None:
    """Every MT of a campaign gets a DLR: delivered plus failed is the campaign, about 2 % failed."""
    counts = bench.model_run(10_000)["stats"]["counts"]
    assert counts["delivered"] + counts["failed"] == counts["accepted"] == 10_000
    assert counts["failed"] / 10_000 == pytest.approx(0.02, abs=0.005)


def test_the_report_misses_a_target() -> None:
    """A model ten times slower than the bare one, or memory that grows, fails the run."""
    model = {"cpu_s": 10.0, "stats": bench.model_run(100)["stats"]}
    _, passed = bench.report(model, 1.0, 1_000_000, (100, 100))
    assert not passed
    _, passed = bench.report({**model, "cpu_s": 1.0}, 1.0, 1_000_000, (300, 100))
    assert not passed
    _, passed = bench.report({**model, "cpu_s": 1.0}, 1.0, 1_000_000, (100, 100))
    assert passed
