"""Where a CIC node calls its SMS core: the ``SmsCore`` calls, awaited, so a core may live in another process.

The core protocol is synchronous and sans-IO; a node is asyncio. ``NodeCore`` is what the node's
``Records`` awaits: ``LocalCore`` runs an in-process core's calls directly (they are quick and never block),
``sim.cic.remote_core.RemoteCore`` sends each one over HTTP with a timeout. ``as_node_core`` takes either
kind, so a ``new_core`` callable may hand back a plain ``SmsCore``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol, cast, runtime_checkable

from sim.core.interactions import Interaction, InteractionState
from sim.core.protocol import Received, Refused, Sent, SmsCore
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms

__all__ = ["CHUNK", "LocalCore", "NodeCore", "as_node_core"]

CHUNK = 200  # interactions a retired core forgets between two turns of the event loop


@runtime_checkable
class NodeCore(Protocol):
    """The SMS core as a node calls it: each ``SmsCore`` call awaited, and a way to let it go.

    An implementation says so with a true class attribute ``is_node_core`` (``as_node_core`` reads it).
    """

    is_node_core: bool

    async def receive(self, sms: InboundSms, now: float) -> Received:
        """``SmsCore.receive``."""

    async def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """``SmsCore.send``."""

    async def due(self, now: float) -> list[MtRequest]:
        """``SmsCore.due``."""

    async def next_due(self) -> float | None:
        """``SmsCore.next_due``."""

    async def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """``SmsCore.delivery_receipt``."""

    async def interaction(self, interaction_id: str) -> Interaction | None:
        """``SmsCore.interaction``."""

    async def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """``SmsCore.set_state``."""

    async def forget(self, interaction_id: str) -> bool:
        """``SmsCore.forget``."""

    async def interactions(self) -> list[Interaction]:
        """``SmsCore.interactions``."""

    async def restore(self, snapshot: Mapping[str, Any]) -> None:
        """``SmsCore.restore``."""

    async def retire(self) -> None:
        """Let go of the core once the node has replaced it."""

    def describe(self) -> dict[str, Any]:
        """What ``GET /_smslab/node`` shows of the core."""


class LocalCore:
    """An in-process ``SmsCore`` behind the node's seam: each call runs at once, on the event loop."""

    is_node_core = True

    def __init__(self, core: SmsCore) -> None:
        self.core = core

    async def receive(self, sms: InboundSms, now: float) -> Received:
        """``SmsCore.receive``."""
        return self.core.receive(sms, now)

    async def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """``SmsCore.send``."""
        return self.core.send(message, now)

    async def due(self, now: float) -> list[MtRequest]:
        """``SmsCore.due``."""
        return self.core.due(now)

    async def next_due(self) -> float | None:
        """``SmsCore.next_due``."""
        return self.core.next_due()

    async def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """``SmsCore.delivery_receipt``."""
        self.core.delivery_receipt(receipt, now)

    async def interaction(self, interaction_id: str) -> Interaction | None:
        """``SmsCore.interaction``."""
        return self.core.interaction(interaction_id)

    async def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """``SmsCore.set_state``."""
        return self.core.set_state(interaction_id, state)

    async def forget(self, interaction_id: str) -> bool:
        """``SmsCore.forget``."""
        return self.core.forget(interaction_id)

    async def interactions(self) -> list[Interaction]:
        """``SmsCore.interactions``."""
        return self.core.interactions()

    async def restore(self, snapshot: Mapping[str, Any]) -> None:
        """``SmsCore.restore``, on a worker thread (no other call reaches the core meanwhile)."""
        await asyncio.to_thread(self.core.restore, snapshot)

    async def retire(self) -> None:
        """Forget every interaction, ``CHUNK`` at a time with the event loop running between.

        Dropped at once, a core of 50,000 interactions is freed in one go that holds the event loop for
        about 80 ms (measured); forgotten a chunk at a time, it goes unnoticed.
        """
        ids = [interaction.id for interaction in self.core.interactions()]
        for start in range(0, len(ids), CHUNK):
            for interaction_id in ids[start:start + CHUNK]:
                self.core.forget(interaction_id)
            await asyncio.sleep(0)

    def describe(self) -> dict[str, Any]:
        """The core's class."""
        kind = type(self.core)
        return {"kind": "in-process", "class": f"{kind.__module__}:{kind.__qualname__}"}


def as_node_core(core: SmsCore | NodeCore) -> NodeCore:
    """``core`` as the node calls it (an in-process core wrapped in ``LocalCore``)."""
    if getattr(core, "is_node_core", False):
        return cast(NodeCore, core)
    return LocalCore(cast(SmsCore, core))
