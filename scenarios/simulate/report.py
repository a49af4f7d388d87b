"""What ``smslab simulate`` prints: the summary table, the JSON document, the CSV time series, the verdicts.

The summary's figures (the names ``expect:`` takes):

- ``mt.requested`` MTs the campaigns asked for; ``mt.sent`` those the active node's core turned into
  requests; ``mt.not_sent`` those that found no running active node (killed, hung, mid-switchover);
  ``mt.refused`` those the core refused (no route, access control, invalid text); ``mt.accepted`` MT
  requests the brokers took; ``mt.throttled`` (and ``throttled``) those a carrier's cap refused;
- ``dlr.<state>`` DLRs stored on a node by state, ``dlr.stored`` all of them, ``dlr.late`` those stored more
  than ``late_after`` seconds after their MT; ``mo.sent``, ``mo.stored`` population MOs;
- ``given_up`` pushes a broker stopped retrying; ``unrecovered`` acknowledged MOs a switchover did not carry
  to the new active node; ``lost`` the two together; ``duplicated`` retried pushes a node recognised;
- ``gap_s`` the longest failover gap (first failed push to the first accepted after it, as
  ``smslab failover`` measures it); ``takeover_s`` the longest time from a fault on the active node (or the
  switchover button) to the backup holding the role; ``switchovers``; ``backlog`` the most pushes waiting
  for a retry at once;
- ``dlr_s.p50`` / ``p95`` / ``p99``: MT handed to the broker to DLR stored; ``mo_s.*``: the broker's first
  push of an MO to the MO stored.

The JSON holds no time of day, no path and no CPU time: the same file and seed give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from scenarios.simulate.tally import COLUMNS
from scenarios.simulate.whatif import Expectation
from scenarios.simulate.world import Result

__all__ = ["document", "figures", "summary_lines", "to_csv", "to_json", "verdicts"]

_STATES = ("delivered", "failed", "undeliverable", "expired")


def figures(result: Result) -> dict[str, float]:
    """The summary's figures by name (see the module docstring)."""
    c = result.tally.counts
    t = result.tally
    out: dict[str, float] = {
        "mt.requested": c["mt_requested"], "mt.sent": c["mt_sent"], "mt.not_sent": c["mt_not_sent"],
        "mt.refused": c["mt_refused"], "mt.accepted": c["mt_accepted"], "mt.throttled": c["throttled"],
    }
    out.update({f"dlr.{s}": c[f"dlr_{s}"] for s in _STATES})
    out.update({"dlr.stored": c["dlr_stored"], "dlr.late": c["dlr_late"], "mo.sent": c["mo_sent"],
                "mo.stored": c["mo_stored"], "given_up": c["given_up"], "unrecovered": result.unrecovered,
                "lost": c["given_up"] + result.unrecovered, "duplicated": result.duplicated,
                "throttled": c["throttled"], "gap_s": round(max(t.gaps, default=0.0), 6),
                "takeover_s": round(max(result.takeovers, default=0.0), 6),
                "switchovers": result.switchovers, "backlog": t.backlog_peak})
    for name, hist in (("dlr_s", t.dlr), ("mo_s", t.mo)):
        for p in ("p50", "p95", "p99"):
            out[f"{name}.{p}"] = round(hist.percentile(int(p[1:]) / 100), 6)
    return out


def verdicts(result: Result) -> list[tuple[Expectation, float | None, bool]]:
    """Each expectation of the file, the figure it names, and whether it holds."""
    values = figures(result)
    return [(e, values.get(e.metric), e.holds(values.get(e.metric))) for e in result.whatif.expect]


def document(result: Result) -> dict[str, Any]:
    """The whole result as plain data (``--json``)."""
    w = result.whatif
    return {
        "whatif": Path(w.source).name if w.source else "",
        "duration_s": w.duration,
        "seed": w.seed,
        "figures": figures(result),
        "latency": {"dlr_s": result.tally.dlr.to_dict(), "mo_s": result.tally.mo.to_dict()},
        "gaps_s": [round(g, 6) for g in result.tally.gaps],
        "takeovers_s": [round(t, 6) for t in result.takeovers],
        "expect": [{"metric": e.metric, "bounds": e.describe(), "value": v, "holds": ok}
                   for e, v, ok in verdicts(result)],
        "timeline": [{"t": at, "what": what, **fields} for at, what, fields in result.timeline],
    }


def to_json(result: Result) -> str:
    """The JSON document, indented, with a final newline."""
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"


def to_csv(result: Result) -> str:
    """The time series: one row per step (``COLUMNS``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(result.tally.table())
    return out.getvalue()


def _ms(seconds: float) -> str:
    return f"{seconds:.3f} s"


def summary_lines(result: Result) -> list[str]:
    """The summary table a user reads."""
    f = figures(result)
    w = result.whatif
    lines = [f"what-if {Path(w.source).name or '(inline)'}: {w.duration:g} s of the model in "
             f"{result.cpu_s:.1f} s of CPU (seed {w.seed if w.seed is not None else 'of each fake'})", ""]
    rows = [
        ("MTs requested / sent / not sent / refused", "{:,} / {:,} / {:,} / {:,}".format(
            *(int(f[k]) for k in ("mt.requested", "mt.sent", "mt.not_sent", "mt.refused")))),
        ("MT requests accepted / throttled", f"{int(f['mt.accepted']):,} / {int(f['mt.throttled']):,}"),
        ("DLRs stored (delivered / failed / undeliverable / expired)",
         "{:,} ({:,} / {:,} / {:,} / {:,})".format(
            *(int(f[k]) for k in ("dlr.stored", "dlr.delivered", "dlr.failed", "dlr.undeliverable",
                                  "dlr.expired")))),
        (f"DLRs late (over {w.late_after:g} s)", f"{int(f['dlr.late']):,}"),
        ("MOs sent / stored", f"{int(f['mo.sent']):,} / {int(f['mo.stored']):,}"),
        ("lost (given up + unrecovered)", f"{int(f['lost']):,} ({int(f['given_up']):,} + "
                                           f"{int(f['unrecovered']):,})"),
        ("duplicated (retries recognised)", f"{int(f['duplicated']):,}"),
        ("submit to DLR p50 / p95 / p99", " / ".join(_ms(f[f"dlr_s.{p}"]) for p in ("p50", "p95", "p99"))),
        ("MO push to stored p50 / p95 / p99", " / ".join(_ms(f[f"mo_s.{p}"]) for p in ("p50", "p95", "p99"))),
        ("switchovers / longest takeover", f"{int(f['switchovers'])} / {_ms(f['takeover_s'])}"),
        ("longest failover gap", _ms(f["gap_s"])),
        ("largest broker retry backlog", f"{int(f['backlog']):,} pushes"),
    ]
    width = max(len(label) for label, _ in rows)
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    checks = verdicts(result)
    if checks:
        lines.append("")
        lines += [f"expect {e.metric} {e.describe()}: {v if v is not None else '-'} "
                  f"{'PASS' if ok else 'FAIL'}" for e, v, ok in checks]
    return lines
