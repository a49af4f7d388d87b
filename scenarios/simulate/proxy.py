"""The reverse proxy offline: one ARR farm per Incoming HTTP Port, its health test, and forwarding.

The farm is ``sim.proxy.farm.Farm``, the live proxy's own: members start healthy, one probe flips a member
(TechNet "Health Test Page"), ``pick`` goes round robin over the members that may take traffic or answers
502.4. This shell probes every member each ``interval``: what a node answers a probe is its SMS gate
(``SimNode.answer``); the health answer of the active node, its backup answer otherwise, no answer from a
hung or dead one (a hung one's failure lands after the probe timeout). A forwarded request goes to the
picked member and comes back as the node's answer, or as a failure after the proxy's time-out.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

import simpy

from scenarios.simulate.pair import SimNode, SimPair
from sim.proxy.farm import Farm, HealthTest, MemberState, NoMember

__all__ = ["Forwarded", "SimProxy"]

Forwarded = tuple[bool, float, str]
"""A forwarded request's outcome: accepted, seconds until the answer, and what happened (e.g. ``502.4``)."""


class SimProxy:
    """Every farm of the lab, their probes, and forwarding.

    Args:
        env: the run's environment.
        pair: the pair whose nodes are the members.
        ports: broker name -> the Incoming HTTP Port whose farm serves it.
        health: per port, the farm's URL test.
        scale: wall seconds of the live lab per second of the model (the pair's ``time_scale``), by which
            the proxy's durations, given in wall seconds, are divided.
        timeout: the proxy's time-out for a forwarded request (wall seconds).
        on_change: called with each health change: ``(time, member, healthy, reason)``.
    """

    def __init__(self, env: simpy.Environment, pair: SimPair, ports: Mapping[str, int], *,
                 health: Mapping[int, HealthTest], scale: float, timeout: float,
                 on_change: Callable[[float, str, bool, str], None]) -> None:
        self.env, self.pair, self.ports = env, pair, dict(ports)
        members = [node.name for node in pair.nodes.values()]
        self.farms = {port: Farm(list(members), test) for port, test in health.items()}
        self.nodes = {node.name: node for node in pair.nodes.values()}
        self.scale = scale
        self.timeout = timeout / scale
        self.on_change = on_change

    def start(self) -> None:
        """Start each farm's probes."""
        for farm in self.farms.values():
            self.env.process(self._probes(farm))

    def set_state(self, member: str, state: MemberState) -> None:
        """A member set Available or Unavailable by hand, in every farm (ARR's SetState)."""
        for farm in self.farms.values():
            farm.state[member] = state

    def forward(self, broker: str, push_timeout: float) -> Forwarded:
        """Send a broker's request through its farm now (``push_timeout``: the broker's, model seconds)."""
        farm = self.farms.get(self.ports.get(broker, -1))
        if farm is None:
            return False, 0.0, "no farm serves this broker's port"
        member = farm.pick()
        if isinstance(member, NoMember):
            return False, 0.0, member.status
        node = self.nodes[member]
        what, delay = node.answer(self.pair.is_active(node))
        limit = min(self.timeout, push_timeout)
        if what == "serve":
            return (True, delay, member) if delay <= limit else (False, limit, "502.3")
        if what == "hang":
            return False, limit, "502.3"
        return False, 0.0, "502.3" if what == "reset" else what

    def _probes(self, farm: Farm) -> Generator[simpy.Event, Any, None]:
        test = farm.test
        interval, limit = test.interval / self.scale, test.timeout / self.scale
        while True:  # a round at once, then one each interval, as the live proxy probes
            for member in farm.members:
                self._probe(farm, self.nodes[member], limit)
            yield self.env.timeout(interval)

    def _probe(self, farm: Farm, node: SimNode, limit: float) -> None:
        what, delay = node.answer(self.pair.is_active(node))
        if what == "serve" and delay <= limit:
            status, body, after = node.settings.health_status, node.settings.health_body, delay
        elif what in ("serve", "hang"):
            status, body, after = None, "", limit
        elif what == "reset":
            status, body, after = None, "", 0.0
        else:
            status, body, after = int(what), "", 0.0

        def record(_event: simpy.Event) -> None:
            change = farm.record_probe(node.name, status, body, self.env.now,
                                       "connection refused" if after == 0.0 and status is None else "")
            if change is not None:
                self.on_change(change.at, change.member, change.healthy, change.reason)

        self.env.timeout(after).callbacks.append(record)
