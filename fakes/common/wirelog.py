"""What was on the wire for a captured record: the request a fake received and its answer, or its push.

The capture store keeps each message's fields in the broker's names; this keeps the bytes around them, for
the lab's console ("show the exact wire request and answer the fake saw"): for an MT, the method, path,
headers and body of the client's request and the status, headers and body of the fake's answer; for an MO
or a DLR, the push the fake made (method, URL, headers, body), whose attempts and outcomes the pusher logs.
Both are bounded rings (``limit`` entries, oldest forgotten first), so a long run keeps a flat memory; a
record whose exchange has been forgotten still has its fields in the capture.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, NamedTuple

from fakes.common.push import Push

__all__ = ["WIRE_LIMIT", "Exchange", "WireLog", "as_text"]

WIRE_LIMIT = 1000  # exchanges and pushes kept per fake


def as_text(body: bytes) -> str:
    """A body as text (UTF-8; a byte that is not becomes U+FFFD, so any body can be shown)."""
    return body.decode("utf-8", errors="replace")


class Exchange(NamedTuple):
    """A request a fake answered and its answer, as they were (formatted only when asked for)."""

    method: str
    path: str
    headers: Iterable[tuple[str, str]]
    body: bytes
    status: int
    answer_headers: Iterable[tuple[str, str]]
    answer_body: bytes

    def to_json(self) -> dict[str, Any]:
        """The exchange as the inspection API shows it (headers as [name, value] pairs, bodies as text)."""
        return {"request": {"method": self.method, "path": self.path,
                            "headers": [list(h) for h in self.headers], "body": as_text(self.body)},
                "answer": {"status": self.status, "headers": [list(h) for h in self.answer_headers],
                           "body": as_text(self.answer_body)}}


class WireLog:
    """Exchanges by capture ``seq`` and pushes by (kind, message id), each a bounded ring.

    Args:
        limit: entries kept in each ring.
    """

    def __init__(self, limit: int = WIRE_LIMIT) -> None:
        self.limit = limit
        self._exchanges: OrderedDict[int, Exchange] = OrderedDict()
        self._pushes: OrderedDict[tuple[str, str], Push] = OrderedDict()

    def exchange(self, seqs: Iterable[int], exchange: Exchange) -> None:
        """Remember the request and answer that captured the records numbered ``seqs``."""
        for seq in seqs:
            _put(self._exchanges, seq, exchange, self.limit)

    def push(self, push: Push) -> None:
        """Remember a push, by its kind and message id (a later push of the same message replaces it)."""
        _put(self._pushes, (push.kind, push.message_id), push, self.limit)

    def exchange_of(self, seq: int) -> Exchange | None:
        """The request and answer of record ``seq``, if still held."""
        return self._exchanges.get(seq)

    def push_of(self, kind: str, message_id: str) -> Push | None:
        """The push made for a record, if still held."""
        return self._pushes.get((kind, message_id))

    def clear(self) -> None:
        """Forget everything."""
        self._exchanges.clear()
        self._pushes.clear()


def _put(ring: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    ring[key] = value
    ring.move_to_end(key)
    if len(ring) > limit:
        ring.popitem(last=False)
