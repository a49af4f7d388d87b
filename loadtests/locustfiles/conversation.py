"""Conversations: an MO in, an agent's reply out, another MO, over and over (``smslab load conversation``).

Each user is one customer (one +1 317 handset of its own) texting the lab's first broker through the
proxy, and the agent who answers: the reply is an agent send to the same handset, which the core joins
to the customer's open interaction, and the next MO continues it. Texts are Faker's in every coding the
segmenter treats apart (GSM-7, UCS-2 with an emoji, GSM-7 long enough for several parts), so the
replies exercise segmentation as well; their DLRs are timed like ``agent_mt``'s.
"""

from __future__ import annotations

import itertools

from locust import FastHttpUser, SequentialTaskSet, constant, task

from loadtests.locustfiles.common import PLAN, push_mo, send_mt
from loadtests.locustfiles.traffic import Traffic

__all__ = ["CustomerUser", "Exchange"]

_seeds = itertools.count(1)


class Exchange(SequentialTaskSet):
    """One exchange of a conversation: MO, reply, MO."""

    user: CustomerUser

    @task
    def customer_writes(self) -> None:
        """The customer's first message."""
        self.user.mo()

    @task
    def agent_replies(self) -> None:
        """The agent's reply, joined to the customer's open interaction."""
        user = self.user
        classification = PLAN.dlr_brokers[0][1] if PLAN.dlr_brokers else ""
        send_mt(user, user.handset, user.traffic.any_text(), classification, name="reply")

    @task
    def customer_answers(self) -> None:
        """The customer's answer to the reply."""
        self.user.mo()


class CustomerUser(FastHttpUser):
    """A customer and the agent who answers, on one handset and the lab's first broker."""

    wait_time = constant(PLAN.wait)
    host = PLAN.control_url
    tasks = [Exchange]  # noqa: RUF012 - Locust's own class attribute, a list

    def on_start(self) -> None:
        """This customer's handset and generator."""
        self.traffic = Traffic(next(_seeds))
        self.handset = self.traffic.handset()
        self.broker = next(b for b in PLAN.brokers if b.mo_url)

    def mo(self) -> None:
        """One MO from this customer, in the broker's format."""
        push_mo(self, self.broker, self.handset, self.traffic.any_text())
