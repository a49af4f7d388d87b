"""Chat interactions made from inbound SMS, their messages and the delivery state of each outbound one.

"Setting up Integration for Inbound and Outbound SMS", "Provision sender IDs": an SMS to a provisioned
sender id becomes a chat interaction on its section's Designer ``endpoint``; with ``cxcOnly: true`` it
is not processed as chat and not delivered to an agent, but handed to CX Contact (recorded here as a
campaign response). One open interaction per (sender id, customer number): a customer's next SMS joins
it. The store is bounded (``limit``): the oldest interaction is forgotten first, so a long run cannot
grow memory without end.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.nexus.errors import NexusError
from sim.nexus.senders import Sender

__all__ = ["DELIVERED", "Interaction", "InteractionBook", "Message", "receipt_state"]

DELIVERED = "delivered"
# Receipt statuses that mean delivered, lower case: Portico's default DELIVERED, Kaleyra's "Carrier
# Success" (an MMX router fixture), DELIVRD (Kaleyra status codes) and the Async fake's "delivered".
_DELIVERED = frozenset({"delivered", "carrier success", "delivrd", "sent"})


def receipt_state(status: str) -> str:
    """The lab's state of a provider's receipt status: ``delivered``, else the status in lower case."""
    lowered = status.strip().lower()
    return DELIVERED if lowered in _DELIVERED else (lowered or "unknown")


@dataclass
class Message:
    """One message of an interaction."""

    id: str
    direction: str  # "inbound" | "outbound"
    text: str
    at: float
    provider_id: str = ""
    state: str = "received"
    status: str = ""

    def to_json(self) -> dict[str, object]:
        """The message as the control API shows it."""
        return {"id": self.id, "direction": self.direction, "text": self.text, "at": self.at,
                "provider_message_id": self.provider_id, "state": self.state, "status": self.status}


@dataclass
class Interaction:
    """One chat (or, for ``cxcOnly``, campaign response) interaction."""

    id: str
    ccid: str
    section: str
    endpoint: str
    channel_id: str
    customer: str
    provider: str
    kind: str  # "chat" | "campaign_response"
    opened: float
    messages: list[Message] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The interaction as the control API shows it."""
        return {"id": self.id, "ccid": self.ccid, "section": self.section, "endpoint": self.endpoint,
                "channel_id": self.channel_id, "customer": self.customer, "provider": self.provider,
                "kind": self.kind, "media": "chat", "opened": self.opened,
                "messages": [m.to_json() for m in self.messages]}


class InteractionBook:
    """Every interaction, and the outbound messages by the id their provider gave them.

    Args:
        new_id: the source of interaction and message ids.
        limit: the most interactions kept (the oldest is forgotten first).
    """

    def __init__(self, new_id: Callable[[], str], limit: int = 10_000) -> None:
        self._new_id = new_id
        self.limit = limit
        self._by_id: OrderedDict[str, Interaction] = OrderedDict()
        self._open: dict[tuple[str, str], str] = {}
        self._outbound: dict[str, tuple[str, str]] = {}  # our message id -> (interaction, message)
        self._provider: dict[str, str] = {}  # provider message id -> our message id
        self._loose: OrderedDict[str, Message] = OrderedDict()  # campaign messages, in no interaction

    def inbound(self, sender: Sender, customer: str, text: str, provider_id: str, now: float) -> Interaction:
        """Record an inbound SMS on ``sender``'s section: a new interaction or the customer's open one."""
        key = (sender.section, customer)
        found = self._by_id.get(self._open.get(key, ""))
        if found is None:
            kind = "campaign_response" if sender.cxc_only else "chat"
            found = Interaction(self._new_id(), sender.ccid, sender.section, sender.endpoint,
                                sender.channel_id, customer, sender.provider.value, kind, now)
            self._by_id[found.id] = found
            self._open[key] = found.id
            self._trim()
        found.messages.append(Message(self._new_id(), "inbound", text, now, provider_id))
        return found

    def _trim(self) -> None:
        while len(self._by_id) > self.limit:
            _, old = self._by_id.popitem(last=False)
            self._open.pop((old.section, old.customer), None)
            for m in old.messages:
                self._outbound.pop(m.id, None)
                self._provider.pop(m.provider_id, None)

    def get(self, interaction_id: str) -> Interaction:
        """The interaction with this id.

        Raises:
            NexusError: 404.
        """
        if interaction_id not in self._by_id:
            raise NexusError(f"no interaction {interaction_id}", 404)
        return self._by_id[interaction_id]

    def reply(self, interaction_id: str, text: str, now: float) -> tuple[Interaction, Message]:
        """Add an agent's reply (``pending`` until its provider accepts it).

        Raises:
            NexusError: 404 for an unknown interaction; 409 for a campaign response (no agent has it).
        """
        found = self.get(interaction_id)
        if found.kind != "chat":
            raise NexusError(f"interaction {interaction_id} went to CX Contact (cxcOnly): no agent replies",
                             409)
        message = Message(self._new_id(), "outbound", text, now, state="pending")
        found.messages.append(message)
        self._outbound[message.id] = (found.id, message.id)
        return found, message

    def loose(self, text: str, now: float) -> Message:
        """A new outbound message in no interaction (a campaign's); bounded like the interactions."""
        message = Message(self._new_id(), "outbound", text, now, state="pending")
        self._loose[message.id] = message
        while len(self._loose) > self.limit:
            _, old = self._loose.popitem(last=False)
            self._provider.pop(old.provider_id, None)
        return message

    def message(self, message_id: str) -> Message | None:
        """An outbound message by our id."""
        if message_id in self._loose:
            return self._loose[message_id]
        where = self._outbound.get(message_id)
        if where is None or where[0] not in self._by_id:
            return None
        return next((m for m in self._by_id[where[0]].messages if m.id == message_id), None)

    def accepted(self, message_id: str, provider_id: str) -> None:
        """The provider accepted the message and gave it ``provider_id`` (receipts name it)."""
        message = self.message(message_id)
        if message is not None:
            message.provider_id, message.state = provider_id, "sent"
            if provider_id:
                self._provider[provider_id] = message_id

    def failed(self, message_id: str, why: str) -> None:
        """The provider refused the message, or could not be reached."""
        message = self.message(message_id)
        if message is not None:
            message.state, message.status = "failed", why

    def knows(self, provider_id: str) -> bool:
        """Whether an outbound message has this provider id (or, as a fallback, our id)."""
        return self.message(self._provider.get(provider_id, provider_id)) is not None

    def receipt(self, provider_id: str, status: str) -> Message | None:
        """Apply a delivery receipt; ``None`` when no outbound message has that provider id."""
        message = self.message(self._provider.get(provider_id, provider_id))
        if message is None:
            return None
        message.state, message.status = receipt_state(status), status
        return message

    def listing(self, kind: str | None = None, section: str | None = None) -> list[dict[str, object]]:
        """Every interaction (of one kind or section when given), oldest first."""
        return [i.to_json() for i in self._by_id.values()
                if (kind is None or i.kind == kind) and (section is None or i.section == section)]

    def clear(self) -> None:
        """Forget every interaction."""
        self._by_id.clear()
        self._open.clear()
        self._outbound.clear()
        self._provider.clear()
        self._loose.clear()
