"""The one fault hook of a fake: faults are data, checked in exactly two places.

Request faults (latency, error, hang, reset, malformed, throttle) are applied by the fake's one request
middleware to its wire routes (never to ``/_smslab/``); push faults (duplicate MO, dropped or reordered
DLR) by the one check in the pusher. A fault can be limited to the next ``count`` matches, to paths
matching ``path`` (``re.search``) and to a ``probability`` drawn from the fake's seeded generator.
Faults come from the settings (``faults:``) and from ``PUT /_smslab/faults``; both read them with
``read_faults`` so a bad one is reported with its field path.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from sim.core.errors import ConfigError
from sim.core.schema import MISSING, Problems, Reader

__all__ = ["PUSH_FAULTS", "REQUEST_FAULTS", "Fault", "FaultHook", "FaultKind", "read_fault", "read_faults"]


class FaultKind(Enum):
    """What a fault does."""

    LATENCY = "latency"            # wait ``delay`` seconds, then answer normally
    ERROR = "error"                # answer ``status`` with ``body`` (or the broker's own error body)
    HANG = "hang"                  # wait ``delay`` seconds without answering, then drop the connection
    RESET = "reset"                # drop the connection at once (TCP RST), no answer
    MALFORMED = "malformed"        # handle the request, then answer a broken body (``body`` or a cut)
    THROTTLE = "throttle"          # answer 429 with ``Retry-After: retry_after``, broker's own body
    DUPLICATE_MO = "duplicate_mo"  # push an MO twice
    DROP_DLR = "drop_dlr"          # never push a DLR
    REORDER_DLR = "reorder_dlr"    # hold a DLR back ``delay`` seconds so later ones overtake it


REQUEST_FAULTS = frozenset({FaultKind.LATENCY, FaultKind.ERROR, FaultKind.HANG, FaultKind.RESET,
                            FaultKind.MALFORMED, FaultKind.THROTTLE})
#: Which push kind each push fault applies to.
PUSH_FAULTS = {FaultKind.DUPLICATE_MO: "mo", FaultKind.DROP_DLR: "dlr", FaultKind.REORDER_DLR: "dlr"}

# Default durations: a hang outlasts CIC's 60 s broker timeout (SMS Technical Reference, "Configure Broker
# Message Terminated settings").
_DEFAULT_DELAY = {FaultKind.LATENCY: 1.0, FaultKind.HANG: 120.0, FaultKind.REORDER_DLR: 5.0}


@dataclass(frozen=True)
class Fault:
    """One active fault.

    Attributes:
        kind: what it does.
        count: how many more matches it applies to; ``None`` for every match until removed.
        path: only requests whose path matches (``re.search``); ``None`` for all (request faults).
        probability: chance it applies to a match, drawn from the fake's seeded generator.
        delay: seconds, for latency, hang and reorder_dlr.
        status: HTTP status, for error (default 500).
        body: the body for error and malformed; empty means the broker's own body (error) or the real
            body cut in half (malformed).
        content_type: the content type of ``body``.
        retry_after: seconds in ``Retry-After``, for throttle.
    """

    kind: FaultKind
    count: int | None = None
    path: re.Pattern[str] | None = None
    probability: float = 1.0
    delay: float = 0.0
    status: int = 500
    body: str = ""
    content_type: str = "text/plain"
    retry_after: int = 1

    def to_json(self) -> dict[str, Any]:
        """The fault as the inspection API shows it (and accepts it back)."""
        out: dict[str, Any] = {"kind": self.kind.value, "count": self.count, "probability": self.probability}
        if self.path is not None:
            out["path"] = self.path.pattern
        if self.kind in (FaultKind.LATENCY, FaultKind.HANG, FaultKind.REORDER_DLR):
            out["delay"] = self.delay
        if self.kind is FaultKind.ERROR:
            out["status"] = self.status
        if self.kind in (FaultKind.ERROR, FaultKind.MALFORMED):
            out.update(body=self.body, content_type=self.content_type)
        if self.kind is FaultKind.THROTTLE:
            out["retry_after"] = self.retry_after
        return out


def read_fault(r: Reader) -> Fault:
    """Read one fault mapping (``kind`` required; the rest optional), recording problems on ``r``."""
    kind = r.choice("kind", FaultKind)
    count = r.raw("count", None)
    if count is not None:
        count = r.integer("count", minimum=1)
    path = r.regex("path") if r.has("path") else None
    fault = Fault(
        kind=kind, count=count, path=path,
        probability=r.number("probability", 1.0, minimum=0.0, maximum=1.0),
        delay=r.number("delay", _DEFAULT_DELAY.get(kind, 0.0), minimum=0.0),
        status=r.integer("status", 500, minimum=100, maximum=599),
        body=r.text("body", ""), content_type=r.text("content_type", "text/plain", allow_empty=False),
        retry_after=r.integer("retry_after", 1, minimum=0),
    )
    r.done()
    return fault


def read_faults(data: object, path: str = "faults", reader: Reader | None = None) -> list[Fault]:
    """Read a list of faults (a single mapping counts as a list of one).

    Args:
        data: the list (or mapping) as parsed from YAML or JSON.
        path: its field path, for problems.
        reader: the reader whose problem list collects problems; a new one when omitted, in which case
            problems are raised at once as ``ConfigError``.
    """
    problems = Problems() if reader is None else reader.problems
    items = [data] if isinstance(data, dict) else data
    if items is None or items is MISSING:
        items = []
    if not isinstance(items, list):
        problems.add(path, data, "must be a list of faults")
        items = []
    faults = [read_fault(Reader(item, f"{path}[{i}]", problems)) for i, item in enumerate(items)]
    if reader is None and problems:
        raise ConfigError(list(problems))
    return faults


class FaultHook:
    """The active faults of one fake, consulted by its middleware and its pusher.

    Args:
        rng: the fake's seeded generator (for ``probability``).
        faults: the faults active from the start (from the settings).
    """

    def __init__(self, rng: random.Random, faults: Iterable[Fault] = ()) -> None:
        self.rng = rng
        self._faults: list[Fault] = list(faults)
        self.applied = 0

    def set(self, faults: Iterable[Fault]) -> None:
        """Replace every active fault."""
        self._faults = list(faults)

    def add(self, fault: Fault) -> None:
        """Add one fault after the others."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Remove every fault."""
        self._faults = []

    @property
    def armed(self) -> bool:
        """Whether any fault is active (the hot paths skip the checks when none is)."""
        return bool(self._faults)

    def active(self) -> list[Fault]:
        """The active faults, in the order they are checked."""
        return list(self._faults)

    def for_request(self, path: str) -> Fault | None:
        """The first request fault that applies to a request for ``path`` (consuming one of its count)."""
        return self._take(lambda f: f.kind in REQUEST_FAULTS
                          and (f.path is None or bool(f.path.search(path))))

    def for_push(self, kind: str, url: str) -> Fault | None:
        """The first push fault that applies to a push of ``kind`` (``mo``/``dlr``) to ``url``."""
        return self._take(lambda f: PUSH_FAULTS.get(f.kind) == kind
                          and (f.path is None or bool(f.path.search(url))))

    def _take(self, matches: Any) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if not matches(fault):
                continue
            if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                left = fault.count - 1
                if left:
                    self._faults[i] = replace(fault, count=left)
                else:
                    del self._faults[i]
            self.applied += 1
            return fault
        return None
