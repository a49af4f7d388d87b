"""The reference SMS core: the CIC documents' rules, composed from the core's pure parts.

Inbound: an MO continues the open interaction between its ANI and DNIS, else it is routed (SMS Technical
Reference, "Configure Inbound Routing") and starts one; a repeated broker message id is a retried push and
is not added twice. Outbound: route and access control ("Configure Outbound Routing"), the Formatted
Number, FQTN when the broker's MT tab asks ("Configure Broker Message Terminated settings"), Consolidate
Messages, then the broker's Message Parsing mode.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple, cast

from sim.core.config import CicConfig
from sim.core.consolidation import Consolidator, Released
from sim.core.errors import InputError
from sim.core.interactions import Direction, Interaction, InteractionBook, InteractionState, TranscriptEntry
from sim.core.protocol import CoreContext, Received, Refused, Sent
from sim.core.routing import (
    AccessDenied,
    Destination,
    InboundDecision,
    NoOutboundRoute,
    OutboundDecision,
    route_inbound,
    route_outbound,
)
from sim.core.segmentation import segment
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest, OutboundSms

__all__ = ["ReferenceCore"]

SEEN_IDS_LIMIT = 100_000  # broker message ids remembered for duplicate detection; bounded memory
DELIVERY_STATES_LIMIT = 10_000  # latest DR states kept for inspection (the node's store keeps every one)


class _MtKey(NamedTuple):
    """What consolidation groups by: one destination through one broker account, in one interaction."""

    broker: str
    account: str
    recipient: str
    interaction_id: str


class ReferenceCore:
    """The SMS core that follows the CIC SMS Technical Reference.

    Args:
        config: the CIC configuration.
        context: the id and concatenation-reference sources.
    """

    name = "reference"

    def __init__(self, config: CicConfig, context: CoreContext) -> None:
        self.config = config
        self.context = context
        self.book = InteractionBook(context.new_id)
        self.consolidator = Consolidator(config.sms.consolidation)
        self._seen: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._decisions: dict[str, InboundDecision] = {}
        self._deliveries: OrderedDict[str, DeliveryState] = OrderedDict()

    # -- inbound --------------------------------------------------------------------------------------

    def receive(self, sms: InboundSms, now: float) -> Received:
        """Route an inbound SMS and add it to its interaction (see the module docstring)."""
        key = (sms.broker, sms.message_id)
        if sms.message_id and key in self._seen:
            existing = self.book.get(self._seen[key])
            if existing is not None:
                return Received(existing, self._decision_of(existing.id, existing.destination), False, True)
        interaction = self.book.open_for(sms.ani, sms.dnis)
        new = interaction is None
        if interaction is None:
            cfg = self.config.sms
            decision = route_inbound(cfg.inbound_routes, cfg.default_route, sms.ani, sms.dnis, sms.body)
            interaction = self.book.start(sms.ani, sms.dnis, sms.broker, decision.destination, now)
            self._decisions[interaction.id] = decision
        entry = TranscriptEntry(Direction.INBOUND, sms.body, now, sms.message_id, sms.ani)
        interaction = interaction.add(entry)
        self.book.put(interaction)
        if sms.message_id:
            self._remember(key, interaction.id)
        return Received(interaction, self._decision_of(interaction.id, interaction.destination), new)

    def _decision_of(self, interaction_id: str, destination: Destination) -> InboundDecision:
        return self._decisions.get(interaction_id) or InboundDecision(destination, None, "restored")

    def _remember(self, key: tuple[str, str], interaction_id: str) -> None:
        self._seen[key] = interaction_id
        if len(self._seen) > SEEN_IDS_LIMIT:
            self._seen.popitem(last=False)

    # -- outbound -------------------------------------------------------------------------------------

    def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """Route, format, consolidate and segment an outbound SMS; a refusal says why."""
        result = route_outbound(self.config.sms.outbound_routes, message.dnis, message.classification)
        if isinstance(result, NoOutboundRoute):
            return Refused(result.reason, "no-route", 404)
        if isinstance(result, AccessDenied):
            return Refused(result.reason, "access-denied", 403)
        broker = self.config.broker(result.route.broker)
        if broker is None or not (broker.enabled and broker.mt.enabled):
            return Refused(f"broker {result.route.broker!r} is not enabled for MT", "broker-disabled", 503)
        try:
            recipient = broker.mt.recipient(result.number)
            own = segment(message.text, broker.mt.message_parsing, reference_size=broker.mt.reference_size)
        except InputError as exc:
            return Refused(str(exc), "invalid", exc.status)
        correlation = self.context.new_id()
        joined = self._record_outbound(message, result, recipient, now, correlation)
        key = _MtKey(broker.name, result.route.account, recipient, message.interaction_id)
        offered = self.consolidator.offer(key, message.text, now, tag=correlation)
        requests = tuple(r for rel in offered.released for r in self._requests(rel))
        return Sent(result, recipient, requests, offered.held, own, correlation, joined)

    def _record_outbound(self, message: OutboundSms, decision: OutboundDecision, recipient: str,
                         now: float, correlation: str) -> str:
        """Add the message to its interaction's transcript; that interaction's id ("" for none)."""
        broker = self.config.broker(decision.route.broker)
        account = broker.account(decision.route.account) if broker else None
        local = account.local_address if account else ""
        interaction = (self.book.get(message.interaction_id) if message.interaction_id
                       else self.book.open_for(recipient, local) or self.book.open_for(message.dnis, local))
        if interaction is None:
            return ""
        entry = TranscriptEntry(Direction.OUTBOUND, message.text, now, correlation, message.sender)
        self.book.put(interaction.add(entry))
        return interaction.id

    def _requests(self, released: Released) -> list[MtRequest]:
        broker_name, account_id, recipient, interaction_id = cast(_MtKey, released.key)
        broker = self.config.broker(broker_name)
        assert broker is not None  # the key was built from a configured broker
        account = broker.account(account_id)
        seg = segment(released.text, broker.mt.message_parsing, reference_size=broker.mt.reference_size,
                      next_reference=self.context.next_reference)
        options = tuple(sorted(broker.mt.options.items()))
        return [
            MtRequest(broker=broker.name, account=account_id, sender=account.local_address if account else "",
                      recipient=recipient, text=part.text, encoding=seg.encoding.value, part=n,
                      parts=len(seg.segments), reference=seg.reference, interaction_id=interaction_id,
                      correlation=released.tag, options=options)
            for n, part in enumerate(seg.segments, start=1)
        ]

    def due(self, now: float) -> list[MtRequest]:
        """MT requests whose consolidation window has passed."""
        return [r for rel in self.consolidator.due(now) for r in self._requests(rel)]

    def next_due(self) -> float | None:
        """When ``due`` will next have something, or ``None``."""
        return self.consolidator.next_due()

    # -- receipts, interactions, recovery -------------------------------------------------------------

    def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """Record the latest state of a message (the latest ``DELIVERY_STATES_LIMIT``, oldest out first)."""
        self._deliveries[receipt.message_id] = receipt.state
        self._deliveries.move_to_end(receipt.message_id)
        if len(self._deliveries) > DELIVERY_STATES_LIMIT:
            self._deliveries.popitem(last=False)

    def delivery_state(self, message_id: str) -> DeliveryState | None:
        """The last recorded state of a message, if any."""
        return self._deliveries.get(message_id)

    def interaction(self, interaction_id: str) -> Interaction | None:
        """The interaction with that id (from the book's index), or ``None``."""
        return self.book.get(interaction_id)

    def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """Put one interaction in ``state``; the new copy, or ``None`` for an unknown id."""
        interaction = self.book.get(interaction_id)
        if interaction is None:
            return None
        changed = replace(interaction, state=state)
        self.book.put(changed)
        return changed

    def forget(self, interaction_id: str) -> bool:
        """Drop an ended interaction, its routing decision and its MOs' broker message ids.

        The node's store keeps its record. What the core remembers of an interaction goes with it, so the
        core's memory follows the open interactions, not every message ever received.
        """
        self._decisions.pop(interaction_id, None)
        interaction = self.book.get(interaction_id)
        if interaction is not None:
            for entry in interaction.transcript:
                if entry.direction is Direction.INBOUND and entry.message_id:
                    key = (interaction.broker, entry.message_id)
                    if self._seen.get(key) == interaction_id:
                        del self._seen[key]
        return self.book.forget(interaction_id)

    def interactions(self) -> list[Interaction]:
        """Every interaction, oldest first (the book keeps creation order: no sort)."""
        return list(self.book)

    def snapshot(self) -> dict[str, Any]:
        """The interactions as plain data."""
        return self.book.snapshot()

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Take over the snapshot's interactions and the broker message ids they hold."""
        self.book.restore(snapshot)
        self._seen.clear()
        self._decisions.clear()
        for interaction in self.book:
            for entry in interaction.transcript:
                if entry.direction is Direction.INBOUND and entry.message_id:
                    self._remember((interaction.broker, entry.message_id), interaction.id)
