"""Tests for loadtests.bench_fakes: a small run prints the side-by-side table (structure, not numbers)."""

import re

import pytest

from loadtests.bench_fakes import TARGETS, _table, main, round_ratio


def test_table_marks_targets():
    """Each target row shows PASS or MISS by its own comparison; the info row is never a target."""
    ingest = {"bare_rate": 1000.0, "fake_rate": 800.0, "quiet_rate": 900.0, "mts": 800, "dlrs": 700,
              "dlr_rate": 700.0, "fake_ratio": 0.8, "quiet_ratio": 0.9}
    memory = {"mts": 1000, "checkpoint": 100, "rss_end": 130 * 2**20, "rss_checkpoint": 100 * 2**20}
    lines, passed = _table(ingest, memory)
    assert (False, ["PASS", "MISS", "MISS", "info"]) == (passed, [line.split()[-1] for line in lines[1:]])
    ingest.update(bare_cpu_us=100.0, fake_cpu_us=200.0, quiet_cpu_us=125.0)
    lines, _ = _table(ingest, memory)
    assert [("200", "100", "0.50", "info"), ("125", "100", "0.80", "info")] == [
        tuple(line.split()[-4:]) for line in lines[5:]]
    assert {"ingest_ratio": 0.7, "dlr_ratio": 0.9, "memory_ratio": 1.2, "carrier_ratio": 0.9} == TARGETS
    ingest.update(carrier_rate=700.0, fixed_rate=800.0, carrier_ratio=0.875, carrier_cpu_us=250.0,
                  fixed_cpu_us=200.0)
    lines, _ = _table(ingest, memory)
    assert ("MT ingest, carrier model vs fixed DLRs", ["700", "800", "0.88", ">=", "0.9", "MISS"]) == (
        lines[4][:44].strip(), lines[4].split()[-6:])
    assert ("server CPU per MT (us), carrier vs fixed", ["250", "200", "0.80", "info"]) == (
        lines[-1][:44].strip(), lines[-1].split()[-4:])


@pytest.mark.slow
def test_small_run_prints_the_table(capsys):
    """A small run (servers and sink in their own processes) prints the header, its rows and a footer."""
    code = main(["--seconds", "0.5", "--mts", "2000", "--concurrency", "4"])
    out, err = capsys.readouterr()
    out = out.splitlines()
    progress = [line.split(": [")[1].split(" (")[0] for line in err.splitlines()]
    assert progress[0] == "1/57] starting the fake, the bare handler and the DLR sink"
    assert progress[6] == "7/57] round 1 of 10: bare"
    assert progress[-1] == "57/57] memory: 2,000 MTs into one fake"
    assert code in (0, 1)
    assert ["metric", "fake", "baseline", "ratio", "target", "result"] == out[0].split()
    rows = [r"MT ingest \(MT/s\)", r"DLR rate vs MT rate", r"RSS after 2000 vs 200 MTs",
            r"MT ingest, carrier model vs fixed DLRs", r"MT ingest, DLRs off",
            r"server CPU per MT \(us\), DLRs on", r"server CPU per MT \(us\), DLRs off",
            r"server CPU per MT \(us\), carrier vs fixed"]
    assert rows == [p for p, line in zip(rows, out[1:9], strict=True) if re.match(p, line)]
    assert out[9].startswith("(load: 4 workers x 0.5 s per server in 10 rounds, an ingest ratio being the "
                             "median of the per-round ratios; the generator busy ")


def test_round_ratio_is_the_median_so_one_disturbed_round_does_not_decide():
    """The ratio is the median of per-round ratios: one slice slowed by a neighbour moves it little."""
    bare = [1000, 1000, 1000, 1000, 1000]
    assert 0.8 == round_ratio([800, 800, 200, 800, 810], bare)
    assert 0.75 == round_ratio([700, 800], [1000, 1000])
    with pytest.raises(ValueError, match="shorter"):
        round_ratio([1, 2], [1])


def test_bad_options_exit_2(capsys):
    """Nonsense sizes are refused before anything starts."""
    with pytest.raises(SystemExit) as caught:
        main(["--seconds", "0"])
    assert caught.value.code == 2
    assert "argument --seconds: must be above 0" in capsys.readouterr().err
    assert 2 == main(["--mts", "9"])
    assert "--mts must be at least 10" in capsys.readouterr().err
