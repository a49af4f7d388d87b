"""The plug point: what an SMS core receives and what it returns (README, "Plugging in your own SMS core").

A core is sans-IO. A CIC node (or a test, or ``smslab route``) gives it inbound messages, send requests,
delivery receipts and the time; it answers with plain values: routing decisions, the MT requests to make,
refusals with their reason, and interaction snapshots. Any class with this shape can stand in for the
reference core: name it in the lab config as ``core: package.module:Class`` or register it under the
entry-point group ``smslab.cores``; ``smslab conformance`` runs the same checks on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sim.core.config import CicConfig
from sim.core.interactions import Interaction, InteractionState
from sim.core.routing import InboundDecision, OutboundDecision
from sim.core.segmentation import Segmentation
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms

__all__ = ["CoreContext", "Received", "Refused", "Sent", "SmsCore"]


@dataclass(frozen=True)
class CoreContext:
    """What a core gets besides its configuration: its sources of ids and concatenation references.

    Attributes:
        new_id: returns a fresh id for interactions and messages.
        next_reference: returns the next concatenation reference.
    """

    new_id: Callable[[], str]
    next_reference: Callable[[], int]


@dataclass(frozen=True)
class Received:
    """The outcome of an inbound SMS.

    Attributes:
        interaction: the interaction it joined or started, after adding it.
        decision: the routing decision (for a continued conversation, the one that started it).
        new: a new interaction was started.
        duplicate: the broker's message id was seen before; nothing was added.
    """

    interaction: Interaction
    decision: InboundDecision
    new: bool
    duplicate: bool = False


@dataclass(frozen=True)
class Sent:
    """An accepted send: the requests to make now (none while held for consolidation).

    Attributes:
        decision: the outbound route chosen and the formatted number.
        recipient: the number handed to the broker (formatted, internationalised when asked).
        requests: the MT requests to make now, in order.
        held: the message waits to be consolidated; ``due(now)`` will release it.
        segmentation: how the message's own text segments (before any consolidation).
        correlation: the core's id for the message.
        interaction_id: the interaction the message was added to ("" when it joined none); the node
            stores and mirrors that one interaction after a send, without looking through every one.
    """

    decision: OutboundDecision
    recipient: str
    requests: tuple[MtRequest, ...]
    held: bool
    segmentation: Segmentation
    correlation: str
    interaction_id: str = ""


@dataclass(frozen=True)
class Refused:
    """A refused send, with the reason shown to the agent and the HTTP status a shell answers with."""

    reason: str
    kind: str
    status: int = 422


@runtime_checkable
class SmsCore(Protocol):
    """The interface every SMS core implements. Constructed as ``Core(config, context)``."""

    def receive(self, sms: InboundSms, now: float) -> Received:
        """Route an inbound SMS and add it to its interaction."""

    def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """Route, format, consolidate and segment an outbound SMS."""

    def due(self, now: float) -> list[MtRequest]:
        """MT requests whose consolidation window has passed."""

    def next_due(self) -> float | None:
        """When ``due`` will next have something, or ``None``."""

    def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """Record a delivery receipt."""

    def interaction(self, interaction_id: str) -> Interaction | None:
        """The interaction with that id, or ``None``.

        The lab calls this for every agent send, delivery receipt and idle timeout, so a core answers it
        from an index, in the same time at 50,000 interactions as at 100 (never by a scan).
        """

    def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """Put one interaction in ``state``; the new copy, or ``None`` for an unknown id.

        The lab calls this for each interaction the Web Services idle timeout changes, so, like
        ``interaction``, a core finds it by id (never by a scan, nor by a whole snapshot and restore).
        """

    def forget(self, interaction_id: str) -> bool:
        """Let go of an ended interaction; whether the core held it.

        The lab calls this once an interaction has ended (the idle timeout disconnected it, or the daily
        purge deleted it) and its last record is in the node's store, so that memory holds the open
        conversations only. Afterwards ``interaction`` answers ``None`` for that id, ``interactions`` does
        not list it, and the customer's next MO starts a new interaction. Found by id, like ``interaction``.
        """

    def interactions(self) -> list[Interaction]:
        """Every interaction the core holds, oldest first (for views, not per message)."""

    def snapshot(self) -> dict[str, Any]:
        """The core's recoverable state as JSON-able data (mirrored to a backup)."""

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Take over the state of a snapshot (a backup recovering interactions).

        A node recovering at switchover calls this on a core it has just made, possibly on a worker thread
        so that the event loop keeps serving meanwhile; no other call reaches that core until it returns.
        """


CoreFactory = Callable[[CicConfig, CoreContext], SmsCore]
