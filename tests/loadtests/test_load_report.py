"""Tests for loadtests.load_report: Locust's JSON figures read back, the MO checks over the logs (a lost, a
doubled, an unacknowledged MO each caught), the switchover's gap, the thresholds named with their figures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from loadtests.load_report import (
    Logged,
    checks,
    conversation_figures,
    failover_figures,
    locust_stats,
    mo_figures,
    percentile,
    read_logs,
    stored_mos,
    thresholds,
)

_ENTRY = {"name": "MO kaleyra", "method": "POST", "start_time": 100.0, "last_request_timestamp": 102.0,
          "num_requests": 10, "num_failures": 1, "max_response_time": 41.5,
          "response_times": {"5": 5, "6": 3, "40": 2}}


def test_locusts_json_becomes_rows_and_an_aggregated_total(tmp_path: Path) -> None:
    """Each entry is a row with its rate over its own span and percentiles from its histogram; the total
    sums them."""
    second = {**_ENTRY, "name": "MO portico", "num_failures": 0, "start_time": 101.0,
              "response_times": {"7": 10}}
    path = tmp_path / "locust.json"
    path.write_text(json.dumps([second, _ENTRY]), encoding="utf-8")
    stats = locust_stats(path)
    assert ["MO kaleyra", "MO portico"] == [r["name"] for r in stats["rows"]]
    assert {"type": "POST", "name": "MO kaleyra", "requests": 10, "failures": 1, "successes": 9, "rps": 5.0,
            "median_ms": 5.0, "p95_ms": 40.0, "max_ms": 41.5} == stats["rows"][0]
    assert (20, 1, 19, 10.0, 7.0) == tuple(stats["total"][k] for k in (
        "requests", "failures", "successes", "rps", "median_ms"))


def test_percentile_reads_the_histogram_of_rounded_times() -> None:
    """The 50th and 95th percentiles of 5x5 ms, 3x6 ms, 2x40 ms; an empty histogram gives 0."""
    times = {"5": 5, "6": 3, "40": 2}
    assert (5.0, 40.0, 0.0) == (percentile(times, 0.5), percentile(times, 0.95), percentile({}, 0.5))


def test_logs_are_read_from_every_process_by_start_time(tmp_path: Path) -> None:
    """Two processes' MO logs merge in start order; an MT log line keeps its accepted-MT count."""
    (tmp_path / "mo-2.tsv").write_text("b\tkaleyra\t2.0\t2.1\t200\n", encoding="utf-8")
    (tmp_path / "mo-1.tsv").write_text("a\tportico\t1.0\t1.1\t502\n", encoding="utf-8")
    (tmp_path / "mt-1.tsv").write_text("c\tkaleyra\t1.0\t1.2\t202\t2\n", encoding="utf-8")
    assert [Logged("a", "portico", 1.0, 1.1, 502), Logged("b", "kaleyra", 2.0, 2.1, 200)] == read_logs(
        tmp_path, "mo")
    assert [Logged("c", "kaleyra", 1.0, 1.2, 202, 2)] == read_logs(tmp_path, "mt")


def _row(key: str, start: float, status: int) -> Logged:
    return Logged(key, "kaleyra", start, start + 0.01, status)


def test_a_lost_a_doubled_and_an_unacknowledged_mo_are_each_caught() -> None:
    """Against the logged 2xx MOs: one not stored is lost, one stored twice doubled, one stored after a
    502 stored unacknowledged; every check that covers them fails."""
    mos = [_row("t-1", 1.0, 200), _row("t-2", 2.0, 200), _row("t-3", 3.0, 502), _row("t-4", 4.0, 200)]
    stored = Counter({"t-1": 1, "t-2": 2, "t-3": 1})
    figures = mo_figures(mos, stored, None, recovery=True)
    assert (["t-4"], ["t-2"], ["t-3"]) == (figures["lost"], figures["doubled"], figures["unacked_stored"])
    report = {"mo": figures, "locust": {"rows": [{"name": "MO kaleyra", "successes": 3, "requests": 4}]}}
    assert {"every acknowledged MO stored": False, "no MO stored twice": False,
            "MOs stored == Locust's MO successes": False} == checks(report)


