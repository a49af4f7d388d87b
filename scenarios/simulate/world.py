"""The whole lab in virtual time: the brokers, the proxy, the pair and its cores, the traffic and the events.

``simulate(whatif)`` builds one plain ``simpy.Environment`` and on it the sans-IO models the live lab runs:
each fake's carrier network (``sim.carrier``) and push retry policy (``fakes.common.push``), the proxy's farm
and health test (``sim.proxy.farm``), the pair's switchover table (``sim.core.switchover``) and an SMS core
per node (the lab's ``core``: routing, segmentation, consolidation). Campaigns ask the active node to send;
the node's core answers with the MT requests, each handed to the broker its outbound route names; DLRs and
population MOs come back through the proxy to whichever node it picks. The run goes as fast as the machine
allows, then ``Result`` holds the figures (``scenarios.simulate.report`` prints them).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from scenarios.lab.spec import NODE_NAMES, fake_broker
from scenarios.simulate.brokers import Outage, SimBroker
from scenarios.simulate.pair import SimNode, SimPair
from scenarios.simulate.proxy import SimProxy
from scenarios.simulate.tally import Tally
from scenarios.simulate.whatif import Campaign, WhatIf, WhatIfEvent
from sim.carrier.population import draw_text, make_numbers
from sim.carrier.settings import Window
from sim.core.errors import ConfigError, Problem
from sim.core.loading import load_core_class
from sim.core.protocol import CoreContext, CoreFactory, Refused, SmsCore
from sim.core.switchover import Server
from sim.core.types import DeliveryState, OutboundSms
from sim.proxy.farm import MemberState

__all__ = ["Result", "World", "simulate"]

TIMELINE_LIMIT = 1000  # steps of the pair and the proxy kept for the report
_STATE_COUNT = {state: f"dlr_{state.value}" for state in DeliveryState}  # the counter each DLR state adds to


@dataclass
class Result:
    """What a run produced: the figures, the time series and the timeline of the pair and the proxy."""

    whatif: WhatIf
    tally: Tally
    timeline: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    takeovers: list[float] = field(default_factory=list)
    unrecovered: int = 0
    duplicated: int = 0
    switchovers: int = 0
    cpu_s: float = 0.0


class World:
    """Every part of the lab on one environment (see the module docstring).

    Args:
        whatif: the what-if file, read.
        progress: called now and then with the share of the run done (0 to 1).
    """

    def __init__(self, whatif: WhatIf, progress: Callable[[float], None] | None = None) -> None:
        self.whatif = whatif
        self.env = simpy.Environment()
        self.tally = Tally(whatif.duration, whatif.step)
        self.timeline: list[tuple[float, str, dict[str, Any]]] = []
        self.progress = progress
        self.duplicated = 0
        spec = whatif.lab.spec
        config = spec.config
        if config.cic.remote_core is not None:
            raise ConfigError([Problem("core.url", config.cic.remote_core.url,
                                       "smslab simulate runs the core in process: name a core class "
                                       "(module:Class), or leave `core` out for the reference core")],
                              whatif.source)
        if spec.external:
            members = "external: " + ", ".join(sorted(spec.external))
            raise ConfigError([Problem("cic.nodes", members, "smslab simulate runs the simulated CIC pair: a "
                                       "pair of external servers cannot run offline")], whatif.source)
        factory: CoreFactory = load_core_class(config.cic.core)
        counter = itertools.count(1)
        references = itertools.count(1)

        def make_core() -> SmsCore:
            context = CoreContext(lambda: f"c{next(counter)}", lambda: next(references) % 256)
            return factory(config.cic, context)

        primary, backup = (SimNode(name, server, spec.nodes[name], make_core)
                           for name, server in zip(NODE_NAMES, Server, strict=True))
        self.pair = SimPair(self.env, primary, backup, spec.pair, self.note)
        self.nodes = {primary.name: primary, backup.name: backup}
        scale = spec.pair.time_scale
        ports = {b.name: b.mo.incoming_port for b in config.cic.brokers}
        health = {plan.incoming_port: plan.health for plan in spec.farms}
        self.proxy = SimProxy(self.env, self.pair, ports, health=health, scale=scale,
                              timeout=spec.proxy.timeout, on_change=self._health)
        outages: list[Outage] = [(e.carrier, Window("outage", e.at, e.until or whatif.duration, mode=e.mode))
                                 for e in whatif.events if e.do == "carrier-outage"]
        self.brokers: dict[str, SimBroker] = {}
        for name, fake in whatif.lab.fakes.items():
            broker = fake_broker(config, name)
            if broker is None:
                continue
            seed = fake.settings.seed if whatif.seed is None else whatif.seed
            self.brokers[broker.name] = SimBroker(self.env, name, fake, broker, seed=seed, outages=outages,
                                                  proxy=self.proxy, tally=self.tally, deliver=self._deliver)

    # -- the run -------------------------------------------------------------------------------------

    def run(self) -> Result:
        """Run to the end of the what-if's duration; the figures."""
        began = time.process_time()
        w = self.whatif
        self.pair.start()
        self.proxy.start()
        for broker in self.brokers.values():
            broker.start(w.duration)
        for campaign in w.campaigns:
            self.env.process(self._campaign(campaign))
        for event in w.events:
            self._at(event)
        self.env.process(self._sampler())
        self.env.run(until=w.duration)
        self.tally.close_row(self.tally.rows - 1)
        if self.progress is not None:
            self.progress(1.0)
        switchovers = sum(1 for _, what, _f in self.timeline if what == "promote")
        return Result(w, self.tally, self.timeline[:TIMELINE_LIMIT], list(self.pair.takeovers),
                      self.pair.unrecovered, self.duplicated, switchovers, time.process_time() - began)

    def _at(self, event: WhatIfEvent) -> None:
        self.env.timeout(event.at).callbacks.append(lambda _e: self._event(event))

    def note(self, at: float, what: str, fields: dict[str, Any]) -> None:
        """One step of the pair or the proxy, for the report's timeline."""
        if len(self.timeline) < TIMELINE_LIMIT * 2:
            self.timeline.append((round(at, 6), what, fields))

    def _health(self, at: float, member: str, healthy: bool, reason: str) -> None:
        self.note(at, "farm", {"member": member, "healthy": healthy, "reason": reason})

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        """At the start of each step: close the last one's counts, sample what stands, show progress."""
        tally, last = self.tally, -1.0
        for row in range(tally.rows):
            yield self.env.timeout(max(0.0, row * tally.step - self.env.now))
            tally.close_row(row - 1)
            backlog = max((b.backlog() for b in self.brokers.values()), default=0.0)
            active = self.pair.active.name if not self.pair.active.down else ""
            tally.sample(row, tally.waiting, backlog, active)
            share = self.env.now / self.whatif.duration
            if self.progress is not None and share - last >= 0.01:
                self.progress(share)
                last = share

    # -- traffic ---------------------------------------------------------------------------------------

    def _campaign(self, campaign: Campaign) -> Generator[simpy.Event, Any, None]:
        seed = 0 if self.whatif.seed is None else self.whatif.seed
        rng = random.Random(f"campaign:{campaign.name}:{seed}")
        numbers = make_numbers(campaign.country, campaign.size, rng.randrange(2**32))
        gap = 1.0 / campaign.rate
        if campaign.start:
            yield self.env.timeout(campaign.start)
        for _ in range(campaign.count):
            self._send(OutboundSms(rng.choice(numbers), draw_text(rng, campaign.texts),
                                   campaign.classification, campaign.name))
            yield self.env.timeout(rng.expovariate(campaign.rate) if campaign.arrivals == "poisson" else gap)

    def _send(self, message: OutboundSms) -> None:
        now = self.env.now
        self.tally.count("mt_requested", now)
        node = self.pair.nodes[self.pair.table.active]
        if node.dead:  # killed or hung: the agent's request reaches no running server
            self.tally.count("mt_not_sent", now)
            return
        sent = node.core.send(message, now)
        if isinstance(sent, Refused):
            self.tally.count("mt_refused", now)
            return
        self.tally.count("mt_sent", now)
        self._hand_over(sent.requests)
        if sent.held:
            self._release_later(node)

    def _hand_over(self, requests: Any) -> None:
        for request in requests:
            broker = self.brokers.get(request.broker)
            if broker is None:
                self.tally.count("mt_unreachable", self.env.now)
                continue
            broker.mt(request)

    def _release_later(self, node: SimNode) -> None:
        due = node.core.next_due()
        if due is None:
            return

        def release(_event: simpy.Event) -> None:
            if self.pair.is_active(node):
                self._hand_over(node.core.due(self.env.now))
                self._release_later(node)  # what is still held falls due later

        self.env.timeout(max(0.0, due - self.env.now)).callbacks.append(release)

    # -- what a node does with a push -------------------------------------------------------------------

    def _deliver(self, broker: SimBroker, kind: str, payload: Any) -> None:
        node = self.pair.nodes[self.pair.table.active]
        now = self.env.now
        if kind == "dlr":
            receipt = broker.receipt(payload, now)
            node.core.delivery_receipt(receipt, now)
            self.tally.count("dlr_stored", now)
            self.tally.count(_STATE_COUNT[receipt.state], now)
            waited = now - payload[3]
            self.tally.dlr.add(waited)
            if waited > self.whatif.late_after:
                self.tally.count("dlr_late", now)
            return
        sms = broker.inbound(payload, now)
        received = node.core.receive(sms, now)
        if received.duplicate:
            self.duplicated += 1
            return
        self.pair.stored(node, sms.message_id)
        self.tally.count("mo_stored", now)
        self.tally.mo.add(now - payload[2])

    # -- events ----------------------------------------------------------------------------------------

    def _event(self, event: WhatIfEvent) -> None:
        node = self.nodes.get(event.node)
        if event.do == "restore" and node is not None:
            self.pair.restore(node)
        elif event.do == "switchover":
            self.pair.switchover()
        elif event.do == "carrier-outage":
            self.note(self.env.now, "carrier-outage", {"carrier": event.carrier, "until": event.until,
                                                       "mode": event.mode})
        elif event.do == "member-offline" and node is not None:
            self.proxy.set_state(node.name, MemberState.UNAVAILABLE)
            self.note(self.env.now, "member-offline", {"member": node.name})
            if event.until is not None:
                self.env.timeout(event.until - event.at).callbacks.append(
                    lambda _e: self._member_back(node.name))
        elif node is not None:
            self.pair.fail(node, event.do)

    def _member_back(self, member: str) -> None:
        self.proxy.set_state(member, MemberState.AVAILABLE)
        self.note(self.env.now, "member-online", {"member": member})


def simulate(whatif: WhatIf, progress: Callable[[float], None] | None = None) -> Result:
    """Run a what-if to its end."""
    return World(whatif, progress).run()
