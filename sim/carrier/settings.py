"""The ``carriers:`` section of a lab or what-if file: one entry per carrier, read once, frozen.

Example, every key with its default::

    carriers:
      - name: uk
        match: ["+44"]                 # number prefixes ("+" optional); the first carrier matching wins
        rates: {short_code: 100, long_code: 1, toll_free: 3, alphanumeric: 10}   # messages/s per sender type
        service: fixed                 # fixed (1/rate per message) or exponential (mean 1/rate)
        over_cap: queue                # queue (wait for a slot) or throttle (refuse beyond `burst` seconds)
        burst: 1.0                     # seconds of messages the queue takes before throttling (throttle)
        queue_limit: 100000            # messages waiting at most (queue); beyond it, throttled
        latency: {distribution: fixed, seconds: 2.0}       # submit queue to handset (see distributions.py)
        dlr_latency: {distribution: fixed, seconds: 0.5}   # handset to the broker's DLR
        reachability: {offline: 0.0, retry: [30, 60, 300, 900, 3600], validity: 172800}
        outcomes:                      # delivered, failed, undeliverable, expired; weights sum to 1
          - {state: delivered, weight: 1.0}
        triggers: []                   # [{pattern: "0000$", state: failed, code: "err-1"}], checked first
        windows: []                    # [{kind: outage, start: 600, end: 900, mode: fail|queue},
                                       #  {kind: degraded, start: 0, end: 3600, factor: 4}]
                                       # a fail outage's DLRs report FAILED with `code` ("carrier outage")

The throughput caps are not public (they vary by country, by carrier and by the sender's registration):
the defaults above are our choice, of the order carriers publish for US traffic, and every one is a
setting. A number no carrier matches goes through ``DEFAULT_CARRIER``: no cap, 1 s to the handset,
every message delivered. Times in ``windows`` are seconds from the start of the run. A sender is a short
code (5 or 6 digits), toll-free (+1 8XX with XX one of 00, 33, 44, 55, 66, 77, 88), alphanumeric (any
letter), or else a long code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from sim.carrier.distributions import DelayModel, FixedDelay, read_delay
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader, unique
from sim.core.types import DeliveryState

__all__ = ["DEFAULT_CARRIER", "OUTCOME_STATES", "CarrierSettings", "Outcome", "OverCap", "Reachability",
           "SenderType", "Service", "Trigger", "Window", "read_carriers", "read_named_list", "sender_type"]


T = TypeVar("T")


class SenderType(Enum):
    """What kind of number an MT is sent from: each has its own throughput cap."""

    SHORT_CODE = "short_code"
    LONG_CODE = "long_code"
    TOLL_FREE = "toll_free"
    ALPHANUMERIC = "alphanumeric"


class OverCap(Enum):
    """What a carrier does with a message beyond its cap: queue it, or refuse it (the broker's throttle)."""

    QUEUE = "queue"
    THROTTLE = "throttle"


class Service(Enum):
    """How long one message holds a submit slot: exactly 1/rate, or exponential with that mean."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


#: The states a carrier's DLR may report. A message refused at submission by an outage window
#: (``Submitted.REFUSED``) is reported FAILED with the window's code; a throttled one never gets a DLR.
OUTCOME_STATES = ("delivered", "failed", "undeliverable", "expired")
DEFAULT_RATES = {SenderType.SHORT_CODE: 100.0, SenderType.LONG_CODE: 1.0, SenderType.TOLL_FREE: 3.0,
                 SenderType.ALPHANUMERIC: 10.0}
_TOLL_FREE = re.compile(r"\+?1?8(00|33|44|55|66|77|88)\d{7}")


@dataclass(frozen=True)
class Outcome:
    """A final state with its weight and the error code its DLR carries ("" for none)."""

    state: DeliveryState
    weight: float
    code: str = ""


@dataclass(frozen=True)
class Trigger:
    """A number pattern (``re.search``) that always gets ``state``, checked before the weights."""

    pattern: re.Pattern[str]
    state: DeliveryState
    code: str = ""


@dataclass(frozen=True)
class Reachability:
    """An offline handset is retried after each gap of ``retry`` in turn (the last gap repeating) while the
    next attempt still falls within ``validity`` seconds of submission; otherwise the message is EXPIRED at
    its last attempt."""

    offline: float = 0.0
    retry: tuple[float, ...] = (30.0, 60.0, 300.0, 900.0, 3600.0)
    validity: float = 172_800.0


@dataclass(frozen=True)
class Window:
    """A window of trouble: an outage (``mode`` fail or queue) or degraded latency (times ``factor``)."""

    kind: str
    start: float
    end: float
    mode: str = "fail"
    factor: float = 1.0
    code: str = "carrier outage"  # what the FAILED DLR of a message refused in a fail outage reports

    def covers(self, at: float) -> bool:
        """Whether ``at`` falls inside the window."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class CarrierSettings:
    """One carrier (see the module docstring for every field)."""

    name: str
    match: tuple[str, ...] = ()
    rates: Mapping[SenderType, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    service: Service = Service.FIXED
    over_cap: OverCap = OverCap.QUEUE
    burst: float = 1.0
    queue_limit: int = 100_000
    latency: DelayModel = field(default_factory=lambda: FixedDelay(2.0))
    dlr_latency: DelayModel = field(default_factory=lambda: FixedDelay(0.5))
    reachability: Reachability = Reachability()
    outcomes: tuple[Outcome, ...] = (Outcome(DeliveryState.DELIVERED, 1.0),)
    triggers: tuple[Trigger, ...] = ()
    windows: tuple[Window, ...] = ()

    def matches(self, number: str) -> bool:
        """Whether ``number`` starts with one of the carrier's prefixes (a "+" on either side is ignored)."""
        bare = number.lstrip("+")
        return any(bare.startswith(prefix.lstrip("+")) for prefix in self.match)


#: Where a number no carrier matches goes: no cap, 1 s to the handset, always delivered.
DEFAULT_CARRIER = CarrierSettings("default", rates=dict.fromkeys(SenderType, math.inf),
                                  latency=FixedDelay(1.0))


def sender_type(sender: str) -> SenderType:
    """The kind of number ``sender`` is (see the module docstring)."""
    if any(ch.isalpha() for ch in sender):
        return SenderType.ALPHANUMERIC
    digits = sender.lstrip("+")
    if digits.isdigit() and 5 <= len(digits) <= 6:
        return SenderType.SHORT_CODE
    if _TOLL_FREE.fullmatch(sender):
        return SenderType.TOLL_FREE
    return SenderType.LONG_CODE


def read_carriers(data: Any, path: str = "carriers", source: str = "") -> tuple[CarrierSettings, ...]:
    """Read the ``carriers`` list; every problem at once.

    Raises:
        ConfigError: each problem with its path, value and reason.
    """
    return read_named_list(data, path, source, _carrier, "carriers")


def read_named_list(data: Any, path: str, source: str, read_one: Callable[[Reader], T],
                    what: str) -> tuple[T, ...]:
    """A list of named entries (``carriers``, ``populations``): each read by ``read_one``, names unique.

    Raises:
        ConfigError: each problem with its path, value and reason.
    """
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigError([Problem(path, data, f"must be a list of {what}")], source)
    r = Reader({path: data}, "")
    entries = tuple(read_one(entry) for entry in r.children(path))
    unique(r.problems, [(f"{path}[{i}].name", getattr(e, "name", "")) for i, e in enumerate(entries)], what)
    r.raise_if_problems(source)
    return entries


def _carrier(r: Reader) -> CarrierSettings:
    rates_r = r.child("rates")
    rates = {t: rates_r.number(t.value, DEFAULT_RATES[t], minimum=0.0) for t in SenderType}
    for t, rate in rates.items():
        if rate == 0:
            rates_r.problem(t.value, rate, "must be above 0 (a carrier sending nothing is an outage window)")
    rates_r.done()
    match = r.strings("match", ())
    if not match:
        r.problem("match", r.data.get("match"), "must list at least one number prefix, e.g. ['+44']")
    for i, prefix in enumerate(match):
        if not re.fullmatch(r"\+?\d+", prefix):
            r.problem(f"match[{i}]", prefix, "must be a number prefix: digits, with an optional +")
    settings = CarrierSettings(
        name=r.text("name", allow_empty=False), match=match, rates=rates,
        service=r.choice("service", Service, Service.FIXED),
        over_cap=r.choice("over_cap", OverCap, OverCap.QUEUE),
        burst=r.number("burst", 1.0, minimum=0.0), queue_limit=r.integer("queue_limit", 100_000, minimum=1),
        latency=read_delay(r.child("latency", None), 2.0),
        dlr_latency=read_delay(r.child("dlr_latency", None), 0.5),
        reachability=_reachability(r.child("reachability")), outcomes=_outcomes(r),
        triggers=tuple(_trigger(t) for t in r.children("triggers")),
        windows=tuple(_window(w) for w in r.children("windows")))
    r.done()
    return settings


def _reachability(r: Reader) -> Reachability:
    retry = (r.custom("retry", _seconds_list) if r.has("retry") else None) or Reachability.retry
    out = Reachability(r.number("offline", 0.0, minimum=0.0, maximum=1.0), retry,
                       r.number("validity", Reachability.validity, minimum=0.0))
    r.done()
    return out


def _seconds_list(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in value):
        raise ValueError("must be a non-empty list of positive seconds")
    return tuple(float(v) for v in value)


def _state(r: Reader, key: str) -> DeliveryState:
    text = r.text(key, allow_empty=False)
    if text not in OUTCOME_STATES:
        r.problem(key, text, f"must be one of {', '.join(OUTCOME_STATES)}")
        return DeliveryState.FAILED
    return DeliveryState(text)


def _outcomes(r: Reader) -> tuple[Outcome, ...]:
    if not r.has("outcomes"):
        return CarrierSettings.outcomes
    outcomes = []
    for o in r.children("outcomes"):
        outcomes.append(Outcome(_state(o, "state"), o.number("weight", minimum=0.0), o.text("code", "")))
        o.done()
    total = sum(o.weight for o in outcomes)
    if not outcomes or abs(total - 1.0) > 1e-9:
        r.problem("outcomes", round(total, 12), "must have weights that sum to 1")
    return tuple(outcomes)


def _trigger(r: Reader) -> Trigger:
    out = Trigger(r.regex("pattern"), _state(r, "state"), r.text("code", ""))
    r.done()
    return out


def _window(r: Reader) -> Window:
    kind = r.text("kind", allow_empty=False)
    start, end = r.number("start", minimum=0.0), r.number("end", minimum=0.0)
    if end <= start:
        r.problem("end", end, f"must be after start ({start:g})")
    window = Window(kind, start, end)
    if kind == "outage":
        mode = r.text("mode", "fail")
        if mode not in ("fail", "queue"):
            r.problem("mode", mode, "must be fail or queue")
        window = Window(kind, start, end, mode=mode, code=r.text("code", "carrier outage"))
    elif kind == "degraded":
        window = Window(kind, start, end, factor=r.number("factor", minimum=1.0))
    else:
        r.problem("kind", kind, "must be outage or degraded")
        r.used.update(str(key) for key in r.data)
    r.done()
    return window
