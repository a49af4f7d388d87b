"""The Web Services idle timeout for SMS chats: pure functions of interactions and ``now``, and a schedule.

SMS Technical Reference, "Configure Web Service Parameters" ("Set Web Services Parameters to Disconnect
Chats"): with ``EnableIdleTimeout`` set, a chat whose customer has been silent for ``PartyIdleTime`` seconds
becomes idle, and after a further ``PartyIdleGraceTime`` seconds it is disconnected; the Settings: SMS custom
attributes (``CUSTOM::OPTION:<name>``) override the global values for SMS chats (``WebServices.for_sms``). For
SMS chats **no idle warning and no disconnect message is sent** to the customer, so the node only changes the
interaction's state: nothing here produces an MT.

A node keeps an ``IdleSchedule`` (a heap of due times) so that its sweep looks only at the interactions
whose time has come, in the same time at 50,000 open interactions as at 100 (issue 20); ``idle_changes``
over every interaction stays as the definition the schedule is tested against.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sim.core.config import IdleTimeout
from sim.core.interactions import Direction, Interaction, InteractionState

__all__ = ["IDLE_REASON", "IdleChange", "IdleSchedule", "idle_changes", "last_customer_message",
           "next_change", "next_idle_check"]

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
    # The same sums as next_change, so that a due time and the state at it agree to the last bit
    # (``now - last >= t`` and ``now >= last + t`` differ for some floats, and the schedule then lost a chat).
    last = last_customer_message(interaction)
    if now >= last + idle.party_idle_time + idle.party_idle_grace_time:
        return InteractionState.DISCONNECTED
    if now >= last + idle.party_idle_time:
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
    """The earliest time an interaction will change state, or ``None`` (a scan; see ``IdleSchedule``)."""
    times = (next_change(interaction, idle) for interaction in interactions)
    return min((t for t in times if t is not None), default=None)


def next_change(interaction: Interaction, idle: IdleTimeout) -> float | None:
    """When ``interaction`` will next change state under the idle timeout, or ``None`` (never)."""
    if not idle.enabled:
        return None
    last = last_customer_message(interaction)
    if interaction.state is InteractionState.ACTIVE:
        return last + idle.party_idle_time
    if interaction.state is InteractionState.IDLE:
        return last + idle.party_idle_time + idle.party_idle_grace_time
    return None


class IdleSchedule:
    """When each interaction falls due for the idle timeout, as a heap: no sweep looks at every one.

    Theory of operation. ``update`` after every change of an interaction pushes ``(due time, id)`` and
    records that time as the interaction's current one; ``due(now)`` pops the entries whose time has come
    and reports an id only when its entry is still the current one (lazy deletion: an entry a later update
    replaced is dropped when it reaches the top). The heap is rebuilt when stale entries outnumber live
    ones, so it stays within about twice the number of interactions that can still change. The due time
    itself comes from ``next_change``, so the schedule agrees with ``idle_changes`` by construction.

    Args:
        idle: the idle settings for SMS chats (``WebServices.for_sms``).
    """

    def __init__(self, idle: IdleTimeout) -> None:
        self.idle = idle
        self._heap: list[tuple[float, str]] = []
        self._current: dict[str, float] = {}  # id -> its live entry's due time

    def __len__(self) -> int:
        return len(self._current)

    def update(self, interaction: Interaction) -> None:
        """Take ``interaction``'s next due time (none: it is disconnected, or the timeout is off)."""
        at = next_change(interaction, self.idle)
        if at is None:
            self._current.pop(interaction.id, None)
            return
        if self._current.get(interaction.id) == at:
            return
        self._current[interaction.id] = at
        heapq.heappush(self._heap, (at, interaction.id))
        if len(self._heap) > 2 * len(self._current) + 64:
            self._heap = [(when, key) for key, when in self._current.items()]
            heapq.heapify(self._heap)

    def entries(self, interactions: Iterable[Interaction]) -> list[tuple[float, str]]:
        """``(due time, id)`` of each of ``interactions`` that can still change (for ``replace``); reads
        nothing of the schedule, so it may run on another thread."""
        out = []
        for interaction in interactions:
            at = next_change(interaction, self.idle)
            if at is not None:
                out.append((at, interaction.id))
        return out

    def replace(self, entries: Iterable[tuple[float, str]]) -> None:
        """Hold exactly ``entries`` (``(due time, id)``, as ``entries`` makes them): one heapify, no scan."""
        self._heap = list(entries)
        heapq.heapify(self._heap)
        self._current = {key: at for at, key in self._heap}

    def retry(self, ids: Iterable[str], at: float) -> None:
        """Put ids ``due`` handed out back, due at ``at`` (their sweep failed: a core over HTTP was down);
        an id updated meanwhile keeps its own time."""
        for key in ids:
            if key not in self._current:
                self._current[key] = at
                heapq.heappush(self._heap, (at, key))

    def due(self, now: float, limit: int | None = None) -> list[str]:
        """The ids due at ``now``, earliest first, each once (at most ``limit``); they leave the schedule
        until updated, the rest stay for the next call."""
        out: list[str] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(out) < limit):
            at, key = heapq.heappop(self._heap)
            if self._current.get(key) == at:
                del self._current[key]
                out.append(key)
        return out

    def next_due(self) -> float | None:
        """The earliest due time, or ``None`` (for the timer task)."""
        while self._heap and self._current.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        """Forget every entry."""
        self._heap.clear()
        self._current.clear()
