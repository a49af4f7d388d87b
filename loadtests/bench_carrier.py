"""``smslab bench carrier``: ``smslab simulate``'s offline world and the carrier model, beside bare SimPy.

A campaign of ``--messages`` MTs (1,000,000 by default) arrives at 50/s through one carrier capped at 60/s
(a long-tailed latency to the handset, a fixed DLR latency, 2 % failures). It runs three ways in the same
run:

1. through the whole offline world of ``smslab simulate`` (the embedded lab: each MT through the active
   node's SMS core, the broker, the carrier, its DLR through the proxy back to the pair), with the primary
   killed half way, so the run has one switchover;
2. through the carrier model alone (``CarrierNetwork``);
3. through a bare SimPy model, one process per message holding a ``simpy.Resource`` for 1/rate and then
   waiting out the same latency: the baseline.

Printed: each rate in messages per second of CPU and its ratio to the bare one (targets: at least 0.3 for
the whole world, issue 12 §5), the world's absolute time (target under 60 s for 1,000,000 on a 2-core
machine), and memory: the peak RSS of a fresh process after the whole campaign through the world against
one after a tenth of it (target at most 1.2: counters and histograms, no list per message).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import simpy

from loadtests.progress import Steps
from scenarios.simulate.report import figures
from scenarios.simulate.whatif import read_whatif
from scenarios.simulate.world import simulate
from sim.carrier.distributions import FixedDelay, LogNormalDelay
from sim.carrier.model import CarrierNetwork, Mt
from sim.carrier.settings import CarrierSettings, Outcome, SenderType
from sim.cliargs import positive_int, summary
from sim.core.types import DeliveryState

__all__ = ["TARGETS", "main"]

TARGETS = {"rate_ratio": 0.3, "seconds_per_million": 60.0, "memory_ratio": 1.2}
ARRIVALS_PER_S, CAP_PER_S = 50.0, 60.0
LATENCY = LogNormalDelay(2.0, 0.6, 120.0)
CARRIER = CarrierSettings("bench", ("+1",), rates=dict.fromkeys(SenderType, CAP_PER_S), latency=LATENCY,
                          dlr_latency=FixedDelay(0.5), queue_limit=10**9,
                          outcomes=(Outcome(DeliveryState.DELIVERED, 0.98),
                                    Outcome(DeliveryState.FAILED, 0.02)))
_KINDS = ("short_code", "long_code", "toll_free", "alphanumeric")
WORLD_CARRIER = {"name": "bench", "match": ["+1"], "rates": dict.fromkeys(_KINDS, CAP_PER_S),
                 "queue_limit": 10**9, "latency": {"distribution": "lognormal", "median": 2.0, "sigma": 0.6,
                                                   "maximum": 120.0},
                 "dlr_latency": {"distribution": "fixed", "seconds": 0.5},
                 "outcomes": [{"state": "delivered", "weight": 0.98}, {"state": "failed", "weight": 0.02}]}
_ROOT = Path(__file__).resolve().parents[1]


def model_run(messages: int, seed: int = 1) -> dict[str, Any]:
    """The campaign through ``CarrierNetwork``: CPU seconds and the run's statistics."""
    env = simpy.Environment()
    net = CarrierNetwork(env, [CARRIER], random.Random(seed))
    arrivals = random.Random(seed + 1)

    def campaign() -> Iterator[simpy.Event]:
        for n in range(messages):
            yield env.timeout(arrivals.expovariate(ARRIVALS_PER_S))
            net.submit(Mt(str(n), "+14155550100", "+14155550199"))

    began = time.process_time()
    env.process(campaign())
    env.run()
    return {"cpu_s": time.process_time() - began, "stats": net.stats.to_dict()}


def whatif_of(messages: int) -> dict[str, Any]:
    """The campaign as a what-if file of the embedded lab, with the primary killed half way."""
    duration = messages / ARRIVALS_PER_S + 300.0
    return {"lab": "default", "duration": duration, "seed": 1, "carriers": [WORLD_CARRIER],
            "traffic": {"campaigns": [{"name": "bench", "count": messages, "rate": ARRIVALS_PER_S,
                                       "arrivals": "poisson", "to": {"country": "+1", "size": 10_000},
                                       "classification": "National"}]},
            "events": [{"at": round(duration / 2), "do": "kill", "node": "primary"}]}


def world_run(messages: int) -> dict[str, Any]:
    """The campaign through ``smslab simulate``'s world: CPU seconds and its figures."""
    result = simulate(read_whatif(whatif_of(messages), "bench-carrier"))
    return {"cpu_s": result.cpu_s, "figures": figures(result)}


