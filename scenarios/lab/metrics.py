"""The lab's Prometheus metrics, served as ``GET /metrics`` on the control port (``prometheus_client``).

Each lab has its own ``CollectorRegistry`` (several labs share one pytest process, and the global registry
would mix them). Counters and histograms are fed by the same hooks as the event stream
(``scenarios.lab.watch`` calls the ``on_*`` methods); gauges of state (node roles, farm member health,
interactions held) are set from the lab's health view just before each scrape (``refresh``), so they are
as true in ``--processes`` mode as in process.

Names follow the Prometheus conventions: ``smslab_`` prefix, ``_total`` for counters, base units
(``_seconds``). Latencies: ``smslab_mo_push_to_stored_seconds`` from the moment a fake captured an MO to the
moment the active node committed the interaction that holds it; ``smslab_mt_to_dlr_seconds`` from a fake
capturing an MT to it capturing that MT's DLR (both on the fake's clock).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from sim.core.types import DeliveryState

__all__ = ["CONTENT_TYPE", "LabMetrics"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus server reads
PENDING_LIMIT = 100_000  # MTs and MOs waiting for their DLR or their commit, oldest forgotten first
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_ROLES = ("active", "backup", "down")
_FINAL = {s.value for s in DeliveryState} - {"accepted", "sent"}  # after these no other DLR is expected


class LabMetrics:
    """Every metric of one lab, in its own registry.

    Args:
        wall: the clock an MO's commit is timed with (epoch seconds, as the fakes' captures are).
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._wall = wall
        counter = functools.partial(Counter, registry=self.registry)
        gauge = functools.partial(Gauge, registry=self.registry)
        histogram = functools.partial(Histogram, registry=self.registry, buckets=_LATENCY_BUCKETS)
        self.messages = counter("smslab_messages_total", "Messages the fakes captured (MT received, MO and "
                                "DLR sent), by broker, kind and state", ["broker", "kind", "state"])
        self.push_attempts = counter("smslab_push_attempts_total", "Push attempts of the fakes (MO and DLR "
                                     "pushes), by outcome: delivered, retry, gave_up, dropped",
                                     ["broker", "kind", "outcome"])
        self.push_retries = counter("smslab_push_retries_total", "Push attempts after the first (retries)",
                                    ["broker", "kind"])
        self.proxy_responses = counter("smslab_proxy_responses_total", "Answers of the ARR-style proxy, by "
                                       "status and ARR substatus (502.3, 502.4; empty when forwarded)",
                                       ["incoming_port", "status", "substatus"])
        self.farm_changes = counter("smslab_farm_health_changes_total", "Farm member health flips",
                                    ["incoming_port", "member", "healthy"])
        self.farm_healthy = gauge("smslab_farm_member_healthy", "1 while the farm holds the member healthy",
                                  ["incoming_port", "member"])
        self.role_changes = counter("smslab_node_role_changes_total", "Times a node took a role",
                                    ["node", "role"])
        self.switchovers = counter("smslab_switchovers_total", "Promotions of a node to active", ["manual"])
        self.faults = counter("smslab_node_faults_total", "Faults injected into a node", ["node", "mode"])
        self.node_role = gauge("smslab_node_role", "1 for the role a node holds now", ["node", "role"])
        self.interactions = gauge("smslab_interactions", "Interactions a node's store holds (ended ones "
                                  "included)", ["node"])
        self.interactions_open = gauge("smslab_interactions_open", "Interactions of the active node not "
                                       "disconnected, as last committed")
        self.mo_latency = histogram("smslab_mo_push_to_stored_seconds", "From a fake capturing an MO to the "
                                    "active node committing it", ["broker"])
        self.dlr_latency = histogram("smslab_mt_to_dlr_seconds", "From a fake capturing an MT to it "
                                     "capturing the MT's DLR", ["broker", "state"])
        self.carrier_backlog = gauge("smslab_carrier_backlog_seconds", "Simulated seconds of MTs waiting in "
                                     "a carrier's submit queue, per broker and sender type",
                                     ["broker", "carrier", "sender_type"])
        self.carrier_in_flight = gauge("smslab_carrier_in_flight", "MTs a broker's carriers hold whose DLR "
                                       "has not come back", ["broker"])
        self._mts: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._mos: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._open: dict[str, bool] = {}
        self._roles: dict[str, str] = {}

    # -- what the hooks call -----------------------------------------------------------------------------

    def on_message(self, record: Mapping[str, Any]) -> None:
        """A captured record (``Captured.to_json`` shape)."""
        broker, kind = str(record["broker"]), str(record["kind"])
        self.messages.labels(broker, kind, str(record.get("state") or record.get("status") or "")).inc()
        key = (broker, str(record["message_id"]))
        if kind == "mt":
            _remember(self._mts, key, float(record["at"]))
        elif kind == "mo":
            _remember(self._mos, key, float(record["at"]))
        elif kind == "dlr":
            state = str(record.get("state") or "")
            sent = self._mts.pop(key, None) if state in _FINAL else self._mts.get(key)
            if sent is not None:  # until its first final DLR (a multipart MT: the parts before it too)
                self.dlr_latency.labels(broker, state).observe(max(0.0, float(record["at"]) - sent))

    def on_push(self, broker: str, attempt: Mapping[str, Any]) -> None:
        """A push attempt (``Attempt.to_json`` shape)."""
        kind = str(attempt["kind"])
        self.push_attempts.labels(broker, kind, str(attempt["outcome"])).inc()
        if int(attempt.get("attempt", 1)) > 1:
            self.push_retries.labels(broker, kind).inc()

    def on_interaction(self, record: Mapping[str, Any], stored_at: float | None = None) -> None:
        """A record the active node committed (at ``stored_at``; now when not given): MO latency for its new
        inbound entries, the open count."""
        now = self._wall() if stored_at is None else stored_at
        broker = str(record.get("broker", ""))
        for entry in record.get("transcript", ()):
            if entry.get("direction") == "in":
                at = self._mos.pop((broker, str(entry.get("message_id", ""))), None)
                if at is not None:
                    self.mo_latency.labels(broker).observe(max(0.0, now - at))
        self._open[str(record["id"])] = record.get("state") != "disconnected"
        if not self._open[str(record["id"])]:
            del self._open[str(record["id"])]
        self.interactions_open.set(len(self._open))

    def on_proxy_answer(self, port: int, status: int, substatus: str) -> None:
        """One answer of a proxy to a proxied request."""
        self.proxy_responses.labels(str(port), str(status), substatus).inc()

    def on_farm(self, port: int, member: str, healthy: bool) -> None:
        """A farm member's health flipped."""
        self.farm_changes.labels(str(port), member, "true" if healthy else "false").inc()
        self.farm_healthy.labels(str(port), member).set(1 if healthy else 0)

    def on_timeline(self, entry: Mapping[str, Any], roles: Mapping[str, str]) -> None:
        """A timeline entry, with each node's role right after it."""
        if entry.get("event") == "promote":
            self.switchovers.labels("true" if entry.get("manual") else "false").inc()
        elif entry.get("event") == "fault":
            self.faults.labels(str(entry.get("node")), str(entry.get("mode"))).inc()
        self._set_roles(roles)

    def forget_open(self) -> None:
        """The lab was reset: no interaction is open any more."""
        self._open.clear()
        self._mos.clear()
        self._mts.clear()
        self.interactions_open.set(0)

    # -- before a scrape ---------------------------------------------------------------------------------

    def refresh(self, health: Mapping[str, Any]) -> None:
        """Set the state gauges from the lab's health view (``Lab.health``)."""
        roles = {}
        for name, node in health.get("nodes", {}).items():
            roles[name] = str(node.get("role", ""))
            self.interactions.labels(name).set(float(node.get("interactions", 0)))
        self._set_roles(roles)
        for broker, carrier in health.get("carriers", {}).items():
            counts = carrier.get("counts", {})
            final = sum(int(counts.get(k, 0)) for k in ("delivered", "failed", "undeliverable", "expired"))
            self.carrier_in_flight.labels(broker).set(
                int(counts.get("accepted", 0)) + int(counts.get("refused", 0)) - final)
            for queue in carrier.get("queues", ()):
                self.carrier_backlog.labels(broker, queue["carrier"], queue["sender_type"]).set(
                    float(queue["backlog_s"]))
        for farm in health.get("farm", ()):
            for member in farm.get("members", ()):
                self.farm_healthy.labels(str(farm["incoming_port"]), str(member["member"])).set(
                    1 if member.get("healthy") else 0)

    def _set_roles(self, roles: Mapping[str, str]) -> None:
        for node, role in roles.items():
            if self._roles.get(node) != role:
                if node in self._roles:  # the first sight of a node is its starting role, not a change
                    self.role_changes.labels(node, role).inc()
                self._roles[node] = role
            for known in _ROLES:
                self.node_role.labels(node, known).set(1 if role == known else 0)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


def _remember(pending: OrderedDict[tuple[str, str], float], key: tuple[str, str], at: float) -> None:
    pending[key] = at
    if len(pending) > PENDING_LIMIT:
        pending.popitem(last=False)
