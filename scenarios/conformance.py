"""The SMS core conformance checks: what any core plugged into smslab must do, as the CIC documents say.

Each check builds a core from a small configuration, feeds it values and compares what comes back. They are
plain functions raising ``AssertionError``, so ``smslab conformance --core pkg.mod:Class`` runs them for a
user's core and the test suite runs them, parametrized, for every registered core.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from sim.core.config import CicConfig
from sim.core.interactions import InteractionState
from sim.core.loading import load_core_class
from sim.core.protocol import CoreContext, Refused, Sent, SmsCore
from sim.core.routing import DestinationKind
from sim.core.segmentation import ReferenceCounter
from sim.core.types import InboundSms, OutboundSms
from sim.core.validation import load_cic_config

__all__ = ["CHECKS", "CheckResult", "make_core", "run_all"]

CONFIG = """
sms:
  inbound_routes:
    - {type: Body, regex: "(?i).*\\\\bhelp\\\\b.*", destination: Handler, name: HelpHandler}
    - {type: ANI, regex: "317.*", destination: Queue, name: Indianapolis}
    - {type: DNIS, regex: "555", destination: Chat}
  default_route: {destination: Queue, name: General}
  outbound_routes:
    - {regex: "9(\\\\d{10})", formatted_number: "1$1", broker: b1, account: a1, classifications: [Local]}
    - {regex: "(\\\\d{10})", formatted_number: "$0", broker: b2, account: a2,
       classifications: [Local, National]}
brokers:
  - name: b1
    type: kaleyra
    accounts: [{id: a1, local_address: "8005550100"}]
    mo: {incoming_port: 8080, incoming_path: /b1, delivery_receipt_url: /b1/dr}
    mt: {gateway: "http://127.0.0.1:1", internationalize: true, message_parsing: split}
  - name: b2
    type: eztexting
    accounts: [{id: a2, local_address: "313131"}]
    mo: {incoming_port: 8081, incoming_path: /b2}
    mt: {gateway: "http://127.0.0.1:2", message_parsing: truncate}
"""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    passed: bool
    detail: str = ""


Factory = Callable[[CicConfig, CoreContext], SmsCore]


def make_core(factory: Factory, overrides: dict[str, Any] | None = None) -> SmsCore:
    """Build a core from the checks' configuration, with deterministic ids and references."""
    data = yaml.safe_load(CONFIG)
    for key, value in (overrides or {}).items():
        data["sms"][key] = value
    counter = itertools.count(1)
    context = CoreContext(new_id=lambda: f"id-{next(counter)}", next_reference=ReferenceCounter(42))
    return factory(load_cic_config(data, "conformance"), context)


def _mo(ani: str, dnis: str, body: str, message_id: str = "") -> InboundSms:
    return InboundSms("b1", ani, dnis, body, message_id)


def check_inbound_priority(factory: Factory) -> None:
    """The first matching inbound route in priority order wins; a regex must match the whole field."""
    core = make_core(factory)
    got = core.receive(_mo("3175550000", "555", "I need help please"), 0.0)
    assert (got.decision.destination.kind, got.decision.destination.name) == (DestinationKind.HANDLER,
                                                                             "HelpHandler")
    got = core.receive(_mo("3175550001", "555", "hello"), 1.0)
    assert got.decision.destination.name == "Indianapolis", got.decision
    got = core.receive(_mo("4175550002", "5550", "hello"), 2.0)
    assert got.decision.via == "default", "DNIS 5550 must not match regex 555: whole-field match"


def check_default_and_email(factory: Factory) -> None:
    """No match goes to the default route; with no inbound routes at all, to email routing."""
    core = make_core(factory)
    assert core.receive(_mo("1", "2", "x"), 0.0).decision.destination.name == "General"
    core = make_core(factory, {"inbound_routes": [], "default_route": None})
    assert core.receive(_mo("1", "2", "x"), 0.0).decision.destination.kind is DestinationKind.EMAIL


