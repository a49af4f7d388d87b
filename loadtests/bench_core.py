"""``smslab bench core``: segmentation and routing throughput beside baselines, in one run.

Absolute rates on a shared machine are noise, so each row compares our code with a straightforward
implementation measured on the same inputs in the same process, and prints the ratio. The naive segmenter
walks the text one character at a time, appending to the current part until the next character would not fit
(the way most hand-written counters do it). Routing has no naive rival worth the name: its row compares
the router with the bare work it cannot avoid (the compiled regexes tried in order, no decision objects),
so the ratio shows the router's overhead.
Target: segmentation at least 2x its baseline.

``--http`` measures instead what the HTTP hop to a served core costs a node (``loadtests.core_http_hop``).
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence

from sim.cliargs import positive_float, positive_int, summary
from sim.core import gsm
from sim.core.routing import (
    Destination,
    DestinationKind,
    FieldType,
    InboundRoute,
    route_inbound,
)
from sim.core.segmentation import segment

__all__ = ["main", "naive_segment_count", "sample_texts"]

SEED = 20261123  # inputs are reproducible from run to run
SEGMENTATION_TARGET = 2.0


def sample_texts(count: int, rng: random.Random) -> list[str]:
    """A mix like real traffic: mostly short GSM-7, some long, some with escapes, some UCS-2 and emoji."""
    words = ["order", "ready", "pickup", "your", "code", "is", "thanks", "reply", "STOP", "to", "opt", "out",
             "delivery", "window", "10:00-12:00", "café", "Straße", "€5", "[ref]", "naïve", "😀", "Привет"]
    texts = []
    for _ in range(count):
        n = rng.choice([5, 8, 12, 30, 45, 80])
        pool = words if rng.random() < 0.3 else words[:16]
        texts.append(" ".join(rng.choice(pool) for _ in range(n)))
    return texts


def naive_segment_count(text: str) -> int:
    """The baseline: classify and fill parts one character at a time."""
    is_gsm = all(c in gsm.BASIC or c in gsm.EXTENSION for c in text)
    single, concat = (160, 153) if is_gsm else (70, 67)
    costs = [(2 if c in gsm.EXTENSION else 1) if is_gsm else (2 if ord(c) > 0xFFFF else 1) for c in text]
    if sum(costs) <= single:
        return 1
    parts, current, used = [], "", 0
    for char, cost in zip(text, costs, strict=True):
        if used + cost > concat:
            parts.append(current)
            current, used = "", 0
        current += char
        used += cost
    parts.append(current)
    return len(parts)


def _rate(fn: Callable[[], object], items: int, min_seconds: float) -> float:
    """Items per second of ``fn`` (``items`` inputs a call), run for at least ``min_seconds``."""
    rounds, start = 0, time.perf_counter()
    while True:
        fn()
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return rounds * items / elapsed


def _compare(ours: Callable[[], object], base: Callable[[], object], items: int,
             seconds: float) -> tuple[float, float]:
    """Best rate of each over three alternating rounds, so a noisy neighbour hurts both alike."""
    best_ours = best_base = 0.0
    for _ in range(3):
        best_ours = max(best_ours, _rate(ours, items, seconds / 3))
        best_base = max(best_base, _rate(base, items, seconds / 3))
    return best_ours, best_base


def _routes() -> tuple[list[InboundRoute], list[tuple[str, str, str]]]:
    specs = [("Body", r"(?i).*\b(stop|unsubscribe)\b.*"), ("ANI", r"\+?1?317\d{7}"),
             ("ANI", r"\+?1?212\d{7}"), ("DNIS", r"80055501\d\d"), ("Body", r"(?i).*refund.*"),
             ("DNIS", r"313131")]
    routes = [InboundRoute(FieldType(t), re.compile(p, re.DOTALL if t == "Body" else 0),
                           Destination(DestinationKind.QUEUE, f"q{i}")) for i, (t, p) in enumerate(specs)]
    return routes, specs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; 1 when segmentation is under its target."""
    parser = argparse.ArgumentParser(prog="smslab bench core", description=summary(__doc__))
    parser.add_argument("--messages", type=positive_int, default=5000, help="distinct inputs per round")
    parser.add_argument("--seconds", type=positive_float, default=1.5,
                        help="time per contender and measurement")
    parser.add_argument("--http", action="store_true",
                        help="instead: MOs through a node with the core in process beside one with the core "
                             "served over HTTP (smslab serve core); --messages per round (default 5000)")
    args = parser.parse_args(argv)
    if args.http:
        from loadtests.core_http_hop import run_http  # noqa: PLC0415 - the node and aiohttp only for this mode

        return run_http(args.messages)
    rng = random.Random(SEED)
    texts = sample_texts(args.messages, rng)
    ours = [len(segment(t).segments) for t in texts]
    assert ours == [naive_segment_count(t) for t in texts], "baseline and core disagree on part counts"

    seg_ours, seg_naive = _compare(lambda: [segment(t) for t in texts],
                                   lambda: [naive_segment_count(t) for t in texts], len(texts), args.seconds)

    routes, specs = _routes()
    fields = {"ANI": 0, "DNIS": 1, "Body": 2}
    msgs = [(f"+1{rng.choice(['317', '212', '415'])}{rng.randrange(10**7):07d}",
             rng.choice(["8005550100", "313131", "8005550199"]), t) for t in texts]

    bare = [(fields[kind], route.pattern.fullmatch) for (kind, _), route in zip(specs, routes, strict=True)]

    def bare_route() -> None:
        for msg in msgs:
            for index, fullmatch in bare:
                if fullmatch(msg[index]):
                    break

    default = Destination(DestinationKind.CHAT)
    route_ours, route_bare = _compare(lambda: [route_inbound(routes, default, a, d, b) for a, d, b in msgs],
                                      bare_route, len(msgs), args.seconds)

    print(f"smslab bench core: {len(texts)} messages (seed {SEED}), >= {args.seconds:g} s per measurement")
    print(f"{'':<16}{'smslab msg/s':>14}{'baseline msg/s':>16}{'ratio':>8}{'target':>8}  baseline")
    rows = [("segmentation", seg_ours, seg_naive, SEGMENTATION_TARGET, "naive per-character"),
            ("inbound routing", route_ours, route_bare, None, "bare regex loop")]
    failed = False
    for name, ours_rate, base_rate, target, what in rows:
        ratio = ours_rate / base_rate
        mark = f">={target:g}x" if target else "-"
        print(f"{name:<16}{ours_rate:>14,.0f}{base_rate:>16,.0f}{ratio:>7.2f}x{mark:>8}  {what}")
        failed |= target is not None and ratio < target
    print("result: " + ("FAIL: segmentation under target" if failed else "ok"))
    return 1 if failed else 0
