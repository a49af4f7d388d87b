"""An ARR server farm and its health test, sans-IO (TechNet "Health Test Page").

Theory of operation. The proxy probes every member with the URL test; ``judge`` decides from the answer
(status in the acceptable set, body containing the response-match text, an answer at all) and ``Farm``
flips a member's health on a single probe: one failure takes it offline, one success brings it back; no
counter is documented (TechNet "Health Test Page"; richma, "Application Request Routing health check
features"). The live-traffic test can only mark a member unhealthy. ``pick`` chooses the member for a
request by round robin over the members that may take traffic, or says why none may (502.4). Minimum
servers (Won Yoo, "Meaning of Minimum servers") is a setting with both documented branches: honour health
(never route to an unhealthy member) or disregard health (route to every available member while fewer than
``min_servers`` are healthy). Member states 0..3 follow ARR's ``SetState``: Available, Drain, Unavailable,
Unavailable Gracefully.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum

__all__ = ["Farm", "HealthChange", "HealthTest", "MemberState", "MinServers", "NoMember", "judge",
           "parse_status_ranges"]


class MemberState(Enum):
    """ARR's administrative member states (SetState 0..3)."""

    AVAILABLE = 0
    DRAIN = 1
    UNAVAILABLE = 2
    UNAVAILABLE_GRACEFULLY = 3


class MinServers(Enum):
    """The two readings of ARR's Minimum servers (which one ARR takes is not public: a setting)."""

    HONOR_HEALTH = "honor-health"
    DISREGARD_HEALTH = "disregard-health"


def parse_status_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """Parse ARR's acceptable status codes, e.g. ``200-399,401``, into inclusive ranges.

    Raises:
        ValueError: a part is not a code or a range of codes within 100-999.
    """
    ranges = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            lo, hi = int(low), int(high or low)
        except ValueError as exc:
            raise ValueError(f"{part.strip()!r} is not a status code or a range such as 200-399") from exc
        if not 100 <= lo <= hi <= 999:
            raise ValueError(f"{part.strip()!r} must be within 100-999, low to high")
        ranges.append((lo, hi))
    return tuple(ranges)


@dataclass(frozen=True)
class HealthTest:
    """The farm's URL test settings.

    Attributes:
        url: the probe URL (for the CIC farm: a broker's SMS URL with ``healthcheckignore=1``).
        interval: seconds between probes (ARR default 30).
        timeout: seconds before a probe without answer fails (ARR default 30).
        acceptable: acceptable status ranges (GAP in ARR's documentation; smslab default 200-399).
        response_match: text the body must contain; empty means any body.
        min_servers: ARR's Minimum servers (default 0: no effect).
        min_servers_mode: which reading of Minimum servers applies.
        burst: probes sent per interval (1; about 15 reproduces the reported bursts).
    """

    url: str = ""
    interval: float = 30.0
    timeout: float = 30.0
    acceptable: tuple[tuple[int, int], ...] = ((200, 399),)
    response_match: str = ""
    min_servers: int = 0
    min_servers_mode: MinServers = MinServers.HONOR_HEALTH
    burst: int = 1

    def probing(self, url: str) -> HealthTest:
        """This test, probing ``url`` unless it names a URL of its own (the ``proxy.health.url`` setting)."""
        return self if self.url else replace(self, url=url)


def judge(test: HealthTest, status: int | None, body: str, failure: str = "") -> tuple[bool, str]:
    """Whether a probe answer passes the URL test, and why not.

    A ``None`` status means no answer: ``failure`` says why (refused, timed out, TLS), when the caller
    knows; otherwise the probe is taken to have timed out.
    """
    if status is None:
        return False, failure or "no response within the timeout"
    if not any(lo <= status <= hi for lo, hi in test.acceptable):
        return False, f"status {status} is not acceptable"
    if test.response_match and test.response_match not in body:
        return False, f"body does not contain {test.response_match!r}"
    return True, "ok"


@dataclass(frozen=True)
class HealthChange:
    """An event raised when a member's health flips."""

    at: float
    member: str
    healthy: bool
    reason: str


@dataclass(frozen=True)
class NoMember:
    """No member may take the request: ARR answers 502.4 itself."""

    reason: str
    status: str = "502.4"


@dataclass
class Farm:
    """The members of a server farm, their health and states, and round-robin selection.

    Args:
        members: member names (host:port), in configuration order.
        test: the URL test settings.
        events_limit: how many health changes are kept (bounded memory).
    """

    members: list[str]
    test: HealthTest = field(default_factory=HealthTest)
    events_limit: int = 1000
    healthy: dict[str, bool] = field(init=False)
    state: dict[str, MemberState] = field(init=False)
    last_probe: dict[str, tuple[float, int | None, str]] = field(init=False)
    events: deque[HealthChange] = field(init=False)
    _next: int = 0

    def __post_init__(self) -> None:
        # Members start healthy until a probe says otherwise, as a farm does when created.
        self.healthy = dict.fromkeys(self.members, True)
        self.state = dict.fromkeys(self.members, MemberState.AVAILABLE)
        self.last_probe = {}
        self.events = deque(maxlen=self.events_limit)

    def record_probe(self, member: str, status: int | None, body: str, now: float,
                     failure: str = "") -> HealthChange | None:
        """Apply one probe's outcome; returns the health change it caused, if any.

        ``failure`` says why there was no answer (``status`` ``None``), for the farm view.
        """
        ok, reason = judge(self.test, status, body, failure)
        self.last_probe[member] = (now, status, reason)
        return self._set(member, ok, reason, now)

    def live_failure(self, member: str, status: int, now: float) -> HealthChange | None:
        """The live-traffic test: a failure status in real traffic can only mark a member unhealthy."""
        return self._set(member, False, f"live traffic answered {status}", now) if status >= 500 else None

    def bring_back(self, member: str, now: float) -> HealthChange | None:
        """The manual "bring back" of the Monitoring and Management page."""
        return self._set(member, True, "brought back by hand", now)

    def _set(self, member: str, healthy: bool, reason: str, now: float) -> HealthChange | None:
        if self.healthy[member] == healthy:
            return None
        self.healthy[member] = healthy
        change = HealthChange(now, member, healthy, reason)
        self.events.append(change)
        return change

    def eligible(self) -> list[str]:
        """Members that may take a request now, per health, state and Minimum servers."""
        available = [m for m in self.members if self.state[m] is MemberState.AVAILABLE]
        healthy = [m for m in available if self.healthy[m]]
        if len(healthy) < self.test.min_servers and self.test.min_servers_mode is MinServers.DISREGARD_HEALTH:
            return available
        return healthy

    def pick(self) -> str | NoMember:
        """The member for the next request (round robin), or ``NoMember`` for a 502.4."""
        eligible = self.eligible()
        if not eligible:
            return NoMember("no member of the farm is healthy and available")
        member = eligible[self._next % len(eligible)]
        self._next += 1
        return member