def check_conversation(factory: Factory) -> None:
    """An MO continues the open interaction of its ANI and DNIS; another ANI starts another one."""
    core = make_core(factory)
    first = core.receive(_mo("3175550000", "555", "one", "m1"), 0.0)
    second = core.receive(_mo("3175550000", "555", "two", "m2"), 1.0)
    other = core.receive(_mo("3175559999", "555", "three", "m3"), 2.0)
    assert (first.new, second.new, other.new) == (True, False, True)
    assert first.interaction.id == second.interaction.id != other.interaction.id
    assert [e.text for e in second.interaction.transcript] == ["one", "two"]


def check_duplicate_mo(factory: Factory) -> None:
    """A retried push (same broker message id) is recognised and stored once."""
    core = make_core(factory)
    core.receive(_mo("3175550000", "555", "one", "m1"), 0.0)
    again = core.receive(_mo("3175550000", "555", "one", "m1"), 5.0)
    assert again.duplicate
    assert len(again.interaction.transcript) == 1


def _sent(result: Sent | Refused) -> Sent:
    assert isinstance(result, Sent), result
    return result


def check_outbound_routing(factory: Factory) -> None:
    """The highest-ranking match wins; $0 and $1 fill the formatted number; FQTN when the broker asks."""
    core = make_core(factory)
    sent = _sent(core.send(OutboundSms("93175550123", "hi", "Local"), 0.0))
    assert (sent.decision.route_index, sent.decision.number, sent.recipient) == (0, "13175550123",
                                                                                 "+13175550123")
    assert [(r.broker, r.account, r.sender) for r in sent.requests] == [("b1", "a1", "8005550100")]
    sent = _sent(core.send(OutboundSms("3175550123", "hi", "National"), 0.0))
    assert (sent.decision.route_index, sent.recipient, sent.requests[0].broker) == (1, "3175550123", "b2")


def check_access_control(factory: Factory) -> None:
    """A classification the matching route does not permit is refused, with no fall-through."""
    core = make_core(factory)
    refused = core.send(OutboundSms("93175550123", "hi", "National"), 0.0)
    assert isinstance(refused, Refused), refused
    assert refused.kind == "access-denied", refused
    missing = core.send(OutboundSms("12", "hi", "Local"), 0.0)
    assert isinstance(missing, Refused), missing
    assert missing.kind == "no-route", missing


def check_segmentation_modes(factory: Factory) -> None:
    """Split gives numbered parts sharing an injected reference; truncate keeps what fits one part."""
    core = make_core(factory)
    split = _sent(core.send(OutboundSms("93175550123", "a" * 200, "Local"), 0.0))
    parts = [(r.part, r.parts, len(r.text), r.reference) for r in split.requests]
    assert parts == [(1, 2, 153, 42), (2, 2, 47, 42)], parts
    cut = _sent(core.send(OutboundSms("3175550123", "é" * 100 + "€" * 80, "Local"), 0.0))
    assert [len(r.text) for r in cut.requests] == [100 + 30], [r.text for r in cut.requests]


def check_consolidation(factory: Factory) -> None:
    """With Consolidate Messages on, short messages to one destination wait and go as one."""
    core = make_core(factory, {"consolidate_messages": True, "consolidation": {"window": 5}})
    first = _sent(core.send(OutboundSms("3175550123", "one", "Local"), 0.0))
    second = _sent(core.send(OutboundSms("3175550123", "two", "Local"), 1.0))
    assert (first.held, second.held, first.requests) == (True, True, ())
    assert core.next_due() == 5.0
    assert [r.text for r in core.due(5.0)] == ["one two"]


def check_recovery(factory: Factory) -> None:
    """A core restored from a snapshot continues the same interaction and still knows its message ids."""
    primary = make_core(factory)
    first = primary.receive(_mo("3175550000", "555", "one", "m1"), 0.0)
    backup = make_core(factory)
    backup.restore(primary.snapshot())
    again = backup.receive(_mo("3175550000", "555", "one", "m1"), 1.0)
    nxt = backup.receive(_mo("3175550000", "555", "two", "m2"), 2.0)
    assert (again.duplicate, nxt.new) == (True, False)
    assert nxt.interaction.id == first.interaction.id
    assert [e.text for e in nxt.interaction.transcript] == ["one", "two"]


