"""Broker MO pushes: each user acts as the lab's brokers and pushes MOs, in each broker's own wire format,
to the proxy in front of the pair (``smslab load mo_push``).

Every push carries a message id no other push of the run has (``common.next_id``) and is written to the MO
log as it is answered, so after the run ``smslab load`` proves that every MO that got a 2xx is stored
exactly once on the active node (through the control API), and, with ``--fail-at``, that none was lost
or doubled across the switchover. A user takes the brokers in turn; its handsets and texts come from its
own seeded Faker (``traffic``), so the MOs start new conversations and continue old ones, in GSM-7, UCS-2
and several parts.
"""

from __future__ import annotations

import itertools

from locust import FastHttpUser, constant, task

from loadtests.locustfiles.common import PLAN, push_mo
from loadtests.locustfiles.traffic import Traffic

__all__ = ["BrokerMoUser"]

_seeds = itertools.count(1)


class BrokerMoUser(FastHttpUser):
    """A broker pushing MOs to the proxy, the brokers taken in turn."""

    wait_time = constant(PLAN.wait)
    host = PLAN.brokers[0].mo_url if PLAN.brokers else ""

    def on_start(self) -> None:
        """A seeded generator and the brokers in turn; a few handsets, so conversations continue."""
        self.traffic = Traffic(next(_seeds))
        self.brokers = itertools.cycle([b for b in PLAN.brokers if b.mo_url])
        self.handsets = [self.traffic.handset() for _ in range(5)]

    @task
    def push(self) -> None:
        """One MO from one of this user's handsets, in the next broker's format."""
        push_mo(self, next(self.brokers), self.traffic.rng.choice(self.handsets), self.traffic.any_text())
