"""``smslab simulate --plot DIR``: PNG plots of a run (matplotlib's Agg backend: no display needed).

Four files: ``throughput.png`` (MTs accepted, DLRs and MOs stored per second, each switchover marked),
``backlog.png`` (pushes waiting for a retry, the longest carrier submit queue), ``latency.png`` (the
distribution of submit-to-DLR times, from the run's histogram) and ``dlr_states.png`` (DLRs by state).
"""

from __future__ import annotations

from pathlib import Path

from scenarios.simulate.report import figures
from scenarios.simulate.world import Result
from sim.carrier.stats import BUCKETS_PER_DECADE

__all__ = ["PLOTS", "write_plots"]

PLOTS = ("throughput.png", "backlog.png", "latency.png", "dlr_states.png")


def write_plots(result: Result, folder: str | Path) -> list[Path]:
    """Write the plots into ``folder`` (made when missing); the files written."""
    import matplotlib  # noqa: PLC0415 - heavy; only when plots are asked for

    matplotlib.use("Agg")  # before pyplot: a file backend, whatever the machine has
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after the backend is chosen

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = result.tally.table()
    step = result.tally.step
    t = [row[0] for row in rows]
    series = {name: [row[i] for row in rows] for i, name in enumerate(
        ("t", "mt_sent", "mt_accepted", "throttled", "dlr_stored", "mo_stored", "push_failed",
         "retry_backlog", "carrier_backlog_s", "active"))}
    promotes = [at for at, what, _f in result.timeline if what == "promote"]
    written = []

    fig, ax = plt.subplots(figsize=(9, 4))
    for name, label in (("mt_accepted", "MTs accepted"), ("dlr_stored", "DLRs stored"),
                        ("mo_stored", "MOs stored"), ("push_failed", "pushes failed")):
        ax.plot(t, [v / step for v in series[name]], label=label)
    for at in promotes:
        ax.axvline(at, color="red", linestyle="--", linewidth=1)
    ax.set(xlabel="seconds", ylabel="per second", title="Throughput (red: switchover)")
    ax.legend(loc="upper right")
    written.append(_save(fig, out / PLOTS[0], plt))

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, series["retry_backlog"], label="pushes waiting for a retry")
    ax.set(xlabel="seconds", ylabel="pushes", title="Backlogs")
    twin = ax.twinx()
    twin.plot(t, series["carrier_backlog_s"], color="tab:orange", label="longest carrier queue (s)")
    twin.set_ylabel("seconds of traffic queued")
    for at in promotes:
        ax.axvline(at, color="red", linestyle="--", linewidth=1)
    ax.legend(loc="upper left")
    twin.legend(loc="upper right")
    written.append(_save(fig, out / PLOTS[1], plt))

    fig, ax = plt.subplots(figsize=(9, 4))
    buckets = sorted(result.tally.dlr.buckets.items())
    ax.bar([10 ** ((b + 0.5) / BUCKETS_PER_DECADE) for b, _ in buckets], [n for _, n in buckets],
           width=[10 ** ((b + 1) / BUCKETS_PER_DECADE) - 10 ** (b / BUCKETS_PER_DECADE) for b, _ in buckets])
    if buckets:
        ax.set_xscale("log")
    ax.set(xlabel="seconds from submit to DLR stored", ylabel="DLRs", title="DLR latency")
    written.append(_save(fig, out / PLOTS[2], plt))

    fig, ax = plt.subplots(figsize=(6, 4))
    f = figures(result)
    states = ("delivered", "failed", "undeliverable", "expired")
    ax.bar(states, [f[f"dlr.{s}"] for s in states])
    ax.set(ylabel="DLRs", title="DLR states")
    written.append(_save(fig, out / PLOTS[3], plt))
    return written


def _save(fig, path: Path, plt) -> Path:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
