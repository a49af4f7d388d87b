"""What-if files: the lab to run, the traffic, the events, the duration, the seed and the expectations.

The format, in one place (the examples are under ``scenarios/whatif/``)::

    lab: default              # the lab: a named lab (default) or a lab file (relative to this file);
                              # `extends: default` says the same. Any lab section written here (carriers,
                              # populations, cic, proxy, fakes, brokers, sms, ...) is merged over the lab's,
                              # as `extends` merges.
    duration: 1800            # seconds of virtual time (required)
    seed: 7                   # every fake's seed for this run (default: each fake's own `seed`)
    traffic:
      campaigns:              # MTs an agent or campaign asks the active node to send
        - name: promo
          count: 200000       # MTs
          rate: 50            # per second
          arrivals: even      # even (every 1/rate s) or poisson
          start: 0            # seconds from the start of the run
          to: {country: "+44", size: 10000}   # recipients: Faker numbers of the country (see populations)
          texts: {gsm: 0.8, long: 0.1, unicode: 0.1}   # short GSM-7, multipart GSM-7, UCS-2 with emoji
          classification: International       # the sender's classification (outbound access control)
      populations: []         # handsets that send MOs: as a lab file's `populations` (added to them)
    events:                   # at a time, do one thing (times in seconds from the start)
      - {at: 600, do: kill, node: primary}            # kill | hang | slow | partition | isolate a node
      - {at: 900, do: restore, node: primary}
      - {at: 1200, do: switchover}                    # the Switchover Control Panel's button
      - {at: 300, do: carrier-outage, carrier: uk, until: 420, mode: fail}   # fail or queue
      - {at: 60, do: member-offline, node: backup, until: 120}   # the proxy's farm member set Unavailable
    late_after: 60            # a DLR stored more than this many seconds after its MT is late
    step: 10                  # seconds per row of the time series (default: the duration / 600, at least 1)
    expect:                   # each must hold, or the run exits 1; a number means equal
      lost: 0
      gap_s: {max: 30}
      dlr.delivered: {min: 1000}

Times are the model's seconds: what the lab's settings say before any ``time_scale`` (a fake's DLR delay
and retry interval, the switchover timers). The proxy has no time scale of its own: its health interval,
its probe timeout and its time-out are the live lab's wall seconds, so they are divided by the pair's
``time_scale`` here, and an offline run of a lab scaled for speed is the live run in the model's seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.lab.check import CheckedLab, check_lab
from scenarios.lab.spec import NODE_NAMES
from scenarios.paths import NAMED_LABS
from sim.carrier.population import read_texts
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader, unique
from sim.labfile import EMBEDDED, read_lab, read_yaml

__all__ = ["EVENT_KINDS", "METRICS", "NODE_FAULTS", "Campaign", "Expectation", "WhatIf", "WhatIfEvent",
           "load_whatif", "read_whatif", "whatif_format"]

WHATIF_KEYS = ("lab", "extends", "duration", "seed", "traffic", "events", "expect", "late_after", "step")
NODE_FAULTS = ("kill", "hang", "slow", "partition", "isolate")
EVENT_KINDS = (*NODE_FAULTS, "restore", "switchover", "carrier-outage", "member-offline")
#: What ``expect`` may name: the summary's figures (see ``scenarios.simulate.report``).
METRICS = ("mt.requested", "mt.sent", "mt.not_sent", "mt.refused", "mt.accepted", "mt.throttled",
           "dlr.delivered", "dlr.failed", "dlr.undeliverable", "dlr.expired", "dlr.stored", "dlr.late",
           "mo.sent", "mo.stored", "lost", "given_up", "unrecovered", "duplicated", "throttled",
           "gap_s", "takeover_s", "backlog", "dlr_s.p50", "dlr_s.p95", "dlr_s.p99", "mo_s.p50", "mo_s.p95",
           "mo_s.p99", "switchovers")


@dataclass(frozen=True)
class Campaign:
    """MTs an agent or a campaign asks the active node to send (see the module docstring)."""

    name: str
    count: int
    rate: float
    arrivals: str = "even"
    start: float = 0.0
    country: str = "1"
    size: int = 1000
    texts: tuple[tuple[str, float], ...] = (("gsm", 1.0),)
    classification: str = ""


@dataclass(frozen=True)
class WhatIfEvent:
    """One thing done at a time: a node fault or restore, a switchover, a carrier outage, a member offline."""

    at: float
    do: str
    node: str = ""
    carrier: str = ""
    until: float | None = None
    mode: str = "fail"


@dataclass(frozen=True)
class Expectation:
    """A figure of the summary and the bounds it must keep (``equal``, or ``low``/``high``)."""

    metric: str
    equal: float | None = None
    low: float | None = None
    high: float | None = None

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` keeps the bounds (a figure the run did not produce keeps none)."""
        if value is None:
            return False
        if self.equal is not None and value != self.equal:
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        """The bounds in words, e.g. ``<= 30``."""
        if self.equal is not None:
            return f"== {self.equal:g}"
        parts = ([f">= {self.low:g}"] if self.low is not None else []) + (
            [f"<= {self.high:g}"] if self.high is not None else [])
        return " and ".join(parts)


