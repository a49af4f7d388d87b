"""Tests for loadtests.bench_load: the side-by-side table and its verdict, and bad options."""

from __future__ import annotations

import argparse

import pytest

from loadtests.bench_load import TARGET, _table, main


def _result(lean: float, locust: float) -> dict[str, object]:
    return {"lean": [lean], "locust": [locust], "ratio": locust / lean, "e2e": 300.0, "e2e_passed": True,
            "cpus": 2, "checks_passed": True, "lean_generator_us": 150.0, "locust_generator_us": 600.0,
            "lean_fake_us": 300.0, "locust_fake_us": 330.0, "single": 1000.0}


def test_the_table_passes_at_the_target_and_misses_below_it() -> None:
    """Locust at 0.8x the lean client passes, at 0.5x misses; the end-to-end row is information."""
    args = argparse.Namespace(workers=2, users=32, rounds=1, seconds=10.0)
    passing, missing = _table(_result(1000.0, 800.0), args), _table(_result(1000.0, 500.0), args)
    assert 0.8 == TARGET
    assert ["800", "1000", "0.80", "PASS"] == passing[1].split()[-6:-2]
    assert ["500", "1000", "0.50", "MISS"] == missing[1].split()[-6:-2]
    assert ["300", "800", "0.38", "info"] == passing[2].split()[-4:]
    assert ["1000", "800", "1.25", "info"] == passing[3].split()[-4:]
    assert ["600", "150", "0.25", "info"] == passing[4].split()[-4:]
    assert ["330", "300", "0.91", "info"] == passing[5].split()[-4:]
    assert "lab counts matched Locust's" in passing[6]


def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-positive duration is refused by the parser."""
    with pytest.raises(SystemExit) as stopped:
        main(["--seconds", "0"])
    assert 2 == stopped.value.code
    assert "argument --seconds: must be above 0 (got 0)" in capsys.readouterr().err
