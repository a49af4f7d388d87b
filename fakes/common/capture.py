"""The bounded capture store: what a fake received (MT) and sent (MO, DLR), for tests to inspect.

A ring buffer of ``limit`` records: when full, the oldest record is evicted and counted, so a fake that
runs for days under load keeps a flat memory instead of growing without bound.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, NamedTuple

__all__ = ["DEFAULT_CAPTURE_LIMIT", "KINDS", "CaptureStore", "Captured", "Kind"]

Kind = Literal["mt", "mo", "dlr"]
KINDS: tuple[str, ...] = ("mt", "mo", "dlr")

#: Records kept per fake unless the settings say otherwise (``capture.limit``).
DEFAULT_CAPTURE_LIMIT = 10_000


class Captured(NamedTuple):
    """One message a fake received or sent.

    Attributes:
        seq: the store's running number for it (1, 2, 3 ... never reused, even after ``clear``).
        kind: ``mt`` (received from a client), ``mo`` or ``dlr`` (generated and pushed by the fake).
        at: when, on the fake's clock.
        broker: the fake's name.
        sender: the originating address (for an MT the sender id; for an MO the handset).
        recipient: the destination address (for a DLR the handset the MT went to).
        text: the message text (empty for a DLR).
        message_id: the broker's id for the message (for a DLR: the MT's id it reports on).
        fields: the wire fields as received or sent, in the broker's own names.
        status: a broker-specific status (e.g. ``accepted``, or a DLR's ``Carrier Success/200``).
        state: for a DLR, the lab's outcome (a ``DeliveryState`` value); empty otherwise.
    """

    seq: int
    kind: Kind
    at: float
    broker: str
    sender: str
    recipient: str
    text: str
    message_id: str
    fields: Mapping[str, Any]
    status: str = ""
    state: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (``from``/``to`` named as the inspection API filters them)."""
        return {
            "seq": self.seq, "kind": self.kind, "at": self.at, "broker": self.broker,
            "from": self.sender, "to": self.recipient, "text": self.text,
            "message_id": self.message_id, "fields": dict(self.fields),
            "status": self.status, "state": self.state,
        }


class CaptureStore:
    """A ring buffer of ``Captured`` records with filters and counters.

    Args:
        broker: the fake's name, stamped on every record.
        limit: how many records to keep; older ones are evicted.
    """

    def __init__(self, broker: str, limit: int = DEFAULT_CAPTURE_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"'limit' must be at least 1 (got {limit!r})")
        self.broker = broker
        self.limit = limit
        self._records: deque[Captured] = deque(maxlen=limit)
        self._seq = 0
        self.total = 0
        self.evicted = 0
        #: Called with each new record, in order, as it is added (the lab's event stream listens here).
        self.listeners: list[Callable[[Captured], None]] = []

    def add(self, kind: Kind, at: float, *, sender: str = "", recipient: str = "", text: str = "",
            message_id: str = "", fields: Mapping[str, Any] | None = None, status: str = "",
            state: str = "") -> Captured:
        """Record one message and return the record."""
        self._seq += 1
        self.total += 1
        if len(self._records) == self.limit:
            self.evicted += 1
        record = Captured(self._seq, kind, at, self.broker, sender, recipient, text, message_id,
                          dict(fields or {}), status, state)
        self._records.append(record)
        for listener in self.listeners:
            listener(record)
        return record

    def query(self, kind: str | None = None, *, to: str | None = None, from_: str | None = None,
              since: float | None = None, until: float | None = None, limit: int | None = None,
              message_id: str | None = None, after: int = 0) -> list[Captured]:
        """Records matching every given filter, oldest first.

        Args:
            kind: ``mt``, ``mo`` or ``dlr``.
            to: exact recipient.
            from_: exact sender.
            since: records at or after this time.
            until: records at or before this time.
            limit: at most this many (the oldest matching ones).
            message_id: exact message id.
            after: only records whose ``seq`` is above this (a page's cursor); they are found without
                looking at the records before them, since the ring holds consecutive numbers.
        """
        out: list[Captured] = []
        records: Iterable[Captured] = self._records
        if after > 0 and self._records:
            skip = after - self._records[0].seq + 1
            records = itertools.islice(self._records, max(0, skip), None)
        for record in records:
            if ((kind is None or record.kind == kind) and (to is None or record.recipient == to)
                    and (from_ is None or record.sender == from_)
                    and (since is None or record.at >= since) and (until is None or record.at <= until)
                    and (message_id is None or record.message_id == message_id)):
                out.append(record)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def clear(self) -> None:
        """Forget every record (counters and the running number keep going)."""
        self._records.clear()

    def stats(self) -> dict[str, int]:
        """Counters for the health endpoint."""
        return {"held": len(self._records), "limit": self.limit, "total": self.total,
                "evicted": self.evicted}

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Captured]:
        return iter(tuple(self._records))
