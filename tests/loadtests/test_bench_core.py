"""Tests for loadtests.bench_core: the baseline agrees with the core, and a small run prints its table."""

from __future__ import annotations

import random

import pytest

from loadtests import bench_core
from sim.core.segmentation import segment


def test_naive_baseline_agrees_with_the_core() -> None:
    """The naive per-character counter gives the same part counts as the core on the sample mix."""
    texts = bench_core.sample_texts(500, random.Random(1))
    assert [len(segment(t).segments) for t in texts] == [bench_core.naive_segment_count(t) for t in texts]


def test_small_run_prints_the_side_by_side_table(capsys: pytest.CaptureFixture[str]) -> None:
    """A short run prints both rows with rates, ratio and baseline name, and a result line."""
    code = bench_core.main(["--messages", "200", "--seconds", "0.06"])
    lines = capsys.readouterr().out.splitlines()
    assert code in (0, 1)  # the ratio is measured, not asserted, in a unit test
    assert lines[1].split()[:3] == ["smslab", "msg/s", "baseline"]
    assert (lines[2].split()[0], lines[2].split()[-2:]) == ("segmentation", ["naive", "per-character"])
    assert (lines[3].split()[:2], lines[3].split()[-3:]) == (["inbound", "routing"], ["bare", "regex", "loop"])
    assert lines[4] in ("result: ok", "result: FAIL: segmentation under target")
