"""The figures of one ``smslab load`` run: Locust's statistics, the locustfiles' logs, the lab's own counts,
the checks and thresholds over them, and the summary table.

Locust's numbers are read from its own final JSON report (one entry per request type and name, with
its histogram of response times); the logs the locustfiles wrote (``mo-<pid>.tsv``, ``mt-<pid>.tsv``,
``dlr-<pid>.json``, ``fault.json``: ``loadtests.locustfiles.common``) say which MOs were acknowledged,
how many MTs each send made and when the fault came. The checks:

- every MO that got a 2xx is stored on the active node exactly once, and the lab stores as many of this
  run's MOs as Locust counted successes (none lost, none doubled, none stored unacknowledged); with a fault
  and no SMS Interaction Recovery in effect, an MO the old node took is not expected on the new one
  (SMS Technical Reference, "Recovery of SMS Interactions in Switchover"), as ``smslab failover`` rules;
- each fake captured exactly the MTs the sends were answered for;
- with ``--fail-at``: the backup took over, and the gap (first failed request to the first one answered
  after it) is within the bound ``smslab failover`` computes for the path;
- the thresholds the user gave, each named when it fails.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from scenarios.cli.failover import SLACK, detection_time, failover_gap, gap_bound

__all__ = ["Logged", "checks", "locust_stats", "mo_counts", "read_logs", "summary_table", "thresholds"]


class Logged(NamedTuple):
    """One request of a locustfile's log."""

    key: str
    broker: str
    start: float
    end: float
    status: int
    parts: int = 0

    @property
    def ok(self) -> bool:
        """Answered 2xx."""
        return 200 <= self.status < 300


def locust_stats(json_file: Path) -> dict[str, Any]:
    """Locust's final statistics (its ``--json-file`` document) as ``{"rows": [...], "total": {...}}``.

    The JSON document, not the CSV report, because Locust writes it once at shutdown from its final
    figures, while its CSV rows are rewritten once a second and miss the last second of a run.

    Raises:
        FileNotFoundError: Locust wrote no report (it did not start, or stopped before the end).
    """
    entries = json.loads(json_file.read_text(encoding="utf-8"))
    rows = [_row(e) for e in sorted(entries, key=lambda e: (e["name"], e["method"]))]
    merged: Counter[str] = Counter()
    for entry in entries:
        merged.update({k: int(v) for k, v in entry["response_times"].items()})
    start = min((e["start_time"] for e in entries), default=0.0)
    last = max((e["last_request_timestamp"] or 0.0 for e in entries), default=0.0)
    total = _figures("", "Aggregated", sum(e["num_requests"] for e in entries),
                     sum(e["num_failures"] for e in entries), times=merged, span=last - start,
                     longest=max((e["max_response_time"] or 0.0 for e in entries), default=0.0))
    return {"rows": rows, "total": total}


def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    times = Counter({k: int(v) for k, v in entry["response_times"].items()})
    return _figures(entry["method"] or "", entry["name"], entry["num_requests"], entry["num_failures"],
                    times=times, span=(entry["last_request_timestamp"] or 0.0) - entry["start_time"],
                    longest=entry["max_response_time"] or 0.0)


def _figures(kind: str, name: str, requests: int, failures: int, *, times: Mapping[str, int],
             span: float, longest: float) -> dict[str, Any]:
    return {"type": kind, "name": name, "requests": requests, "failures": failures,
            "successes": requests - failures, "rps": requests / span if span > 0 else 0.0,
            "median_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95),
            "max_ms": round(longest, 1)}


def percentile(times: Mapping[str, int], fraction: float) -> float:
    """The response time (ms) that ``fraction`` of the requests took at most, from Locust's histogram of
    rounded times (its own ``calculate_response_time_percentile`` reads the same one)."""
    total = sum(times.values())
    if not total:
        return 0.0
    seen = 0
    for value in sorted(times, key=float):
        seen += times[value]
        if seen >= fraction * total:
            return float(value)
    return float(max(times, key=float))