def test_without_recovery_what_the_old_node_took_is_not_expected_on_the_new_one() -> None:
    """After a fault with recovery off, an MO acknowledged before the first failure is not lost for being
    absent; one acknowledged after it is."""
    mos = [_row("t-1", 1.0, 200), _row("t-2", 2.0, 502), _row("t-3", 3.0, 200), _row("t-4", 4.0, 200)]
    fault = {"at": 1.5, "node": "primary", "mode": "kill"}
    assert ["t-4"] == mo_figures(mos, Counter({"t-3": 1}), fault, recovery=False)["lost"]
    assert ["t-1", "t-4"] == mo_figures(mos, Counter({"t-3": 1}), fault, recovery=True)["lost"]


def test_the_gap_runs_from_the_first_failure_to_the_first_answer_after_it() -> None:
    """Gap, requests failed in it and the bound from the timeline's promotion, as smslab failover rules."""
    rows = [_row("a", 1.0, 200), _row("b", 2.0, 0), _row("c", 2.2, 502), _row("d", 2.5, 200)]
    timeline = [{"at": 1.9, "event": "fault kill primary"}, {"at": 2.1, "event": "backup promoted"}]
    fo = failover_figures(rows, {"at": 1.9, "node": "primary", "mode": "kill"}, timeline,
                          {"proxy_timeout": 3.0, "push_timeout": 3.0, "probe_interval": 0.2,
                           "retry_interval": 0.0})
    assert (2.0, 2.5, 2, 2) == (fo["first_failed"], fo["first_back"], fo["failed_in_gap"], fo["failed"])
    assert 0.5 == round(fo["gap"], 6)
    assert 0.4 == round(fo["expected_gap_at_most"], 6)  # detection 0.2 + probe 0.2, no hold for a kill


def test_thresholds_are_named_with_the_figure_and_the_limit() -> None:
    """Each threshold given is one named verdict; one not given is not checked; no requests at all fails."""
    total = {"requests": 200, "failures": 2, "rps": 40.0, "p95_ms": 120.0}
    assert {"failure ratio 0.0100 <= --max-fail-ratio 0.05": True, "p95 120 ms <= --p95-ms 100": False,
            "rate 40.0 req/s >= --min-rps 50": False} == thresholds(
        total, max_fail_ratio=0.05, p95_ms=100.0, min_rps=50.0)
    assert {} == thresholds(total, max_fail_ratio=None, p95_ms=None, min_rps=None)
    assert {"Locust made requests": False} == thresholds(
        {"requests": 0, "failures": 0, "rps": 0.0, "p95_ms": 0.0}, max_fail_ratio=None, p95_ms=None,
        min_rps=None)


def _interaction(ident: str, customer: str, *entries: tuple[str, str]) -> dict[str, object]:
    return {"id": ident, "customer": customer,
            "transcript": [{"direction": d, "message_id": m} for d, m in entries]}


def test_a_conversation_split_over_two_interactions_or_a_lost_reply_is_caught() -> None:
    """One customer's MOs in one interaction with its reply passes; another's split over two, and a reply
    found in no interaction of the run, are named."""
    interactions = [
        _interaction("i1", "+1317", ("in", "t-1"), ("out", "r-1"), ("in", "t-2")),
        _interaction("i2", "+1318", ("in", "t-3")),
        _interaction("i3", "+1318", ("in", "t-4")),
        _interaction("i4", "+1319", ("in", "other-run"), ("out", "r-9")),
    ]
    figures = conversation_figures(interactions, "t-", {"r-1", "r-2"})
    assert {"customers": 2, "split": ["+1318"], "replies": 2, "replies_missing": ["r-2"]} == figures
    assert {"each customer's MOs and the replies in one interaction": False} == checks(
        {"conversations": figures, "locust": {"rows": []}})
    assert Counter({"t-1": 1, "t-2": 1, "t-3": 1, "t-4": 1}) == stored_mos(interactions, "t-")