@dataclass(frozen=True)
class WhatIf:
    """A what-if file, read and checked in full."""

    source: str
    lab: CheckedLab
    duration: float
    seed: int | None = None
    campaigns: tuple[Campaign, ...] = ()
    events: tuple[WhatIfEvent, ...] = ()
    expect: tuple[Expectation, ...] = ()
    late_after: float = 60.0
    step: float = 1.0


def whatif_format() -> str:
    """The format as this module's docstring gives it, from its example on (``smslab simulate --help``)."""
    doc = __doc__ or ""
    return doc[doc.index("    lab:"):] if "    lab:" in doc else doc


def load_whatif(path: str | Path, over: Mapping[str, Any] | None = None) -> WhatIf:
    """Read the what-if file at ``path``; ``over`` holds values set by path (``--sweep``), e.g.
    ``{"traffic.campaigns[0].rate": 20}``.

    Raises:
        ConfigError: every problem of the file and of its lab, each with its path, value and reason.
    """
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        problem = Problem("(top)", data, "must be a mapping of the what-if's keys (smslab simulate --help)")
        raise ConfigError([problem], str(path))
    data = dict(data)
    for key, value in (over or {}).items():
        data = set_path(data, key, value, str(path))
    return read_whatif(data, str(path))


def set_path(data: Mapping[str, Any], path: str, value: Any, source: str = "") -> dict[str, Any]:
    """A copy of ``data`` with the value at a dotted path (``a.b[0].c``) set; missing mappings are made.

    Raises:
        ConfigError: the path runs through something that is not a mapping or a list long enough.
    """
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            keys.append(name)
        for index in filter(None, rest.replace("]", "").split("[")) if rest else ():
            if not index.isdigit():
                raise ConfigError([Problem(path, value, f"{index!r} is not a list index")], source)
            keys.append(int(index))
    out: dict[str, Any] = _set(data, keys, value, path, source)
    return out


def _set(node: Any, keys: list[str | int], value: Any, path: str, source: str) -> Any:
    if not keys:
        return value
    key, rest = keys[0], keys[1:]
    if isinstance(key, int):
        if not isinstance(node, list) or key >= len(node):
            raise ConfigError([Problem(path, value, f"has no item [{key}] to set")], source)
        copy = list(node)
        copy[key] = _set(node[key], rest, value, path, source)
        return copy
    if node is None:
        node = {}
    if not isinstance(node, Mapping):
        raise ConfigError([Problem(path, value, f"runs through {node!r}, which is not a mapping")], source)
    out = dict(node)
    out[key] = _set(node.get(key), rest, value, path, source)
    return out


def read_whatif(data: Mapping[str, Any], source: str = "") -> WhatIf:
    """Check a parsed what-if file and its lab; every problem at once.

    Raises:
        ConfigError: each problem with its path, value and reason.
    """
    r = Reader(data)
    lab_problems: list[Problem] = []
    lab: CheckedLab | None = None
    try:
        lab = check_lab(read_lab(_lab_data(r), source, named=NAMED_LABS))
    except ConfigError as exc:
        lab_problems = list(exc.problems)
    duration = r.number("duration", minimum=0.0)
    if r.has("duration") and not duration > 0:
        r.problem("duration", duration, "must be above 0 seconds")
    seed = r.integer("seed") if r.has("seed") else None
    traffic = r.child("traffic", None)
    campaigns = tuple(_campaign(c) for c in traffic.children("campaigns")) if traffic.has("campaigns") else ()
    traffic.raw("populations", None)
    traffic.done()
    names = [(f"traffic.campaigns[{i}].name", c.name) for i, c in enumerate(campaigns)]
    unique(r.problems, names, "campaigns")
    events = tuple(_event(e) for e in r.children("events")) if r.has("events") else ()
    expect = _expectations(r.child("expect", None))
    late_after = r.number("late_after", 60.0, minimum=0.0)
    step = r.number("step", max(1.0, (duration or 0.0) / 600), minimum=0.001)
    r.done(*(key for key in data if key not in WHATIF_KEYS))
    if math.isfinite(duration or math.nan) and duration:
        _check_times(r, campaigns, events, duration)
    _check_names(r, lab, events)
    problems = [*r.problems, *lab_problems]
    if problems:
        raise ConfigError(problems, source)
    assert lab is not None
    return WhatIf(source, lab, float(duration), seed, campaigns, events, expect, late_after, step)


