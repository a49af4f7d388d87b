"""Tests for loadtests.bench_carrier: a small campaign prints the four rows, and the report judges targets."""

from __future__ import annotations

import pytest

from loadtests import bench_carrier as bench
from scenarios.cli import main as cli


def test_a_small_campaign_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Through `smslab bench carrier`, 5,000 MTs give the world, model, CPU and memory rows, judged."""
    code = cli.main(["bench", "carrier", "--messages", "5000"])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code in (0, 1)
    assert lines[0].split() == ["metric", "ours", "bare", "SimPy", "value", "target", "result"]
    assert [line[:52].strip() for line in lines[1:5]] == [
        "offline world MTs per CPU second", "carrier model alone, MTs per CPU second",
        "world CPU seconds per 1,000,000 MTs", "world peak RSS after 5,000 vs 500 MTs (MiB)"]
    assert [line.rsplit(maxsplit=1)[-1] in ("PASS", "MISS") for line in lines[1:5]] == [True, False, True, True]
    assert lines[5].startswith("(world: ")
    assert "1 switchover" in lines[5]
    assert "[4/4] peak RSS" in err


def test_the_world_run_stores_a_dlr_for_every_mt_it_sent() -> None:
    """Through the offline world, every MT sent gets its DLR stored, none is lost, and one switchover happens."""
    f = bench.world_run(2_000)["figures"]
    assert f["mt.requested"] == 2_000
    assert f["mt.sent"] + f["mt.not_sent"] == 2_000
    assert f["dlr.stored"] == f["mt.accepted"] == f["mt.sent"]
    assert f["lost"] == 0
    assert f["switchovers"] == 1


def test_the_model_run_delivers_what_it_does_not_fail() -> None:
    """Every MT of a campaign gets a DLR: delivered plus failed is the campaign, about 2 % failed."""
    counts = bench.model_run(10_000)["stats"]["counts"]
    assert counts["delivered"] + counts["failed"] == counts["accepted"] == 10_000
    assert counts["failed"] / 10_000 == pytest.approx(0.02, abs=0.005)


def test_the_report_misses_a_target() -> None:
    """A world ten times slower than the bare model, or memory that grows, fails the run."""
    world = {"cpu_s": 10.0, "figures": bench.world_run(100)["figures"]}
    model = {"cpu_s": 1.0, "stats": bench.model_run(100)["stats"]}
    _, passed = bench.report(world, model, 1.0, 1_000_000, (100, 100))
    assert not passed
    _, passed = bench.report({**world, "cpu_s": 1.0}, model, 1.0, 1_000_000, (300, 100))
    assert not passed
    _, passed = bench.report({**world, "cpu_s": 1.0}, model, 1.0, 1_000_000, (100, 100))
    assert passed