def check_lookup_by_id(factory: Factory) -> None:
    """An MO's interaction is found by its id, an unknown id is ``None``; a send names what it joined.

    The lab looks an interaction up by id for every send, DR and idle timeout, and stores only the one a
    send names (``Sent.interaction_id``), so a core must answer both.
    """
    core = make_core(factory)
    started = core.receive(_mo("+13175550123", "8005550100", "one", "m1"), 0.0).interaction
    assert core.interaction(started.id) == started, core.interaction(started.id)
    assert core.interaction("no-such-id") is None
    named = _sent(core.send(OutboundSms("93175550123", "named", "Local", "agent", started.id), 1.0))
    joined = _sent(core.send(OutboundSms("93175550123", "joined", "Local"), 2.0))
    cold = _sent(core.send(OutboundSms("93175559999", "cold", "Local"), 3.0))
    ids = (named.interaction_id, joined.interaction_id, cold.interaction_id)
    assert ids == (started.id, started.id, ""), ids
    found = core.interaction(started.id)
    assert found is not None
    assert [e.text for e in found.transcript] == ["one", "named", "joined"], found.transcript


def check_set_state(factory: Factory) -> None:
    """``set_state`` changes one interaction, found by id, and answers ``None`` for an unknown id."""
    core = make_core(factory)
    first = core.receive(_mo("3175550000", "555", "one", "m1"), 0.0).interaction
    other = core.receive(_mo("3175559999", "555", "two", "m2"), 1.0).interaction
    idle = core.set_state(first.id, InteractionState.IDLE)
    assert idle is not None
    assert (idle.id, idle.state, idle.transcript) == (first.id, InteractionState.IDLE, first.transcript), idle
    assert (core.interaction(first.id), core.interaction(other.id)) == (idle, other)
    assert core.set_state("no-such-id", InteractionState.IDLE) is None


def check_forget(factory: Factory) -> None:
    """A forgotten interaction is gone from the core, and its customer's next MO starts a new one.

    The lab forgets each interaction the idle timeout disconnects (its record stays in the node's store),
    so that a node's memory holds the open conversations only.
    """
    core = make_core(factory)
    first = core.receive(_mo("3175550000", "555", "one", "m1"), 0.0).interaction
    other = core.receive(_mo("3175559999", "555", "two", "m2"), 1.0).interaction
    assert core.set_state(first.id, InteractionState.DISCONNECTED) is not None
    assert core.forget(first.id) is True
    assert core.forget(first.id) is False, "a second forget of one id must answer False"
    assert core.interaction(first.id) is None, core.interaction(first.id)
    assert [i.id for i in core.interactions()] == [other.id], core.interactions()
    again = core.receive(_mo("3175550000", "555", "three", "m3"), 2.0)
    assert again.new, again
    assert again.interaction.id not in (first.id, other.id), again
    assert core.interaction(other.id) == other


CHECKS: list[Callable[[Factory], None]] = [
    check_inbound_priority, check_default_and_email, check_conversation, check_duplicate_mo,
    check_outbound_routing, check_access_control, check_segmentation_modes, check_consolidation,
    check_recovery, check_lookup_by_id, check_set_state, check_forget,
]


def run_all(spec: str, factory: Factory | None = None) -> list[CheckResult]:
    """Run every check against the core named by ``spec`` (or made by ``factory``: a core over HTTP,
    ``scenarios.core_http.remote_factory``).

    Raises:
        ConfigError: the core cannot be loaded.
    """
    factory = factory or load_core_class(spec)
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check(factory)
        except Exception as exc:  # a core under test may fail in any way; each failure is reported
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"))
        else:
            results.append(CheckResult(name, True))
    return results
