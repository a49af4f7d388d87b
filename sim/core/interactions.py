"""SMS interactions: who talks, where the conversation was routed, its transcript, and its state.

An inbound SMS continues the open interaction between the same customer (ANI) and local address (DNIS), or
starts a new one. An interaction's snapshot is plain JSON-able data; a CIC node mirrors snapshots to the
backup, and when SMS Interaction Recovery is in effect the backup restores them, so the same interaction,
transcript intact, goes on after a switchover (SMS Technical Reference, "Recovery of SMS Interactions in
Switchover").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from sim.core.errors import InputError
from sim.core.routing import Destination, DestinationKind

__all__ = [
    "SNAPSHOT_VERSION",
    "Direction",
    "Interaction",
    "InteractionBook",
    "InteractionState",
    "TranscriptEntry",
]

SNAPSHOT_VERSION = 1


class InteractionState(Enum):
    """The life of an SMS interaction (Web Services idle handling moves it from ACTIVE to IDLE)."""

    ACTIVE = "active"
    IDLE = "idle"
    DISCONNECTED = "disconnected"


class Direction(Enum):
    """Which way a transcript line went."""

    INBOUND = "in"
    OUTBOUND = "out"


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One message in an interaction's transcript."""

    direction: Direction
    text: str
    at: float
    message_id: str = ""
    party: str = ""


@dataclass(frozen=True, slots=True)
class Interaction:
    """An SMS interaction as the core keeps it.

    Attributes:
        id: the interaction id, from the core's injected id source.
        customer: the customer's mobile number (the ANI of their messages).
        local: the local address they write to (the DNIS).
        broker: the broker the conversation runs through.
        destination: where routing sent it (Chat, a Handler, a Queue, or email routing).
        state: active, idle or disconnected.
        created_at: when the first message arrived.
        updated_at: when the last message was added.
        transcript: every message, oldest first.
    """

    id: str
    customer: str
    local: str
    broker: str
    destination: Destination
    state: InteractionState = InteractionState.ACTIVE
    created_at: float = 0.0
    updated_at: float = 0.0
    transcript: tuple[TranscriptEntry, ...] = field(default_factory=tuple)

    def add(self, entry: TranscriptEntry) -> Interaction:
        """A copy with ``entry`` appended; a message wakes an idle interaction."""
        state = InteractionState.ACTIVE if self.state is InteractionState.IDLE else self.state
        return replace(self, transcript=(*self.transcript, entry), updated_at=entry.at, state=state)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a snapshot (JSON-able)."""
        return {
            "id": self.id, "customer": self.customer, "local": self.local, "broker": self.broker,
            "destination": {"kind": self.destination.kind.value, "name": self.destination.name},
            "state": self.state.value, "created_at": self.created_at, "updated_at": self.updated_at,
            "transcript": [
                {"direction": e.direction.value, "text": e.text, "at": e.at,
                 "message_id": e.message_id, "party": e.party}
                for e in self.transcript
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interaction:
        """Rebuild an interaction from ``to_dict`` output.

        Raises:
            InputError: the data is not a snapshot of an interaction.
        """
        try:
            dest = data["destination"]
            return cls(
                str(data["id"]), str(data["customer"]), str(data["local"]), str(data["broker"]),
                _destination(_KINDS[dest["kind"]], str(dest.get("name", ""))), _STATES[data["state"]],
                float(data["created_at"]), float(data["updated_at"]),
                tuple(TranscriptEntry(_DIRECTIONS[e["direction"]], str(e["text"]), float(e["at"]),
                                      str(e.get("message_id", "")), str(e.get("party", "")))
                      for e in data["transcript"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"not an interaction snapshot: {exc!r}") from exc


# from_dict runs for every record a recovery or a full sync reads (50,000 at a time): enum values by a dict
# lookup rather than by calling the enum, and one shared Destination per (kind, name), since they are few
# (the routes') and frozen; the table is bounded, so odd input cannot grow it without end.
_KINDS = {k.value: k for k in DestinationKind}
_STATES = {s.value: s for s in InteractionState}
_DIRECTIONS = {d.value: d for d in Direction}
_SHARED: dict[tuple[DestinationKind, str], Destination] = {}
_SHARED_LIMIT = 1024


def _destination(kind: DestinationKind, name: str) -> Destination:
    found = _SHARED.get((kind, name))
    if found is None:
        found = Destination(kind, name)
        if len(_SHARED) < _SHARED_LIMIT:
            _SHARED[(kind, name)] = found
    return found


class InteractionBook:
    """The interactions a core holds, indexed by id and by open (customer, local) conversation.

    Iteration is in creation order (oldest first while the clock goes forward) with no sort: the id index
    is a dict, which keeps the order interactions were started in (an update keeps an interaction's
    place), and ``restore`` puts a snapshot's interactions back oldest first, by ``(created_at, id)``.

    Args:
        new_id: called for each new interaction's id (a counter in tests, a uuid source in a node).
    """

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self._by_id: dict[str, Interaction] = {}
        self._open: dict[tuple[str, str], str] = {}

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction with that id, if any."""
        return self._by_id.get(interaction_id)

    def open_for(self, customer: str, local: str) -> Interaction | None:
        """The open interaction between ``customer`` and ``local``, if any."""
        found = self._open.get((customer, local))
        return self._by_id.get(found) if found else None

    def start(self, customer: str, local: str, broker: str, destination: Destination,
              now: float) -> Interaction:
        """Open a new interaction."""
        interaction = Interaction(self._new_id(), customer, local, broker, destination,
                                  created_at=now, updated_at=now)
        self.put(interaction)
        return interaction

    def put(self, interaction: Interaction) -> None:
        """Store ``interaction`` (new or updated), keeping the open-conversation index in step."""
        self._by_id[interaction.id] = interaction
        key = (interaction.customer, interaction.local)
        if interaction.state is InteractionState.DISCONNECTED:
            if self._open.get(key) == interaction.id:
                del self._open[key]
        else:
            self._open[key] = interaction.id

    def forget(self, interaction_id: str) -> bool:
        """Drop one interaction (and its place in the open index); whether it was held."""
        interaction = self._by_id.pop(interaction_id, None)
        if interaction is None:
            return False
        key = (interaction.customer, interaction.local)
        if self._open.get(key) == interaction_id:
            del self._open[key]
        return True

    def snapshot(self) -> dict[str, Any]:
        """Every interaction as plain data, for mirroring to a backup."""
        return {"version": SNAPSHOT_VERSION, "interactions": [i.to_dict() for i in self]}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the book's content with a snapshot's.

        Raises:
            InputError: the snapshot is of another version or malformed.
        """
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise InputError(f"snapshot version {snapshot.get('version')!r} is not {SNAPSHOT_VERSION}")
        restored = sorted((Interaction.from_dict(d) for d in snapshot.get("interactions", [])),
                          key=lambda i: (i.created_at, i.id))  # a mirror keeps its records in another order
        self._by_id.clear()
        self._open.clear()
        for interaction in restored:
            self.put(interaction)
