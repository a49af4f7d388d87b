"""Tests for loadtests.bench_nexus: the verdict from its two measurements, and one tiny real run."""

from __future__ import annotations

import json

from loadtests.bench_nexus import main, report

MO = {"nexus_per_s": 600, "bare_per_s": 1000, "ratio": 0.6, "answered_2xx": 10, "stored": 10}
HOOK = {"offered_per_s": 100.0, "nexus_per_s": 99, "mt_rate_per_s": 100, "ratio": 0.99, "delivered": 5, "sent": 5}


def test_report_needs_ratios_and_no_loss() -> None:
    """It passes on both targets met with nothing lost, and fails on a low ratio or a lost message."""
    assert report(MO, HOOK)[1]
    assert not report({**MO, "ratio": 0.4}, HOOK)[1]
    assert not report({**MO, "stored": 9}, HOOK)[1]
    assert not report(MO, {**HOOK, "delivered": 4})[1]
    assert not report(MO, {**HOOK, "ratio": 0.8})[1]


def test_tiny_run_prints_both_lines(capsys) -> None:
    """A short run prints one JSON line per measurement, every answered MO stored, every reply delivered."""
    main(["--seconds", "0.2", "--rounds", "1", "--messages", "20", "--mt-rate", "200", "--concurrency", "4"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["bench"] for line in lines] == ["mo_ingest", "webhook_delivery"]
    assert lines[0]["stored"] == lines[0]["answered_2xx"] > 0
    assert lines[1]["delivered"] == lines[1]["sent"] == 20
