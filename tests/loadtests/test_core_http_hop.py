"""Tests for loadtests.core_http_hop: ``smslab bench core --http`` prints both nodes' rows from one run."""

from __future__ import annotations

import pytest

from loadtests import bench_core


def test_a_small_http_run_prints_the_in_process_and_served_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """A short --http run (a served core in a child process) prints both rows, the ratio and the hop's cost."""
    assert 0 == bench_core.main(["--http", "--messages", "60"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("smslab bench core --http: 60 MOs per round")
    assert (lines[2].split()[:4], lines[3].split()[:4]) == (["node,", "core", "in", "process"],
                                                           ["node,", "core", "served", "(HTTP)"])
    assert lines[4].startswith("ratio served/in-process ")
