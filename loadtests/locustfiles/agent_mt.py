"""Agent MT sends: each user is an agent asking the active node to send MTs (``smslab load agent_mt``).

A send goes through the control API (``POST /_smslab/send``: the active node's agent API); the node routes
it by its outbound routes to a broker, the fake accepts it, and the DLR comes back through the proxy. Each
DLR's arrival at the node is its own Locust request, ``DLR <broker>``, timed from the send's start to the
node's own clock on arrival (``common.DlrWatch``). A user sends to +1 317 handsets (``Local``: the default
lab's Kaleyra route) three times for each send to a UK handset (``International``: its Portico route),
single-part texts, so the MTs each fake captured equal the sends it was answered for.
"""

from __future__ import annotations

import itertools

from locust import FastHttpUser, constant, task

from loadtests.locustfiles.common import PLAN, send_mt
from loadtests.locustfiles.traffic import Traffic

__all__ = ["AgentMtUser"]

_seeds = itertools.count(1)


class AgentMtUser(FastHttpUser):
    """An agent sending single-part MTs through the active node, to each routed broker in turn."""

    wait_time = constant(PLAN.wait)
    host = PLAN.control_url

    def on_start(self) -> None:
        """A seeded generator; the routes to send through, the first one three times as often."""
        self.traffic = Traffic(next(_seeds))
        routes = list(PLAN.dlr_brokers)
        self.routes = itertools.cycle(routes[:1] * 3 + routes[1:])

    @task
    def send(self) -> None:
        """One MT of one part to a handset the next route matches."""
        _, classification, number = next(self.routes)
        to = self.traffic.international() if number == "international" else self.traffic.handset()
        send_mt(self, to, self.traffic.text(self.traffic.rng.choice(("gsm7", "ucs2"))), classification)
