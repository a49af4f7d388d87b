"""Tests of scenarios/cli/failover.py: the MO stream across a kill, through the fakes, the proxy and the pair."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from labfiles import STAGED, STAGED_PROBLEMS, problems, write

from scenarios.cli import failover
from scenarios.cli import main as cli
from scenarios.paths import BUILTIN_DIR

NO_RECOVERY = str(BUILTIN_DIR / "labs" / "no-recovery.yaml")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = cli.main(["failover", "--json", "--count", "16", "--kill-after", "6", *args])
    return code, json.loads(capsys.readouterr().out)


def test_kill_with_recovery_loses_nothing_and_the_conversation_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    """With recovery in effect every acknowledged MO is stored once, in the one interaction, after a kill."""
    code, result = _run(capsys)
    assert (code, result["lost"], result["doubled"]) == (0, [], [])
    assert (result["acked"], result["conversation"], result["interactions"]) == (16, "continued", 1)
    assert result["detection"] is not None
    assert result["gap"] >= result["detection"] * 0.5
    assert result["gap"] <= result["expected_gap_at_most"] + 0.25


def test_kill_without_recovery_starts_a_new_interaction(capsys: pytest.CaptureFixture[str]) -> None:
    """Without recovery the backup holds only the MOs it took, in a new interaction."""
    code, result = _run(capsys, "--config", NO_RECOVERY)
    assert (code, result["recovery"], result["conversation"], result["lost"]) == (0, False, "new interaction", [])


def test_hang_switches_after_the_ping_timeouts(capsys: pytest.CaptureFixture[str]) -> None:
    """A hung node is detected only after the TS ping timeouts, so its gap is longer than a kill's."""
    code, hung = _run(capsys, "--mode", "hang")
    assert code == 0
    assert hung["checks"]["nothing lost"]
    # Two ping timeouts (0.2 s each at the default lab's scale) come before the promotion.
    assert hung["detection"] >= 0.4


def test_a_hang_holds_pushes_until_the_proxy_times_out_and_the_bound_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    """In process as with SIGSTOP, pushes in flight to the hung node wait out the 3 s proxy time-out; the
    bound adds that hold to detection, probe interval and retry interval, and the gap stays within it."""
    code, hung = _run(capsys, "--mode", "hang")
    terms = hung["bound_terms"]
    assert (code, terms["hold"], terms["probe interval"], terms["retry interval"]) == (0, 3.0, 0.2, 0.2)
    assert hung["expected_gap_at_most"] == pytest.approx(sum(terms.values()))
    assert 3.0 <= hung["gap"] <= hung["expected_gap_at_most"] + failover.SLACK
    assert (hung["lost"], hung["doubled"]) == ([], [])


def test_a_kill_has_no_hold_in_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    """A killed node refuses connections at once, so the kill's bound has no hold term."""
    code, killed = _run(capsys)
    assert (code, killed["bound_terms"]["hold"]) == (0, 0.0)


@pytest.mark.slow
def test_sigkill_of_a_node_process_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """With every component in its own process the kill is a real SIGKILL, and nothing is lost."""
    code, result = _run(capsys, "--processes")
    assert (code, result["lost"], result["doubled"], result["conversation"]) == (0, [], [], "continued")


@pytest.mark.parametrize("mode", [
    pytest.param([], id="in-process"),
    pytest.param(["--processes"], id="processes", marks=pytest.mark.slow),
])
def test_a_run_leaves_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], mode: list[str]) -> None:
    """What a run puts in the temporary directory (the killed node's store too) is gone when it ends."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))  # for the children
    monkeypatch.setattr(tempfile, "tempdir", str(folder))  # for this process, which has read TMPDIR already
    code = cli.main(["failover", "--json", "--count", "4", "--kill-after", "2", *mode])
    assert (0, True) == (code, json.loads(capsys.readouterr().out)["checks"]["nothing lost"])
    assert [] == sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A kill point outside the stream is refused before anything starts."""
    assert failover.main(["--count", "5", "--kill-after", "5"]) == 2
    assert "--kill-after" in capsys.readouterr().err


def test_a_bad_lab_file_lists_every_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid --config: exit 2 with the problems of the CIC sections, a fake, proxy and cic together."""
    lab = write(tmp_path, STAGED)
    assert cli.main(["failover", "--config", str(lab)]) == 2
    assert problems(capsys.readouterr().err, lab) == STAGED_PROBLEMS