def _lab_data(r: Reader) -> dict[str, Any]:
    """The lab sections of the what-if, with ``extends`` set to the lab it names."""
    if r.has("lab") and r.has("extends"):
        r.problem("extends", r.data["extends"], "says the same as `lab`: give one of them")
    parent = r.text("lab", "") or r.text("extends", "") or EMBEDDED
    lab = {key: value for key, value in r.data.items() if key not in WHATIF_KEYS}
    traffic = r.data.get("traffic")
    if isinstance(traffic, Mapping) and isinstance(traffic.get("populations"), list):
        lab["populations"] = [*(lab.get("populations") or []), *traffic["populations"]]
    return {"extends": parent, **lab}


def _campaign(r: Reader) -> Campaign:
    to = r.child("to", None)
    country = to.text("country", "1").lstrip("+")
    if not country.isdigit() or not 1 <= len(country) <= 3:
        to.problem("country", country, "must be a country code of 1 to 3 digits, e.g. +44")
    size = to.integer("size", 1000, minimum=1)
    to.done()
    rate = r.number("rate")
    if r.has("rate") and isinstance(rate, float) and not rate > 0:
        r.problem("rate", rate, "must be above 0 MTs per second")
    arrivals = r.text("arrivals", "even")
    if arrivals not in ("even", "poisson"):
        r.problem("arrivals", arrivals, "must be even or poisson")
    texts = read_texts(r.child("texts", None)) if r.has("texts") else Campaign.texts
    out = Campaign(r.text("name", allow_empty=False), r.integer("count", minimum=1), float(rate or 0.0),
                   arrivals, r.number("start", 0.0, minimum=0.0), country, size, texts,
                   r.text("classification", ""))
    r.done()
    return out


def _event(r: Reader) -> WhatIfEvent:
    do = r.text("do", allow_empty=False)
    if do not in EVENT_KINDS:
        r.problem("do", do, f"must be one of {', '.join(EVENT_KINDS)}")
    needs_node = do in (*NODE_FAULTS, "restore", "member-offline")
    node = r.text("node", allow_empty=False) if needs_node else ""
    carrier = r.text("carrier", allow_empty=False) if do == "carrier-outage" else ""
    mode = r.text("mode", "fail") if do == "carrier-outage" else "fail"
    if mode not in ("fail", "queue"):
        r.problem("mode", mode, "must be fail or queue")
    until = r.number("until", minimum=0.0) if r.has("until") or do == "carrier-outage" else None
    out = WhatIfEvent(r.number("at", minimum=0.0), do, node, carrier, until, mode)
    if until is not None and until <= out.at:
        r.problem("until", until, f"must be after `at` ({out.at:g})")
    r.done()
    return out


def _expectations(r: Reader) -> tuple[Expectation, ...]:
    out = []
    for key, value in r.data.items():
        r.used.add(key)
        name = str(key)
        if name not in METRICS:
            r.problem(name, value, f"is not a figure of the summary ({', '.join(METRICS)})")
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(Expectation(name, equal=float(value)))
            continue
        bounds = r.child(name)
        low = bounds.number("min", None) if bounds.has("min") else None
        high = bounds.number("max", None) if bounds.has("max") else None
        if low is None and high is None:
            r.problem(name, value, "must be a number or a mapping with min and/or max")
        bounds.done()
        out.append(Expectation(name, low=low, high=high))
    return tuple(out)


def _check_times(r: Reader, campaigns: tuple[Campaign, ...], events: tuple[WhatIfEvent, ...],
                 duration: float) -> None:
    for i, campaign in enumerate(campaigns):
        if campaign.start >= duration:
            r.problem(f"traffic.campaigns[{i}].start", campaign.start,
                      f"must be before the end ({duration:g} s)")
    for i, event in enumerate(events):
        if event.at >= duration:
            r.problem(f"events[{i}].at", event.at, f"must be before the end ({duration:g} s)")
        if event.until is not None and event.until > duration:
            r.problem(f"events[{i}].until", event.until, f"must be at most the duration ({duration:g} s)")


def _check_names(r: Reader, lab: CheckedLab | None, events: tuple[WhatIfEvent, ...]) -> None:
    """Nodes are always known; carriers only once the lab has been read (``lab`` is None when it failed)."""
    carriers = {c.name for fake in lab.fakes.values() for c in fake.settings.carriers} if lab else set()
    for i, event in enumerate(events):
        if event.node and event.node not in NODE_NAMES:
            r.problem(f"events[{i}].node", event.node,
                      f"must be a node of the pair ({', '.join(NODE_NAMES)})")
        if event.carrier and lab is not None and event.carrier not in carriers:
            known = ", ".join(sorted(carriers)) or "none: the lab has no carriers section"
            r.problem(f"events[{i}].carrier", event.carrier, f"must be a carrier of the lab ({known})")