def read_logs(out_dir: Path, kind: str) -> list[Logged]:
    """Every line of the ``<kind>-<pid>.tsv`` logs, by start time."""
    found = []
    for path in sorted(out_dir.glob(f"{kind}-*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            key, broker, start, end, status, *more = line.split("\t")
            found.append(Logged(key, broker, float(start), float(end), int(status),
                                int(more[0]) if more else 0))
    return sorted(found, key=lambda row: row.start)


def read_json_files(out_dir: Path, pattern: str) -> list[dict[str, Any]]:
    """The JSON documents of the files matching ``pattern`` in ``out_dir``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out_dir.glob(pattern))]


def mo_figures(mos: list[Logged], stored: Counter[str], fault: Mapping[str, Any] | None,
               recovery: bool) -> dict[str, Any]:
    """Acknowledged, stored, lost, doubled and unacknowledged-but-stored MOs of the run."""
    acked = [m for m in mos if m.ok]
    switched = fault is not None and not recovery
    gap_start = failover_gap(_attempts(mos))[0]
    # Without recovery the new active node never had what the old one took before the fault.
    lost = [m.key for m in acked if stored[m.key] == 0
            and not (switched and gap_start is not None and m.start < gap_start)]
    acked_ids = {m.key for m in acked}
    return {"pushed": len(mos), "acked": len(acked), "stored": len(stored), "lost": lost,
            "missing": len(lost), "doubled": sorted(k for k, n in stored.items() if n > 1),
            "unacked_stored": sorted(set(stored) - acked_ids), "failed": len(mos) - len(acked),
            "by_broker": dict(Counter(m.broker for m in acked))}


def stored_mos(interactions: list[dict[str, Any]], tag: str) -> Counter[str]:
    """How many times each MO of this run (message id starting with ``tag``) is stored."""
    stored: Counter[str] = Counter()
    for interaction in interactions:
        for entry in interaction.get("transcript", ()):
            message_id = str(entry.get("message_id") or "")
            if entry.get("direction") == "in" and message_id.startswith(tag):
                stored[message_id] += 1
    return stored


def conversation_figures(interactions: list[dict[str, Any]], tag: str, replies: set[str]) -> dict[str, Any]:
    """How the run's conversations landed: customers, the interactions holding their MOs (one each when
    every reply joined the customer's open interaction and the next MO continued it), and the replies
    (by the send's correlation, the transcript's id of an agent's entry) not found in their customer's."""
    holders: dict[str, set[str]] = {}
    found: set[str] = set()
    for interaction in interactions:
        entries = interaction.get("transcript", ())
        if any(str(e.get("message_id") or "").startswith(tag) for e in entries if e.get("direction") == "in"):
            holders.setdefault(str(interaction.get("customer")), set()).add(str(interaction["id"]))
            found.update(str(e.get("message_id")) for e in entries if e.get("direction") == "out")
    return {"customers": len(holders), "split": sorted(c for c, ids in holders.items() if len(ids) > 1),
            "replies": len(replies), "replies_missing": sorted(replies - found)}


def mo_counts(rows: list[dict[str, Any]], stored: Counter[str]) -> dict[str, Any]:
    """The MO figures from Locust's counts and the lab's records alone (workers on other hosts keep their
    logs): which MO was lost cannot be named, only how many are missing."""
    pushed = sum(r["requests"] for r in rows if r["name"].startswith("MO "))
    acked = sum(r["successes"] for r in rows if r["name"].startswith("MO "))
    return {"pushed": pushed, "acked": acked, "stored": len(stored), "lost": [],
            "missing": max(0, acked - len(stored)), "doubled": sorted(k for k, n in stored.items() if n > 1),
            "unacked_stored": [], "failed": pushed - acked, "by_broker": {}, "by_count": True}


def _attempts(rows: list[Logged]) -> list[dict[str, Any]]:
    return [{"at": r.start, "status": r.status or None, "message_id": r.key} for r in rows]


def failover_figures(rows: list[Logged], fault: Mapping[str, Any], timeline: list[dict[str, Any]],
                     terms: Mapping[str, Any]) -> dict[str, Any]:
    """The switchover as the requests saw it: the gap, the requests that failed in it, and its bound."""
    first_failed, first_back, gap = failover_gap(_attempts(rows))
    detection = detection_time(timeline, float(fault["at"]))
    bound, parts = gap_bound({**terms, "mode": fault["mode"]}, detection)
    failed_in_gap = sum(1 for r in rows if not r.ok and first_failed is not None
                        and first_failed <= r.start <= (first_back if first_back is not None else r.start))
    return {"node": fault["node"], "mode": fault["mode"], "fault_at": fault["at"],
            "first_failed": first_failed, "first_back": first_back, "gap": gap, "detection": detection,
            "failed_in_gap": failed_in_gap,
            "failed": sum(1 for r in rows if not r.ok), "expected_gap_at_most": bound, "bound_terms": parts}


def checks(report: Mapping[str, Any]) -> dict[str, bool]:
    """The lab's checks over a run's report (``thresholds`` adds the user's)."""
    found: dict[str, bool] = {}
    mo = report.get("mo")
    if mo and mo["pushed"]:
        found["every acknowledged MO stored"] = mo["missing"] == 0
        found["no MO stored twice"] = not mo["doubled"]
        if report.get("failover") is None:
            found["MOs stored == Locust's MO successes"] = (
                mo["stored"] == mo["acked"] == _successes(report, "MO ") and not mo["unacked_stored"])
    talk = report.get("conversations")
    if talk is not None:
        found["each customer's MOs and the replies in one interaction"] = (
            talk["customers"] > 0 and not talk["split"] and not talk["replies_missing"])
    mt = report.get("mt")
    if mt and mt["sent"]:
        found["MTs captured == MTs accepted, per broker"] = mt["captured"] == mt["accepted"]
        if report.get("failover") is None:
            found["MT requests logged == Locust's requests"] = mt["sent"] == _requests(report, mt["names"])
    fo = report.get("failover")
    if fo is not None:
        found["backup took over"] = fo["gap"] is not None
        found["gap within detection + probe interval + retry interval + hold"] = (
            fo["gap"] is not None and fo["expected_gap_at_most"] is not None
            and fo["gap"] <= fo["expected_gap_at_most"] + SLACK)
    return found


def _successes(report: Mapping[str, Any], prefix: str) -> int:
    return sum(r["successes"] for r in report["locust"]["rows"] if r["name"].startswith(prefix))


def _requests(report: Mapping[str, Any], names: list[str]) -> int:
    return sum(r["requests"] for r in report["locust"]["rows"] if r["name"] in names)


def thresholds(total: Mapping[str, Any], *, max_fail_ratio: float | None, p95_ms: float | None,
               min_rps: float | None) -> dict[str, bool]:
    """The user's thresholds over Locust's aggregated row, each named with its figure."""
    found = {}
    ratio = total["failures"] / total["requests"] if total["requests"] else 0.0
    if max_fail_ratio is not None:
        found[f"failure ratio {ratio:.4f} <= --max-fail-ratio {max_fail_ratio:g}"] = ratio <= max_fail_ratio
    if p95_ms is not None:
        found[f"p95 {total['p95_ms']:g} ms <= --p95-ms {p95_ms:g}"] = total["p95_ms"] <= p95_ms
    if min_rps is not None:
        found[f"rate {total['rps']:.1f} req/s >= --min-rps {min_rps:g}"] = total["rps"] >= min_rps
    if total["requests"] == 0:
        found["Locust made requests"] = False
    return found


def summary_table(report: Mapping[str, Any]) -> str:
    """The run as text: Locust's rows, the lab's counts, the switchover, then each check."""
    lines = [f"{'type':<6}{'name':<22}{'requests':>10}{'failures':>10}{'req/s':>10}{'median ms':>11}"
             f"{'p95 ms':>9}"]
    for row in [*report["locust"]["rows"], {**report["locust"]["total"], "type": "", "name": "Aggregated"}]:
        lines.append(f"{row['type']:<6}{row['name']:<22}{row['requests']:>10}{row['failures']:>10}"
                     f"{row['rps']:>10.1f}{row['median_ms']:>11g}{row['p95_ms']:>9g}")
    lab = report["lab"]
    lines.append(f"lab: MTs captured {_pairs(lab['mts'])}; DLRs {_pairs(lab['dlrs'])}; "
                 f"proxy answers {_pairs(lab['proxy'])}")
    if report.get("mo"):
        mo = report["mo"]
        lines.append(f"MOs: {mo['pushed']} pushed, {mo['acked']} acknowledged, {mo['stored']} stored; "
                     f"lost {mo['missing']}, doubled {len(mo['doubled'])}, "
                     f"stored unacknowledged {len(mo['unacked_stored'])}")
    if report.get("conversations"):
        talk = report["conversations"]
        lines.append(f"conversations: {talk['customers']} customers, {len(talk['split'])} split over several "
                     f"interactions; replies {talk['replies']}, {len(talk['replies_missing'])} not in theirs")
    if report.get("dlr"):
        d = report["dlr"]
        lines.append(f"DLRs timed {d['matched']}, still awaited at the end {d['pending']}, "
                     f"events lost to lag {d['lagged']}")
    if report.get("failover"):
        fo = report["failover"]
        gap = "-" if fo["gap"] is None else f"{fo['gap']:.3f} s"
        bound = "-" if fo["expected_gap_at_most"] is None else f"{fo['expected_gap_at_most']:.3f} s"
        lines.append(f"failover: {fo['mode']} of {fo['node']}; gap {gap} (at most {bound}); requests failed "
                     f"in the gap {fo['failed_in_gap']}, in all {fo['failed']}")
    for name, ok in report["checks"].items():
        lines.append(f"  {'pass' if ok else 'FAIL'}  {name}")
    return "\n".join(lines)


def _pairs(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
