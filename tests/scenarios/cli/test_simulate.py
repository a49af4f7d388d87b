"""Tests for scenarios.cli.simulate: `smslab simulate` from the command line, every output and exit code."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.cli import main as cli
from scenarios.paths import PACKAGE_DIR

SMALL = {"lab": "default", "duration": 60, "seed": 3,
         "carriers": [{"name": "us", "match": ["+1"], "latency": {"distribution": "fixed", "seconds": 2},
                       "outcomes": [{"state": "delivered", "weight": 0.9}, {"state": "failed", "weight": 0.1}]}],
         "traffic": {"campaigns": [{"name": "c", "count": 100, "rate": 10, "to": {"country": "+1", "size": 20},
                                    "classification": "National"}]},
         "events": [{"at": 20, "do": "kill", "node": "primary"}],
         "step": 5, "expect": {"lost": 0, "switchovers": 1}}


def write(tmp_path: Path, data: dict[str, Any], name: str = "w.yaml") -> Path:
    """Write a what-if file."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`smslab ARGV`: exit status, stdout, stderr."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_prints_the_summary_and_its_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The summary names the figures; every expectation holds, so the exit status is 0."""
    code, out, _ = run(["simulate", str(write(tmp_path, SMALL)), "--quiet"], capsys)
    assert code == 0
    assert "MTs requested / sent / not sent / refused" in out
    assert "switchovers / longest takeover                              1 / 6.000 s" in out
    assert "expect lost == 0: 0 PASS" in out
    assert "expect switchovers == 1: 1 PASS" in out


def test_the_same_seed_gives_the_same_json_byte_for_byte(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs of one file write identical JSON; another seed writes other bytes."""
    path = write(tmp_path, SMALL)
    _, one, _ = run(["simulate", str(path), "--json", "-", "--quiet"], capsys)
    _, two, _ = run(["simulate", str(path), "--json", "-", "--quiet"], capsys)
    _, other, _ = run(["simulate", str(path), "--json", "-", "--quiet", "--set", "seed=4"], capsys)
    assert one == two
    assert one != other
    doc = json.loads(one)
    assert doc["whatif"] == "w.yaml"
    assert doc["figures"]["mt.requested"] == 100
    assert [e["metric"] for e in doc["expect"]] == ["lost", "switchovers"]
    assert "promote" in [step["what"] for step in doc["timeline"]]


def test_csv_holds_one_row_per_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """60 s in 5 s steps: twelve rows whose counts sum to the run's, the gap shown as no active node."""
    out_csv = tmp_path / "series.csv"
    code, _, _ = run(["simulate", str(write(tmp_path, SMALL)), "--quiet", "--csv", str(out_csv)], capsys)
    with out_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert code == 0
    assert len(rows) == 12
    assert [row["t"] for row in rows[:3]] == ["0.0", "5.0", "10.0"]
    assert sum(int(row["mt_sent"]) for row in rows) == 100  # all before the kill at 20 s
    assert sum(int(row["dlr_stored"]) for row in rows) == 100
    assert {row["active"] for row in rows} == {"primary", "backup", ""}


def test_plots_are_png_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--plot writes the four plots as PNG."""
    code, _, err = run(["simulate", str(write(tmp_path, SMALL)), "--quiet", "--plot", str(tmp_path / "p")],
                       capsys)
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["backlog.png", "dlr_states.png", "latency.png", "throughput.png"]
    assert all((tmp_path / "p" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)
    assert "wrote" in err


def test_an_expectation_that_fails_exits_1_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`gap_s: {max: 0.5}` cannot hold across a kill: exit 1, the failed figure named."""
    data = {**SMALL, "expect": {"gap_s": {"max": 0.5}, "lost": 0}}
    code, out, err = run(["simulate", str(write(tmp_path, data)), "--quiet"], capsys)
    assert code == 1
    assert "expect gap_s <= 0.5:" in out
    assert out.rstrip().endswith("FAIL") or "FAIL" in out
    assert "expectation failed: gap_s" in err


def test_a_bad_file_exits_2_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing runs: exit 2, each problem on its own line with its path, value and reason."""
    data = {**SMALL, "speed": 1, "events": [{"at": 99, "do": "kill", "node": "nobody"}]}
    code, out, err = run(["simulate", str(write(tmp_path, data))], capsys)
    assert code == 2
    assert out == ""
    assert "events[0].at: must be before the end (60 s) (got 99.0)" in err
    assert "events[0].node: must be a node of the pair (primary, backup) (got 'nobody')" in err
    assert "speed: is not a known field (got 1)" in err
    assert "Traceback" not in err


def test_a_missing_file_and_a_bad_set_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there, and --set without '=', are refused with a message."""
    code, _, err = run(["simulate", str(tmp_path / "none.yaml")], capsys)
    assert code == 2
    assert "none.yaml" in err
    with pytest.raises(SystemExit) as caught:
        cli.main(["simulate", str(tmp_path / "none.yaml"), "--set", "seed"])
    assert caught.value.code == 2
    assert "must be KEY=VALUE" in capsys.readouterr().err


def test_a_sweep_prints_one_row_per_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two rates by two timeouts: four processes, four rows, each with its values and figures."""
    path = write(tmp_path, SMALL)
    code, out, err = run(["simulate", str(path), "--sweep", "traffic.campaigns[0].rate=5,10",
                          "--sweep", "cic.switchover.ts_timeout=5,20"], capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split()[:3] == ["traffic.campaigns[0].rate", "cic.switchover.ts_timeout", "mt.accepted"]
    assert [line.split()[:2] for line in lines[1:]] == [["5", "5"], ["5", "20"], ["10", "5"], ["10", "20"]]
    assert all(line.endswith("PASS") for line in lines[1:])
    assert "4 points" in err


def test_a_sweep_checks_every_point_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A point with a negative rate stops the sweep before any process starts."""
    code, out, err = run(["simulate", str(write(tmp_path, SMALL)), "--sweep", "traffic.campaigns[0].rate=5,-1"],
                         capsys)
    assert code == 2
    assert out == ""
    assert "traffic.campaigns[0].rate: must be above 0 MTs per second" in err


def test_the_shipped_examples_hold_their_expectations(capsys: pytest.CaptureFixture[str]) -> None:
    """Every what-if under scenarios/whatif runs and its expectations hold."""
    for path in sorted((PACKAGE_DIR / "whatif").glob("*.yaml")):
        code, out, _ = run(["simulate", str(path), "--quiet"], capsys)
        assert (path.name, code) == (path.name, 0), out
