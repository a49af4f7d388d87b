"""The plain values that flow between brokers, CIC nodes and the SMS core.

They are frozen and hold only text, numbers and enums, so they cross process boundaries as JSON and
compare by value in tests. Times are seconds on whatever clock the caller passes in (the core never reads
a clock itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "DeliveryReceipt",
    "DeliveryState",
    "InboundSms",
    "MtRequest",
    "OutboundSms",
]


@dataclass(frozen=True)
class InboundSms:
    """A mobile-originated message as a CIC node's SMS Server hands it to the core.

    Attributes:
        broker: the broker configuration that accepted it (matched by port and incoming path).
        ani: the sender's mobile number, as the broker gave it.
        dnis: the number the handset sent to (the account's short or long code).
        body: the message text, already decoded.
        message_id: the broker's id for the message; used to recognise a retried push.
        account: the broker account paired with ``dnis`` (its Local Address), when known.
        received_at: when the node accepted it, on the caller's clock.
    """

    broker: str
    ani: str
    dnis: str
    body: str
    message_id: str = ""
    account: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class OutboundSms:
    """A request to send, from an agent, a workgroup, a handler or a campaign.

    Attributes:
        dnis: the destination number as the sender typed it (outbound routes match on it).
        text: the message text.
        classification: the sender's phone-number classification, checked by the route's access control.
        sender: who asks (a user or workgroup name, or a handler), for the transcript and associations.
        interaction_id: the interaction the reply belongs to, if any.
    """

    dnis: str
    text: str
    classification: str = ""
    sender: str = ""
    interaction_id: str = ""


class DeliveryState(Enum):
    """What finally happened to an MT, in the lab's own words; each broker maps its vocabulary to these."""

    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DeliveryReceipt:
    """A delivery receipt as a node parsed it from a broker's DR push.

    Attributes:
        broker: the broker configuration that accepted it (by its Delivery Receipt URL).
        message_id: the broker's id of the MT it reports on.
        state: the outcome, mapped from the broker's status vocabulary.
        raw_status: the broker's own status text and code, kept for display (e.g. ``Carrier Success/200``).
        recipient: the handset, when the broker says.
        at: when the node accepted it.
    """

    broker: str
    message_id: str
    state: DeliveryState
    raw_status: str = ""
    recipient: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class MtRequest:
    """One message the core asks a node to send to a broker: one part of a segmented text, or all of it.

    Attributes:
        broker: the broker configuration chosen by the outbound route.
        account: the account ID at that broker.
        sender: the account's Local Address (the short or long code the handset sees), possibly empty.
        recipient: the destination after formatting and, when the broker asks, internationalisation.
        text: the text of this request.
        encoding: ``GSM-7`` or ``UCS-2``.
        part: 1-based index of this part; 1 for an unsplit message.
        parts: how many parts the message has.
        reference: the concatenation reference shared by the parts, or ``None`` for a single part.
        interaction_id: the interaction it belongs to, if any.
        correlation: the core's own id for the message, echoed in broker reporting keys.
    """

    broker: str
    account: str
    sender: str
    recipient: str
    text: str
    encoding: str = "GSM-7"
    part: int = 1
    parts: int = 1
    reference: int | None = None
    interaction_id: str = ""
    correlation: str = ""
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
