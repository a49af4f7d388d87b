"""The hooks that feed the lab's event stream and metrics from what the lab already has.

``LabWatch`` listens where things happen and turns each into one event on the ``EventHub`` and the matching
metrics: a fake's capture store (``message``: an MT received, an MO or DLR sent) and pusher (``push``: one
attempt and its outcome), a node's committed interactions (``interaction``) and the delivery receipts it
takes, stamped with their arrival on the node's clock (``delivery``: what a load test times an MT's DLR
by), a proxy's answers (metrics only: one per request would drown the stream) and farm health flips
(``farm``), the pair's timeline (``timeline``: faults, watch transitions, promotions, recoveries, with
both nodes' roles after it).

The pair's timeline is in the lab's process either way. The fakes, nodes and proxies are hooked when they
run on the lab's event loop (``attach_local``, the default mode); with ``--processes`` they live in other
processes, and ``scenarios.lab.follow`` reads the same from their inspection APIs and calls the same
methods (``captured``, ``pushed``, ``committed``, ``farm_changed``); ``delivery`` events come from nodes on
the lab's loop only (a node's inspection API does not list receipts as they arrive).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fakes.common.capture import Captured
from fakes.common.push import Attempt
from scenarios.lab.backends import LocalBackend
from scenarios.lab.events import EventHub
from scenarios.lab.external_pair import ExternalPair
from scenarios.lab.metrics import LabMetrics
from sim.cic.pair import PairRuntime
from sim.core.types import DeliveryReceipt
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
            node.records.receipt_listeners.append(self._receipts_of(name))
        for port, server in backend.proxies.items():
            server.answer_listeners.append(self._answers_of(port))
            server.health_listeners.append(self._health_of(port))

    def attach_pair(self, pair: PairRuntime | ExternalPair, nodes: tuple[str, ...]) -> None:
        """Hook the pair's timeline (the simulated pair's, or the external pair's)."""

        def noted(entry: dict[str, Any]) -> None:
            roles = {name: str(getattr(role, "value", role)) for name in nodes
                     for role in (pair.role_of(name),)}
            self.metrics.on_timeline(entry, roles)
            self.hub.publish("timeline", {**entry, "roles": roles})

        pair.on_timeline(noted)

    def message(self, record: Captured) -> None:
        """A fake of this process captured a record."""
        self.captured(record.to_json())

    def captured(self, data: dict[str, Any]) -> None:
        """A captured record, as the inspection API shows it."""
        self.metrics.on_message(data)
        self.hub.publish("message", data)

    def pushed(self, broker: str, data: dict[str, Any]) -> None:
        """A push attempt of ``broker``, as ``GET /_smslab/pushes`` shows it."""
        self.metrics.on_push(broker, data)
        self.hub.publish("push", {**data, "broker": broker})

    def committed(self, node: str, record: dict[str, Any], stored_at: float | None = None) -> None:
        """An interaction record ``node`` committed (at ``stored_at``, epoch seconds; now when not given)."""
        self.metrics.on_interaction(record, stored_at)
        self.hub.publish("interaction", {"node": node, **interaction_summary(record)})

    def delivered(self, node: str, receipt: DeliveryReceipt, received_at: float) -> None:
        """A delivery receipt reached ``node`` at ``received_at`` (the node's clock, epoch seconds)."""
        self.hub.publish("delivery", {"node": node, "broker": receipt.broker,
                                      "message_id": receipt.message_id, "state": receipt.state.value,
                                      "raw_status": receipt.raw_status, "received_at": received_at})

    def farm_changed(self, port: int, member: str, healthy: bool, reason: str) -> None:
        """A farm member's health flipped."""
        self.metrics.on_farm(port, member, healthy)
        self.hub.publish("farm", {"incoming_port": port, "member": member, "healthy": healthy,
                                  "reason": reason})

    def _pushes_of(self, broker: str) -> Callable[[Attempt], None]:
        return lambda attempt: self.pushed(broker, attempt.to_json())

    def _interactions_of(self, node: str) -> Callable[[dict[str, Any]], None]:
        return lambda record: self.committed(node, record)

    def _receipts_of(self, node: str) -> Callable[[DeliveryReceipt, float], None]:
        return lambda receipt, received_at: self.delivered(node, receipt, received_at)

    def _answers_of(self, port: int) -> Callable[[int, str], None]:
        return lambda status, substatus: self.metrics.on_proxy_answer(port, status, substatus)

    def _health_of(self, port: int) -> Callable[[HealthChange], None]:
        return lambda change: self.farm_changed(port, change.member, change.healthy, change.reason)


def interaction_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """An interaction record with only its latest ``TRANSCRIPT_TAIL`` transcript entries (and the count)."""
    transcript = list(record.get("transcript", ()))
    return {**record, "transcript": transcript[-TRANSCRIPT_TAIL:], "transcript_total": len(transcript)}
