"""The Web Services idle timeout for SMS chats, as pure functions of the interactions and ``now``.

Seed, "Configure Web Service Parameters" ("Set Web Services Parameters to Disconnect Chats"): with
``EnableIdleTimeout`` set, a chat whose customer has been silent for ``PartyIdleTime`` seconds becomes
idle, and after a further ``PartyIdleGraceTime`` seconds it is disconnected; the Settings: SMS custom
attributes (``CUSTOM::OPTION:<name>``) override the global values for SMS chats
(``WebServices.for_sms``). For SMS chats **no idle warning and no disconnect message is sent** to the
customer, so the node only changes the interaction's state: nothing here produces an MT.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sim.core.config import IdleTimeout
from sim.core.interactions import Direction, Interaction, InteractionState

__all__ = ["IDLE_REASON", "IdleChange", "idle_changes", "last_customer_message", "next_idle_check"]

IDLE_REASON = "idle timeout"


@dataclass(frozen=True)
class IdleChange:
    """One interaction whose state the idle timeout changes, with the new copy and why."""

    before: Interaction
    after: Interaction
    reason: str = IDLE_REASON


def last_customer_message(interaction: Interaction) -> float:
    """When the customer last wrote (the interaction's start when the transcript has no inbound line)."""
    times = [e.at for e in interaction.transcript if e.direction is Direction.INBOUND]
    return max(times) if times else interaction.created_at


def _state_at(interaction: Interaction, idle: IdleTimeout, now: float) -> InteractionState:
    silent = now - last_customer_message(interaction)
    if silent >= idle.party_idle_time + idle.party_idle_grace_time:
        return InteractionState.DISCONNECTED
    if silent >= idle.party_idle_time:
        return InteractionState.IDLE
    return InteractionState.ACTIVE


def idle_changes(interactions: Iterable[Interaction], idle: IdleTimeout, now: float) -> list[IdleChange]:
    """The interactions that become idle or disconnected at ``now`` (none when the timeout is off).

    An idle interaction does not go back to active here: only a customer message wakes it (the core's
    ``Interaction.add``). Disconnected interactions stay as they are.
    """
    if not idle.enabled:
        return []
    changes = []
    for interaction in interactions:
        if interaction.state is InteractionState.DISCONNECTED:
            continue
        state = _state_at(interaction, idle, now)
        if state is InteractionState.ACTIVE or state is interaction.state:
            continue
        changes.append(IdleChange(interaction, replace(interaction, state=state)))
    return changes


def next_idle_check(interactions: Iterable[Interaction], idle: IdleTimeout) -> float | None:
    """The earliest time an interaction will change state, or ``None`` (for the timer task)."""
    if not idle.enabled:
        return None
    times = []
    for interaction in interactions:
        last = last_customer_message(interaction)
        if interaction.state is InteractionState.ACTIVE:
            times.append(last + idle.party_idle_time)
        elif interaction.state is InteractionState.IDLE:
            times.append(last + idle.party_idle_time + idle.party_idle_grace_time)
    return min(times) if times else None
