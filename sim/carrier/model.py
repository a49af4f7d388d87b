"""The carrier network: what happens to an MT between the broker and the handset, on a SimPy clock.

``CarrierNetwork(env, carriers, rng, on_dlr)`` takes each MT a broker accepted (``submit``) and, on the
environment's clock:

1. picks the carrier by the recipient's prefix (``DEFAULT_CARRIER`` when none matches);
2. passes it through the carrier's submit queue for the sender's type: one slot every 1/rate seconds
   (or an exponential time with that mean), so traffic over the cap waits, or with ``over_cap: throttle``
   is refused beyond ``burst`` seconds of backlog (``submit`` answers ``THROTTLED`` at once, for the fake
   to answer with its broker's throttle error); an outage window refuses (``mode: fail``: ``submit``
   answers ``REFUSED``, the broker keeps the message and its DLR reports FAILED with the window's code
   after the DLR latency) or holds everything until it ends (``mode: queue``);
3. draws the outcome (triggers by number first, then the weights) and, per part, the latency to the
   handset (times the factor of a degraded window); an offline handset (``reachability.offline``) is
   retried on the retry schedule until the validity period runs out, and the message then EXPIRES;
4. once every part is final (parts arrive in any order; any part not delivered decides the state), draws
   the DLR latency and calls ``on_dlr(mt, state, code)``.

Each step is a callback on a ``simpy`` timeout: no process and no list per message, so a million MTs cost
counters and histograms only (``RunStats``). Time and randomness come from the environment and the
``random.Random`` passed in: the same seed gives the same run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any

import simpy

from sim.carrier.settings import (
    DEFAULT_CARRIER,
    CarrierSettings,
    OverCap,
    SenderType,
    Service,
    Window,
    sender_type,
)
from sim.carrier.stats import RunStats
from sim.core.types import DeliveryState

__all__ = ["CarrierNetwork", "Mt", "Submitted"]


class Submitted(Enum):
    """What a carrier answers when a broker hands it an MT."""

    ACCEPTED = "accepted"
    THROTTLED = "throttled"  # over the cap with ``over_cap: throttle``, or the queue is full
    REFUSED = "refused"  # an outage window with ``mode: fail``


@dataclass(frozen=True, slots=True)  # slots: one object per MT in flight, not two (the GC sees fewer)
class Mt:
    """An MT as the carrier sees it: the broker's id, who it goes to, who sends it, how many parts.

    ``context`` is the caller's own, handed back untouched with the DLR (a live fake keeps there what it
    needs to build its DR), so the network holds no table of its own per message.
    """

    id: str
    recipient: str
    sender: str = ""
    parts: int = 1
    context: Any = field(default=None, compare=False)


OnDlr = Callable[[Mt, DeliveryState, str], None]
#: Senders whose type a network remembers before it starts afresh (a broker account has a handful).
_KINDS_KEPT = 1024


def _call(then: Callable[..., None], args: tuple[Any, ...], _event: simpy.Event) -> None:
    then(*args)


class _Queue:
    """One submit queue (a carrier and a sender type): when its next slot is free."""

    __slots__ = ("free_at", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.free_at = 0.0


class _Delivery:
    """One MT in flight after the submit queue: its parts still to land and the state so far."""

    __slots__ = ("carrier", "code", "mt", "pending", "state", "submitted")

    def __init__(self, mt: Mt, carrier: CarrierSettings, state: DeliveryState, code: str,
                 submitted: float) -> None:
        self.mt, self.carrier, self.state, self.code = mt, carrier, state, code
        self.pending = mt.parts
        self.submitted = submitted


class CarrierNetwork:
    """Every carrier of a run, on one environment.

    Args:
        env: the SimPy environment whose clock is the run's (seconds).
        carriers: the carriers, in matching order.
        rng: the run's random source.
        on_dlr: called with each MT's final state and error code when its DLR reaches the broker.
    """

    def __init__(self, env: simpy.Environment, carriers: Sequence[CarrierSettings], rng: random.Random,
                 on_dlr: OnDlr | None = None) -> None:
        self.env = env
        self.carriers = tuple(carriers)
        self.rng = rng
        self.on_dlr = on_dlr
        self.stats = RunStats()
        self._queues: dict[tuple[str, SenderType], _Queue] = {}
        # Per MT, the carrier and the sender's type are looked up twice (``admits``, then ``submit``):
        # prefixes are normalised once, so a lookup is one ``str.startswith`` per carrier, and the few
        # senders a broker account sends from keep their type (a bounded memo; see ``_slot``).
        self._prefixes = tuple((c, tuple(p.lstrip("+") for p in c.match)) for c in self.carriers)
        self._kinds: dict[str, SenderType] = {}

    def carrier_for(self, number: str) -> CarrierSettings:
        """The first carrier whose prefixes match ``number``, else ``DEFAULT_CARRIER``."""
        bare = number.lstrip("+")  # as ``CarrierSettings.matches``: a "+" on either side is ignored
        for carrier, prefixes in self._prefixes:
            if bare.startswith(prefixes):
                return carrier
        return DEFAULT_CARRIER

    def backlog(self, carrier: CarrierSettings, kind: SenderType) -> float:
        """Seconds of traffic waiting in one submit queue now."""
        queue = self._queues.get((carrier.name, kind))
        return 0.0 if queue is None else max(0.0, queue.free_at - self.env.now)

    def backlogs(self) -> dict[tuple[str, str], float]:
        """Seconds of traffic waiting now in each submit queue used so far: (carrier, sender type) -> s."""
        now = self.env.now
        return {(name, kind.value): max(0.0, q.free_at - now) for (name, kind), q in sorted(
            self._queues.items(), key=lambda item: (item[0][0], item[0][1].value))}

    def submit(self, mt: Mt) -> Submitted:
        """Hand an MT to its carrier now; its DLR follows through ``on_dlr`` unless it is throttled."""
        now = self.env.now
        carrier = self.carrier_for(mt.recipient)
        counts = self.stats.counts
        counts["submitted"] += 1
        window = self._outage(carrier, now)
        if window is not None and window.mode == "fail":
            counts["refused"] += 1
            delivery = _Delivery(mt, carrier, DeliveryState.FAILED, window.code, now)
            self._after(max(0.0, carrier.dlr_latency.draw(self.rng)), self._dlr, delivery)
            return Submitted.REFUSED
        start = now if window is None else max(now, window.end)
        queue, begin = self._slot(carrier, mt.sender, start)
        rate = queue.rate
        waiting = (begin - now) * rate if math.isfinite(rate) else 0.0
        limit = carrier.burst * rate if carrier.over_cap is OverCap.THROTTLE else carrier.queue_limit
        if waiting > limit:
            counts["throttled"] += 1
            return Submitted.THROTTLED
        if math.isfinite(rate):
            service = 1.0 / rate if carrier.service is Service.FIXED else self.rng.expovariate(rate)
            queue.free_at = begin + service
            out = queue.free_at
        else:
            out = begin
        counts["accepted"] += 1
        self.stats.queue.add(out - now)
        state, code = self._outcome(carrier, mt.recipient)
        delivery = _Delivery(mt, carrier, state, code, now)
        for _ in range(mt.parts):
            self._after(out - now + self._latency(carrier, out), self._part_arrives, delivery, 0)
        return Submitted.ACCEPTED

    def admits(self, recipient: str, sender: str = "", at: float | None = None) -> bool:
        """Whether an MT to ``recipient`` from ``sender`` would be taken now (not throttled); no side effect.

        A broker taking one request for several recipients asks this for each before it answers, so the
        request is throttled whole or not at all. ``at`` (not before the environment's time) asks about a
        later time without stepping the environment there: only ``submit`` moves a queue, and no event
        does, so the answer is the one the environment would give once moved.
        """
        now = self.env.now if at is None else at
        carrier = self.carrier_for(recipient)
        window = self._outage(carrier, now)
        if window is not None and window.mode == "fail":
            return True  # taken, and failed by its DLR
        start = now if window is None else max(now, window.end)
        queue, begin = self._slot(carrier, sender, start)
        if not math.isfinite(queue.rate):
            return True
        limit = carrier.burst * queue.rate if carrier.over_cap is OverCap.THROTTLE else carrier.queue_limit
        return (begin - now) * queue.rate <= limit

    def _outage(self, carrier: CarrierSettings, now: float) -> Window | None:
        if not carrier.windows:
            return None
        return next((w for w in carrier.windows if w.kind == "outage" and w.covers(now)), None)

    def _slot(self, carrier: CarrierSettings, sender: str, start: float) -> tuple[_Queue, float]:
        """The submit queue for the sender's type and when its next slot begins, not before ``start``."""
        kind = self._kinds.get(sender)
        if kind is None:
            if len(self._kinds) >= _KINDS_KEPT:
                self._kinds.clear()
            kind = self._kinds[sender] = sender_type(sender)
        key = (carrier.name, kind)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(carrier.rates[kind])
        return queue, max(start, queue.free_at)

    # -- on the way -----------------------------------------------------------------------------------

    def _outcome(self, carrier: CarrierSettings, recipient: str) -> tuple[DeliveryState, str]:
        for trigger in carrier.triggers:
            if trigger.pattern.search(recipient):
                return trigger.state, trigger.code
        if len(carrier.outcomes) == 1:
            return carrier.outcomes[0].state, carrier.outcomes[0].code
        u, total = self.rng.random(), 0.0
        for outcome in carrier.outcomes:
            total += outcome.weight
            if u < total:
                return outcome.state, outcome.code
        last = carrier.outcomes[-1]
        return last.state, last.code

    def _latency(self, carrier: CarrierSettings, at: float) -> float:
        delay = max(0.0, carrier.latency.draw(self.rng))
        for window in carrier.windows:
            if window.kind == "degraded" and window.covers(at):
                delay *= window.factor
        return delay

    def _after(self, delay: float, then: Callable[..., None], *args: Any) -> None:
        # A partial, not a lambda over ``then`` and ``args``: fewer objects per step for the GC to track.
        self.env.timeout(delay).callbacks.append(partial(_call, then, args))

    def _part_arrives(self, delivery: _Delivery, attempt: int) -> None:
        reach = delivery.carrier.reachability
        if reach.offline and self.rng.random() < reach.offline:
            waited = self.env.now - delivery.submitted
            retry = reach.retry[min(attempt, len(reach.retry) - 1)]
            if waited + retry > reach.validity:
                self._part_final(delivery, DeliveryState.EXPIRED, "validity period expired")
                return
            self.stats.counts["retries"] += 1
            self._after(retry, self._part_arrives, delivery, attempt + 1)
            return
        self._part_final(delivery, delivery.state, delivery.code)

    def _part_final(self, delivery: _Delivery, state: DeliveryState, code: str) -> None:
        if delivery.state is DeliveryState.DELIVERED and state is not DeliveryState.DELIVERED:
            delivery.state, delivery.code = state, code  # one part not delivered decides the message
        delivery.pending -= 1
        if delivery.pending:
            return
        self.stats.handset.add(self.env.now - delivery.submitted)
        self._after(max(0.0, delivery.carrier.dlr_latency.draw(self.rng)), self._dlr, delivery)

    def _dlr(self, delivery: _Delivery) -> None:
        self.stats.counts[delivery.state.value] += 1
        self.stats.dlr.add(self.env.now - delivery.submitted)
        if self.on_dlr is not None:
            self.on_dlr(delivery.mt, delivery.state, delivery.code)
