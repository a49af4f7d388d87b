"""Tests for sim.core.reference beyond the conformance checks: refusals, transcripts, receipts."""

from __future__ import annotations

from typing import Any

from scenarios.conformance import make_core
from sim.core import reference
from sim.core.protocol import Refused, Sent, SmsCore
from sim.core.reference import ReferenceCore
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, OutboundSms


def core(overrides: dict[str, Any] | None = None) -> ReferenceCore:
    built = make_core(ReferenceCore, overrides)
    assert isinstance(built, ReferenceCore)
    return built


def test_reference_core_satisfies_the_protocol() -> None:
    """The reference core is an SmsCore by the runtime protocol check."""
    assert isinstance(core(), SmsCore)


def test_reply_joins_the_customers_interaction() -> None:
    """An agent's reply by interaction id is added to that interaction's transcript."""
    c = core()
    got = c.receive(InboundSms("b1", "3175550000", "555", "hi", "m1"), 0.0)
    sent = c.send(OutboundSms("3175550000", "hello back", "Local", "agent1", got.interaction.id), 1.0)
    assert isinstance(sent, Sent)
    transcript = c.interactions()[0].transcript
    assert [(e.direction.value, e.text, e.party) for e in transcript] == [("in", "hi", "3175550000"),
                                                                         ("out", "hello back", "agent1")]
    assert transcript[1].message_id == sent.correlation


def test_number_that_cannot_be_internationalized_is_refused() -> None:
    """A formatted number the broker's number plan cannot make FQTN is refused as invalid."""
    c = core({"outbound_routes": [{"regex": r"9(\d+)", "formatted_number": "$1", "broker": "b1",
                                   "account": "a1", "classifications": ["Local"]}]})
    result = c.send(OutboundSms("912345", "x", "Local"), 0.0)
    assert isinstance(result, Refused)
    assert (result.kind, result.status) == ("invalid", 400)
    assert "cannot internationalize '12345'" in result.reason


def test_unpaired_surrogate_text_is_refused() -> None:
    """An MT text with an unpaired surrogate is refused before anything is queued."""
    result = core().send(OutboundSms("3175550123", "bad \ud800", "Local"), 0.0)
    assert isinstance(result, Refused)
    assert result.kind == "invalid"


def test_requests_carry_broker_account_and_options() -> None:
    """Each MT request names the broker, the account, its local address and the encoding."""
    sent = core().send(OutboundSms("93175550123", "Привет", "Local"), 0.0)
    assert isinstance(sent, Sent)
    (request,) = sent.requests
    assert (request.broker, request.account, request.sender, request.recipient, request.encoding) == (
        "b1", "a1", "8005550100", "+13175550123", "UCS-2")


def test_delivery_receipts_are_bounded(monkeypatch: Any) -> None:
    """Recorded delivery states are capped; the oldest are forgotten first."""
    monkeypatch.setattr(reference, "DELIVERY_STATES_LIMIT", 3)
    c = core()
    for n in range(5):
        c.delivery_receipt(DeliveryReceipt("b1", f"m{n}", DeliveryState.DELIVERED), float(n))
    assert [c.delivery_state(f"m{n}") for n in range(5)] == [None, None] + [DeliveryState.DELIVERED] * 3


def test_the_default_cap_on_delivery_states_is_ten_thousand() -> None:
    """The core keeps the latest 10,000 DR states: the 10,001st receipt pushes out the first."""
    c = core()
    for n in range(10_001):
        c.delivery_receipt(DeliveryReceipt("b1", f"m{n}", DeliveryState.DELIVERED), 0.0)
    assert (c.delivery_state("m0"), c.delivery_state("m1"), c.delivery_state("m10000")) == (
        None, DeliveryState.DELIVERED, DeliveryState.DELIVERED)


def test_forget_lets_go_of_what_the_core_remembers_of_the_interaction() -> None:
    """Forgetting an interaction drops its decision and its MOs' message ids, not another's."""
    c = core()
    first = c.receive(InboundSms("b1", "3175550001", "8005550100", "hi", message_id="mo-1"), 0.0).interaction
    c.receive(InboundSms("b1", "3175550001", "8005550100", "again", message_id="mo-2"), 1.0)
    other = c.receive(InboundSms("b1", "3175550002", "8005550100", "hi", message_id="mo-3"), 2.0).interaction
    assert (len(c._seen), len(c._decisions)) == (3, 2)
    assert c.forget(first.id) is True
    assert (set(c._seen), set(c._decisions)) == ({("b1", "mo-3")}, {other.id})
    assert c.receive(InboundSms("b1", "3175550002", "8005550100", "hi", message_id="mo-3"), 3.0).duplicate


def test_interactions_come_in_creation_order() -> None:
    """Interactions started at one instant list in the order they were started (id-10 after id-2)."""
    c = core()
    started = [c.receive(InboundSms("b1", f"31755500{n:02}", "555", "hi"), 0.0).interaction.id
               for n in range(12)]
    assert ([f"id-{n}" for n in range(1, 13)], started) == ([i.id for i in c.interactions()], started)


def test_a_send_names_the_interaction_it_joined() -> None:
    """A reply joins the customer's open interaction and says so; a send to a stranger joins none."""
    c = core()
    got = c.receive(InboundSms("b2", "3175550000", "313131", "hi", "m1"), 0.0)  # b2 routes the reply
    reply = c.send(OutboundSms("3175550000", "hello back", "Local"), 1.0)
    cold = c.send(OutboundSms("3175559999", "hello", "Local"), 2.0)
    assert isinstance(reply, Sent)
    assert isinstance(cold, Sent)
    assert (got.interaction.id, "") == (reply.interaction_id, cold.interaction_id)


def test_restored_interactions_come_oldest_first_and_are_found_by_id() -> None:
    """A snapshot whose interactions are out of order is restored oldest first, each found by its id."""
    primary = core()
    for n, at in enumerate((3.0, 1.0, 2.0)):
        primary.receive(InboundSms("b1", f"317555000{n}", "555", "hi"), at)
    backup = core()
    backup.restore(primary.snapshot())
    assert (["id-2", "id-3", "id-1"], primary.interaction("id-3")) == (
        [i.id for i in backup.interactions()], backup.interaction("id-3"))
