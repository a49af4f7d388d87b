"""A fake broker offline: its carrier network (or its fixed DLR model), its MOs and DRs, and their retries.

What the live fake does with an MT, a DLR and an MO, on the model's clock: an MT request is handed to the
carrier network (``sim.carrier.model.CarrierNetwork``, seeded as the live fake seeds it, so the same seed
gives the same outcomes), which may throttle it; a fake without carriers draws outcome and delay from its
own ``dlr`` settings. A DLR or a population's MO is pushed through the proxy; a failed push is tried again
after the fake's ``RetryPolicy`` delay (``fakes.common.push``), the policy's own, unscaled seconds, until the
policy gives up (``given_up``: the message is lost).
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import simpy

from fakes.common.carrier import parts_of
from fakes.common.fake import FakeBroker
from scenarios.simulate.proxy import SimProxy
from scenarios.simulate.tally import Tally
from sim.carrier.model import CarrierNetwork, Mt, Submitted
from sim.carrier.population import Mo, Population, seeded_populations
from sim.carrier.settings import CarrierSettings, Window
from sim.core.config import BrokerConfig
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest

__all__ = ["Outage", "SimBroker"]

Outage = tuple[str, Window]
"""A carrier outage event as a window of that carrier: (carrier name, window)."""
Deliver = Callable[["SimBroker", str, Any], None]
"""Hands a push's payload to the node that took it: ``(broker, kind, payload)``."""


class SimBroker:
    """One fake broker in the offline world.

    Args:
        env: the run's environment.
        name: the fake's name.
        fake: the fake as the lab builds it (its settings are read, it is never started).
        broker: the CIC broker it serves.
        seed: the seed of its carrier network (the what-if's, else the fake's own).
        outages: carrier outage events, added to the carriers' windows.
        proxy: where it pushes.
        tally: the run's figures.
        deliver: hands an accepted push to the active node.
    """

    def __init__(self, env: simpy.Environment, name: str, fake: FakeBroker, broker: BrokerConfig, *,
                 seed: int, outages: list[Outage], proxy: SimProxy, tally: Tally, deliver: Deliver) -> None:
        s = fake.settings
        self.env, self.name, self.broker, self.proxy, self.tally = env, name, broker, proxy, tally
        self.deliver = deliver
        self.retry = s.retry
        self.push_timeout = s.push.timeout / (s.time_scale or 1.0)
        self.planner = s.dlr
        self.ids = itertools.count(1)
        rng = random.Random(f"carrier:{seed}")  # as the live fake seeds its carrier network
        self.network: CarrierNetwork | None = None
        self.populations: list[Population] = []
        if s.carriers:
            carriers = [_with_outages(c, outages) for c in s.carriers]
            self.network = CarrierNetwork(env, carriers, rng, self._carrier_dlr)
            self.populations = seeded_populations(s.populations, rng, self._mo)
        self.rng = random.Random(seed)

    def start(self, until: float) -> None:
        """Start the populations' arrivals."""
        for population in self.populations:
            self.env.process(population.run(self.env, until))

    # -- MT --------------------------------------------------------------------------------------------

    def mt(self, request: MtRequest) -> bool:
        """Take one MT request from a node: False when the broker throttles it."""
        now = self.env.now
        message_id = f"{self.name}-mt-{next(self.ids)}"
        if self.network is None:
            state = self.planner.outcomes.choose(request.recipient, self.rng)
            delay = max(0.0, self.planner.delays.draw(self.rng))
            self.env.timeout(delay).callbacks.append(
                lambda _e: self._push("dlr", (message_id, state, "", now, request.recipient)))
        else:
            mt = Mt(message_id, request.recipient, request.sender, _parts(request.text), now)
            if self.network.submit(mt) is Submitted.THROTTLED:
                self.tally.count("throttled", now)
                return False
        self.tally.count("mt_accepted", now)
        return True

    def _carrier_dlr(self, mt: Mt, state: DeliveryState, code: str) -> None:
        if state is DeliveryState.DELIVERED:
            for population in self.populations:
                population.mt_arrived(mt.recipient)
        self._push("dlr", (mt.id, state, code, mt.context, mt.recipient))

    def _mo(self, mo: Mo) -> None:
        self.tally.count("mo_sent", self.env.now)
        self._push("mo", (f"{self.name}-mo-{next(self.ids)}", mo, self.env.now))

    # -- pushes ----------------------------------------------------------------------------------------

    def _push(self, kind: str, payload: Any, failures: int = 0) -> None:
        accepted, after, _what = self.proxy.forward(self.broker.name, self.push_timeout)
        if accepted:
            if after:
                self.env.timeout(after).callbacks.append(lambda _e: self._answered(kind, payload, failures))
            else:  # answered at once: no event to schedule
                self._answered(kind, payload, failures)
            return
        self.tally.push_failed(self.env.now)
        self.env.timeout(after).callbacks.append(lambda _e: self._failed(kind, payload, failures + 1))

    def _answered(self, kind: str, payload: Any, failures: int) -> None:
        self.tally.push_accepted(self.env.now)
        self.deliver(self, kind, payload)

    def _failed(self, kind: str, payload: Any, failures: int) -> None:
        delay = self.retry.delay(failures)
        if delay is None:
            self.tally.count("given_up", self.env.now)
            return
        self.tally.retry_waiting(+1)

        def again(_event: simpy.Event) -> None:
            self.tally.retry_waiting(-1)
            self._push(kind, payload, failures)

        self.env.timeout(delay).callbacks.append(again)

    # -- what a node makes of a push -------------------------------------------------------------------

    def receipt(self, payload: Any, now: float) -> DeliveryReceipt:
        """The DLR a node parses from a DR push."""
        message_id, state, code, _submitted, recipient = payload
        return DeliveryReceipt(broker=self.broker.name, message_id=message_id, state=state, raw_status=code,
                               recipient=recipient, at=now)

    def inbound(self, payload: Any, now: float) -> InboundSms:
        """The MO a node parses from an MO push."""
        message_id, mo, _sent = payload
        return InboundSms(broker=self.broker.name, ani=mo.sender, dnis=mo.to, body=mo.text,
                          message_id=message_id, received_at=now)

    def backlog(self) -> float:
        """Seconds of traffic in the longest carrier submit queue now."""
        if self.network is None:
            return 0.0
        return max(self.network.backlogs().values(), default=0.0)


@functools.lru_cache(maxsize=4096)
def _parts(text: str) -> int:
    """``parts_of``, remembered: a campaign draws its texts from a small mix."""
    return parts_of(text)


def _with_outages(carrier: CarrierSettings, outages: list[Outage]) -> CarrierSettings:
    windows = tuple(w for name, w in outages if name == carrier.name)
    return replace(carrier, windows=carrier.windows + windows) if windows else carrier
