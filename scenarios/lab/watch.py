"""The hooks that feed the lab's event stream and metrics from what the lab already has.

``LabWatch`` listens where things happen and turns each into one event on the ``EventHub`` and the matching
metrics: a fake's capture store (``message``: an MT received, an MO or DLR sent) and pusher (``push``: one
attempt and its outcome), a node's committed interactions (``interaction``), a proxy's answers (metrics
only: one per request would drown the stream) and farm health flips (``farm``), the pair's timeline
(``timeline``: faults, watch transitions, promotions, recoveries, with both nodes' roles after it).

The pair's timeline is in the lab's process either way. The fakes, nodes and proxies are hooked when they
run on the lab's event loop (``attach_local``, the default mode); with ``--processes`` they live in other
processes, and the stream carries the timeline, the farm and control actions only (the console then reads
messages and interactions through the control API when an event or a click asks it to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fakes.common.capture import Captured
from fakes.common.push import Attempt
from scenarios.lab.backends import LocalBackend
from scenarios.lab.events import EventHub
from scenarios.lab.metrics import LabMetrics
from sim.cic.pair import PairRuntime
from sim.proxy.farm import HealthChange

__all__ = ["TRANSCRIPT_TAIL", "LabWatch"]

TRANSCRIPT_TAIL = 20  # transcript entries an interaction event carries (the latest); the API has them all


class LabWatch:
    """Turns the lab's hooks into events and metrics.

    Args:
        hub: where events are published.
        metrics: the lab's metrics.
    """

    def __init__(self, hub: EventHub, metrics: LabMetrics) -> None:
        self.hub, self.metrics = hub, metrics

    def attach_local(self, backend: LocalBackend) -> None:
        """Hook every fake, node and proxy a ``LocalBackend`` started."""
        for name, fake in backend.fakes.items():
            fake.capture.listeners.append(self.message)
            fake.pusher.listeners.append(self._pushes_of(name))
        for name, node in backend.nodes.items():
            node.records.listeners.append(self._interactions_of(name))
        for port, server in backend.proxies.items():
            server.answer_listeners.append(self._answers_of(port))
            server.health_listeners.append(self._health_of(port))

    def attach_pair(self, pair: PairRuntime, nodes: tuple[str, ...]) -> None:
        """Hook the pair's timeline."""

        def noted(entry: dict[str, Any]) -> None:
            roles = {name: pair.role_of(name).value for name in nodes}
            self.metrics.on_timeline(entry, roles)
            self.hub.publish("timeline", {**entry, "roles": roles})

        pair.on_timeline(noted)

    def message(self, record: Captured) -> None:
        """A fake captured a record."""
        data = record.to_json()
        self.metrics.on_message(data)
        self.hub.publish("message", data)

    def _pushes_of(self, broker: str) -> Callable[[Attempt], None]:
        def pushed(attempt: Attempt) -> None:
            data = attempt.to_json()
            self.metrics.on_push(broker, data)
            self.hub.publish("push", {**data, "broker": broker})
        return pushed

    def _interactions_of(self, node: str) -> Callable[[dict[str, Any]], None]:
        def committed(record: dict[str, Any]) -> None:
            self.metrics.on_interaction(record)
            self.hub.publish("interaction", {"node": node, **interaction_summary(record)})
        return committed

    def _answers_of(self, port: int) -> Callable[[int, str], None]:
        def answered(status: int, substatus: str) -> None:
            self.metrics.on_proxy_answer(port, status, substatus)
        return answered

    def _health_of(self, port: int) -> Callable[[HealthChange], None]:
        def changed(change: HealthChange) -> None:
            self.metrics.on_farm(port, change.member, change.healthy)
            self.hub.publish("farm", {"incoming_port": port, "member": change.member,
                                      "healthy": change.healthy, "reason": change.reason})
        return changed


def interaction_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """An interaction record with only its latest ``TRANSCRIPT_TAIL`` transcript entries (and the count)."""
    transcript = list(record.get("transcript", ()))
    return {**record, "transcript": transcript[-TRANSCRIPT_TAIL:], "transcript_total": len(transcript)}
