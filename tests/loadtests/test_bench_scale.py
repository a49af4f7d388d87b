"""Tests of loadtests/bench_scale.py: `smslab bench scale` measures every operation at every size and judges them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from loadtests import bench_scale as bench
from scenarios.cli import main as cli


@pytest.mark.slow
def test_a_small_run_measures_every_operation_at_every_size(capsys: pytest.CaptureFixture[str]) -> None:
    """Two small sizes: each operation timed at each, ratios of the last to the first, no error answer, JSON out."""
    status = cli.main(["bench", "scale", "--sizes", "20,120", "--mos", "10", "--sends", "5", "--drs", "5",
                       "--pages", "3", "--idle-seconds", "0.2", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert [20, 120] == [s["size"] for s in result["sizes"]]
    assert all(s["interactions"] >= s["size"] for s in result["sizes"])
    for op in bench.PER_MESSAGE:
        first, last = result["sizes"][0][op]["ms"], result["sizes"][-1][op]["ms"]
        assert result["ratios"][op] == pytest.approx(last / first)
    assert (0, []) == (result["error_count"], result["errors"])
    assert status == (0 if result["passed"] else 1)
    assert result["checks"]["no error answer"] is True


def _size(size: int, ms: float, stall: float = 1.0, rss: float = 50.0) -> dict[str, Any]:
    timed = {"ms": ms, "stall_ms": stall}
    return {"size": size, "interactions": size, **dict.fromkeys(bench.PER_MESSAGE, timed),
            "recovery": timed, "full_sync": timed, "idle": {"cpu_percent": 5.0, "stall_ms": stall}, "rss_mb": rss}


def test_the_summary_fails_a_ratio_over_target_a_long_stall_an_error_or_a_slow_recovery() -> None:
    """Each target is judged on its own: a 1.6 ratio, a 60 ms stall, one 502 or a 3 s recovery fails the run."""
    calm = bench.summarise([_size(100, 2.0), _size(50_100, 2.4, rss=90.0)], [], 5.0)
    assert (True, pytest.approx(1.2), pytest.approx(0.8)) == (
        calm["passed"], calm["ratios"]["send"], calm["rss_kb_per_interaction"])
    slow = bench.summarise([_size(100, 2.0), _size(10_000, 3.2)], [], 5.0)
    stalled = bench.summarise([_size(100, 2.0), _size(10_000, 2.0, stall=60.0)], [], 5.0)
    failed = bench.summarise([_size(100, 2.0), _size(10_000, 2.0)], ["POST /kaleyra/mo: 502"], 5.0)
    late = bench.summarise([_size(100, 2.0), {**_size(10_000, 2.0), "recovery": {"ms": 3000.0, "stall_ms": 1.0}}],
                           [], 5.0)
    assert [False] * 4 == [r["passed"] for r in (slow, stalled, failed, late)]
    assert ({"mo ratio <= 1.5", "send ratio <= 1.5", "dr ratio <= 1.5", "page ratio <= 1.5"},
            {"longest stall < 50 ms"}, {"no error answer"}, {"recovery < 2500 ms"}) == tuple(
        {name for name, ok in r["checks"].items() if not ok} for r in (slow, stalled, failed, late))
    assert any(line.startswith("FAIL  recovery") for line in bench.report(late))


@pytest.mark.parametrize("sizes", ["100", "100,100", "1000,100", "a,b", "0,10"])
def test_bad_sizes_are_refused_by_the_parser(sizes: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--sizes must be two or more rising whole numbers from 1: anything else is a usage error (status 2)."""
    with pytest.raises(SystemExit) as caught:
        bench.main(["--sizes", sizes])
    assert caught.value.code == 2
    assert "--sizes" in capsys.readouterr().err


async def test_the_stall_monitor_sees_a_blocked_loop() -> None:
    """A 60 ms blocking call on the loop shows as a stall of at least 50 ms; a quiet loop as a few ms at most."""
    monitor = bench.StallMonitor()
    monitor.start()
    await asyncio.sleep(0.03)
    quiet = await monitor.stop()
    monitor.start()
    await asyncio.sleep(0.01)
    time.sleep(0.06)  # the loop is held: nothing else runs
    await asyncio.sleep(0.01)
    blocked = await monitor.stop()
    assert blocked >= 50.0 > quiet
