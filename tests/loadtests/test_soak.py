"""Tests of loadtests/soak.py: `smslab bench soak` paces steps at a share of capacity and judges flatness and losses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadtests import soak
from scenarios.cli import main as cli


@pytest.mark.slow
def test_a_short_soak_reports_rows_and_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Six seconds at half of a one-second capacity run: a row every two seconds, every step finished, nothing lost."""
    status = cli.main(["bench", "soak", "--minutes", "0.1", "--report-every", "2", "--capacity-seconds", "1",
                       "--conversations", "50", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["rate_steps_per_s"] == pytest.approx(result["capacity_steps_per_s"] * 0.5)
    assert len(result["rows"]) >= 3
    assert sum(r["started"] for r in result["rows"]) == sum(r["finished"] for r in result["rows"]) > 0
    assert ({"mos": 0, "sends": 0, "drs": 0}, 0) == (result["lost"], result["error_count"])
    assert status == (0 if result["passed"] else 1)


@pytest.mark.slow
def test_with_trace_memory_the_result_names_the_lines_that_grew(capsys: pytest.CaptureFixture[str]) -> None:
    """--trace-memory: the result lists source lines with their growth from halfway to the end."""
    cli.main(["bench", "soak", "--minutes", "0.1", "--report-every", "1", "--capacity-seconds", "0.5",
              "--conversations", "20", "--share", "0.2", "--trace-memory", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["memory_growth"]
    assert all("size=" in line and ":" in line for line in result["memory_growth"])


def _row(at: float, rss: float = 100.0, mo: float = 2.0, send: float = 2.0, errors: int = 0) -> dict[str, Any]:
    return {"at_s": at, "rss_mb": rss, "mo_p50_ms": mo, "send_p50_ms": send, "errors": errors}


def _result(rows: list[dict[str, Any]], lost: int = 0) -> dict[str, Any]:
    return {"rows": rows, "lost": {"mos": lost, "sends": 0, "drs": 0},
            "error_count": sum(r["errors"] for r in rows)}


def test_the_verdict_fails_on_growth_after_the_warm_up_an_error_or_a_loss() -> None:
    """Against the row halfway through: 11 % more RSS, a doubled median, one error or one lost MO each fail the run."""
    warm = [_row(60, rss=50.0), _row(120)]  # growth during the warm-up does not count
    assert soak.verdict(_result([*warm, _row(180), _row(240, rss=105.0)]))["passed"]
    failed = [soak.verdict(r) for r in (
        _result([*warm, _row(180), _row(240, rss=111.0)]), _result([*warm, _row(180), _row(240, mo=4.0)]),
        _result([*warm, _row(180), _row(240, errors=1)]), _result([*warm, _row(180), _row(240)], lost=1))]
    assert [{"RSS last / after warm-up <= 1.1"}, {"MO median last / after warm-up <= 1.5"}, {"no error answer"},
            {"nothing lost"}] == [{name for name, ok in v["checks"].items() if not ok} for v in failed]
    assert {120} == {v["baseline_at_s"] for v in failed}


@pytest.mark.parametrize("argv", [["--minutes", "0"], ["--share", "1.5"], ["--conversations", "0"], ["--length", "0"]])
def test_bad_arguments_are_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A non-positive duration or count, or a share outside (0, 1], is refused by the parser naming the option."""
    with pytest.raises(SystemExit) as caught:
        soak.main(argv)
    assert caught.value.code == 2
    assert f"argument {argv[0]}: must be" in capsys.readouterr().err
