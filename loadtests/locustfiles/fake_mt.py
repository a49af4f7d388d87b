"""A fake broker's MT API, loaded directly as a CIC node would load it (``smslab load fake_mt``).

Each request is what a node sends for one single-part MT (``sim.brokerdef.cic.render_mt``: the broker
definition's method, path, parameters and account credentials), sent straight to the fake, not through
the node; the answer is read the way the node reads it (``parse_mt_answer``), so a 200 whose body says
the MT was refused is a failure. This loads the fakes themselves: how many MTs a fake takes before it,
and not the lab behind it, limits a test (``smslab bench load``). Every broker of the lab with a fake and a
definition (Kaleyra, EzTexting, ...) is loaded in turn; Portico's OAuth API is not one of them.
"""

from __future__ import annotations

import itertools
import time

from locust import FastHttpUser, constant, task

from loadtests.locustfiles.common import PLAN, mt_log, next_id
from loadtests.locustfiles.plan import BrokerPlan
from loadtests.locustfiles.traffic import Traffic, definition
from sim.brokerdef.cic import Accepted, parse_mt_answer, render_mt
from sim.brokerdef.wire import Account
from sim.core.types import MtRequest

__all__ = ["NodeMtUser"]

_seeds = itertools.count(1)
RING = 32  # requests rendered per broker and user, sent over and over (each a new MT to the fake)


def _loaded(broker: BrokerPlan) -> bool:
    return bool(broker.fake_url) and broker.wire != "portico" and definition(broker.wire).mt is not None


class NodeMtUser(FastHttpUser):
    """A CIC node sending single-part MTs to each fake broker's MT API in turn."""

    wait_time = constant(PLAN.wait)
    host = next((b.fake_url for b in PLAN.brokers if b.fake_url), "")

    def on_start(self) -> None:
        """A ring of requests rendered up front, the fakes in turn: rendering each anew would cost this
        process more than Locust's own work per request (``smslab bench load`` measures the tool)."""
        traffic = Traffic(next(_seeds))
        ring = []
        for broker in [b for b in PLAN.brokers if _loaded(b)] * RING:
            mt = MtRequest(broker.name, "load", broker.local_address, traffic.handset(), traffic.text("gsm7"),
                           correlation=next_id())
            ring.append((broker, render_mt(definition(broker.wire), Account("load", broker.login,
                                                                             broker.password),
                                           mt, broker.fake_url, broker.mt_path or None)))
        self.ring = itertools.cycle(ring)

    @task
    def send(self) -> None:
        """One MT request, as the node renders it, its answer read as the node reads it."""
        broker, request = next(self.ring)
        wire = definition(broker.wire)
        start = time.time()
        accepted = 0
        with self.client.request(request.method, request.url, data=request.body or None,
                                 headers=dict(request.headers), name=f"MT {broker.name}",
                                 catch_response=True) as resp:
            status = resp.status_code or 0
            verdict = parse_mt_answer(wire, status, dict(resp.headers or {}), resp.content or b"")
            if isinstance(verdict, Accepted):
                accepted = 1
            else:
                resp.failure(f"HTTP {status}: {verdict}")
        mt_log.record(broker.name, broker.name, start, time.time(), status, accepted)
