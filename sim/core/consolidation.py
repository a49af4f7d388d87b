"""Consolidate Messages: short MTs for one destination combined while they wait (sans-IO).

SMS Technical Reference, "Configure Outbound Routing", step 8: "If a new message comes in and another message
is waiting to be sent, it can be added to the waiting message if the combined length is less than the SMS
maximum length of 160 characters." How long a message waits, and what joins two texts, the documents do not
say (GAP): both are settings. The consolidator keeps no clock: every call passes ``now``, and ``due(now)``
releases what waited long enough; ``next_due()`` tells a shell when to call again.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace

__all__ = ["ConsolidationSettings", "Consolidator", "Offered", "Released"]


@dataclass(frozen=True)
class ConsolidationSettings:
    """The Consolidate Messages check box and its two GAP settings.

    Attributes:
        enabled: the check box on the Outbound Routing tab (off by default, as in CIC).
        separator: what joins two consolidated texts (GAP; default one space).
        window: seconds a short message waits for company (GAP; default 2 s).
        max_length: the combined length must stay below this many characters (160, as that section says).
    """

    enabled: bool = False
    separator: str = " "
    window: float = 2.0
    max_length: int = 160


@dataclass(frozen=True)
class Released:
    """A message ready to send: its destination key, its (possibly combined) text, how many it holds, and
    the tag of the first message in it (the core's correlation id)."""

    key: Hashable
    text: str
    count: int
    first_at: float
    due: float
    tag: str = ""


@dataclass(frozen=True)
class Offered:
    """What an offer changed: the messages to send now (in order), and whether the offered one waits."""

    released: list[Released]
    held: bool


class Consolidator:
    """Holds short messages per destination key for ``window`` seconds, appending newcomers that fit.

    Args:
        settings: the consolidation settings; when disabled, every offer is released at once.
    """

    def __init__(self, settings: ConsolidationSettings) -> None:
        self.settings = settings
        self._waiting: dict[Hashable, Released] = {}

    def offer(self, key: Hashable, text: str, now: float, tag: str = "") -> Offered:
        """Offer a message; what must be sent now comes back in order (a waiting one before a newcomer)."""
        s = self.settings
        short = len(text) < s.max_length
        if not s.enabled or s.window <= 0:
            return Offered([Released(key, text, 1, now, now, tag)], held=False)
        waiting = self._waiting.pop(key, None)
        if waiting is not None and short:
            combined = waiting.text + s.separator + text
            if len(combined) < s.max_length:
                self._waiting[key] = replace(waiting, text=combined, count=waiting.count + 1)
                return Offered([], held=True)
        out = [waiting] if waiting is not None else []
        if short:
            self._waiting[key] = Released(key, text, 1, now, now + s.window, tag)
            return Offered(out, held=True)
        out.append(Released(key, text, 1, now, now, tag))
        return Offered(out, held=False)

    def due(self, now: float) -> list[Released]:
        """Release every message whose window has passed, oldest deadline first."""
        ready = sorted((r for r in self._waiting.values() if r.due <= now), key=lambda r: r.due)
        for r in ready:
            del self._waiting[r.key]
        return ready

    def next_due(self) -> float | None:
        """The earliest deadline of a waiting message, or ``None`` when nothing waits."""
        return min((r.due for r in self._waiting.values()), default=None)

    def waiting(self) -> list[Released]:
        """What is waiting now, oldest first."""
        return sorted(self._waiting.values(), key=lambda r: r.first_at)

    def flush(self) -> list[Released]:
        """Release everything that waits (for a shutdown or a switchover)."""
        out = self.waiting()
        self._waiting.clear()
        return out