def bare_run(messages: int, seed: int = 1) -> float:
    """The same arrivals and service as one SimPy process per message on a ``Resource``: CPU seconds."""
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    rng, arrivals = random.Random(seed), random.Random(seed + 1)

    def message() -> Iterator[simpy.Event]:
        with server.request() as slot:
            yield slot
            yield env.timeout(1.0 / CAP_PER_S)
        yield env.timeout(LATENCY.draw(rng) + 0.5)

    def campaign() -> Iterator[simpy.Event]:
        for _ in range(messages):
            yield env.timeout(arrivals.expovariate(ARRIVALS_PER_S))
            env.process(message())

    began = time.process_time()
    env.process(campaign())
    env.run()
    return time.process_time() - began


def _peak_rss(messages: int) -> int:
    """The peak RSS in bytes of a fresh process that runs the campaign (Linux reports KiB)."""
    command = [sys.executable, "-m", "loadtests.bench_carrier", "--role", "memory",
               "--messages", str(messages)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=_ROOT)
    return int(json.loads(done.stdout)["peak_rss"])


def report(world: dict[str, Any], model: dict[str, Any], bare_cpu: float, messages: int,
           rss: tuple[int, int]) -> tuple[list[str], bool]:
    """The table and whether every target is met."""
    base = messages / max(bare_cpu, 1e-9)
    ours, alone = messages / max(world["cpu_s"], 1e-9), messages / max(model["cpu_s"], 1e-9)
    per_million = world["cpu_s"] * 1_000_000 / messages
    rows = [
        ("offline world MTs per CPU second", f"{ours:,.0f}", f"{base:,.0f}", ours / base, ">=",
         TARGETS["rate_ratio"]),
        ("carrier model alone, MTs per CPU second", f"{alone:,.0f}", f"{base:,.0f}", alone / base, "", None),
        ("world CPU seconds per 1,000,000 MTs", f"{per_million:.1f}", "", per_million, "<=",
         TARGETS["seconds_per_million"]),
        (f"world peak RSS after {messages:,} vs {messages // 10:,} MTs (MiB)", f"{rss[0] / 2**20:.1f}",
         f"{rss[1] / 2**20:.1f}", rss[0] / max(rss[1], 1), "<=", TARGETS["memory_ratio"]),
    ]
    lines = [f"{'metric':<52}{'ours':>12}{'bare SimPy':>12}{'value':>8}  {'target':<8}result"]
    passed = True
    for label, value, baseline, figure, op, target in rows:
        if target is None:
            lines.append(f"{label:<52}{value:>12}{baseline:>12}{figure:>8.2f}  {'':<8}(shown)")
            continue
        ok = figure >= target if op == ">=" else figure <= target
        passed = passed and ok
        lines.append(f"{label:<52}{value:>12}{baseline:>12}{figure:>8.2f}  {op + ' ' + str(target):<8}"
                     f"{'PASS' if ok else 'MISS'}")
    f = world["figures"]
    lines.append(f"(world: {int(f['dlr.delivered']):,} delivered, {int(f['dlr.failed']):,} failed, "
                 f"{int(f['lost']):,} lost, {int(f['switchovers'])} switchover, gap {f['gap_s']:.1f} s, "
                 f"takeover {f['takeover_s']:.1f} s; submit to DLR p50 {f['dlr_s.p50']:.2f} s, "
                 f"p99 {f['dlr_s.p99']:.2f} s)")
    return lines, passed


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab bench carrier", description=summary(__doc__))
    p.add_argument("--messages", type=positive_int, default=1_000_000,
                   help="MTs in the campaign (default 1,000,000)")
    p.add_argument("--role", choices=("memory",), help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met, 1 otherwise."""
    args = _parser().parse_args(argv)
    if args.role == "memory":
        world_run(args.messages)
        print(json.dumps({"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
        return 0
    if args.messages < 10:
        print("smslab bench carrier: --messages must be at least 10 (memory compares against a tenth)",
              file=sys.stderr)
        return 2
    steps = Steps("smslab bench carrier", 4)
    steps.step(f"{args.messages:,} MTs through the offline world of smslab simulate")
    world = world_run(args.messages)
    steps.step("the same through the carrier model alone")
    model = model_run(args.messages)
    steps.step("the same through a bare SimPy Resource model")
    bare = bare_run(args.messages)
    steps.step("peak RSS of the whole campaign through the world and of a tenth")
    rss = (_peak_rss(args.messages), _peak_rss(args.messages // 10))
    lines, passed = report(world, model, bare, args.messages, rss)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
