"""Inbound and outbound SMS routing, as small pattern objects over ordered tables.

Inbound (SMS Technical Reference, "Configure Inbound Routing"): routes of type ANI, Body or DNIS are tried
in priority order; a route's regular expression must match the whole field (``317.*`` selects ANIs whose
first three digits are 317), Body with DOTALL so a multi-line text can match; the first match wins, else
the default route. With no inbound routes at all, messages go to email routing. Every outcome is an
explicit value.

Outbound (same document, "Configure Outbound Routing"): the highest-ranking route whose regular expression
matches the whole DNIS wins; its Formatted Number replaces ``$0`` with the whole input and ``$1``..``$9``
with the groups, every other character literal; the route names the broker and account. Access control:
the sender's phone-number classification must be one the route permits, else the send is refused; there
is no fall-through to a lower route (an agent sees an error, per that section's note).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "EMAIL_ROUTING",
    "AccessDenied",
    "Destination",
    "DestinationKind",
    "FieldType",
    "InboundDecision",
    "InboundRoute",
    "NoOutboundRoute",
    "OutboundDecision",
    "OutboundResult",
    "OutboundRoute",
    "format_number",
    "formatted_number_groups",
    "route_inbound",
    "route_outbound",
]


class FieldType(Enum):
    """Which part of an inbound message an inbound route's filter reads."""

    ANI = "ANI"
    BODY = "Body"
    DNIS = "DNIS"


class DestinationKind(Enum):
    """Where an inbound SMS goes; EMAIL is the fallback when no inbound routes exist."""

    CHAT = "Chat"
    HANDLER = "Handler"
    QUEUE = "Queue"
    EMAIL = "Email"


@dataclass(frozen=True)
class Destination:
    """An inbound destination: Chat (no name), a Handler by name, or a user or workgroup Queue by name."""

    kind: DestinationKind
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}".strip()


@dataclass(frozen=True)
class InboundRoute:
    """One row of the Inbound Routing tab."""

    type: FieldType
    pattern: re.Pattern[str]
    destination: Destination

    def matches(self, ani: str, dnis: str, body: str) -> bool:
        """Whether the route's regular expression matches the whole field it reads."""
        kind = self.type
        value = ani if kind is FieldType.ANI else dnis if kind is FieldType.DNIS else body
        return self.pattern.fullmatch(value) is not None


@dataclass(frozen=True)
class InboundDecision:
    """Where an inbound SMS goes and why.

    Attributes:
        destination: the chosen destination.
        route_index: the 0-based priority of the matching route; ``None`` for the default route or email.
        via: ``"route"``, ``"default"`` or ``"email"``.
    """

    destination: Destination
    route_index: int | None
    via: str


EMAIL_ROUTING = InboundDecision(Destination(DestinationKind.EMAIL), None, "email")


def route_inbound(
    routes: Sequence[InboundRoute], default: Destination | None, ani: str, dnis: str, body: str
) -> InboundDecision:
    """Route an inbound SMS: the first matching route in priority order, else the default route.

    Args:
        routes: the inbound routes, highest priority first.
        default: the default route's destination; required whenever ``routes`` is non-empty.
        ani: the sender's mobile number.
        dnis: the dialed number.
        body: the message text.
    """
    if not routes:
        return EMAIL_ROUTING
    for index, route in enumerate(routes):
        if route.matches(ani, dnis, body):
            return InboundDecision(route.destination, index, "route")
    if default is None:  # the config model refuses this; a hand-built table can still get here
        return EMAIL_ROUTING
    return InboundDecision(default, None, "default")


_REPLACEMENT = re.compile(r"\$(\d)")


def formatted_number_groups(template: str) -> list[int]:
    """The group numbers a Formatted Number refers to (``$0`` is the whole input)."""
    return [int(m.group(1)) for m in _REPLACEMENT.finditer(template)]


def format_number(template: str, match: re.Match[str]) -> str:
    """Fill a Formatted Number: ``$0`` the whole input, ``$1``..``$9`` groups, everything else literal.

    A group that did not take part in the match contributes nothing.
    """
    def fill(m: re.Match[str]) -> str:
        return match.group(int(m.group(1))) or ""

    return _REPLACEMENT.sub(fill, template)


@dataclass(frozen=True)
class OutboundRoute:
    """One row of the Outbound Routing tab (Type is always DNIS)."""

    pattern: re.Pattern[str]
    formatted_number: str
    broker: str
    account: str
    classifications: frozenset[str]


@dataclass(frozen=True)
class OutboundDecision:
    """The route chosen for an MT and the number to dial."""

    route_index: int
    route: OutboundRoute
    number: str


@dataclass(frozen=True)
class NoOutboundRoute:
    """No outbound route matches the DNIS."""

    dnis: str

    @property
    def reason(self) -> str:
        """A sentence for the person who tried to send."""
        return f"no outbound route matches {self.dnis!r}"


@dataclass(frozen=True)
class AccessDenied:
    """The matching route does not permit the sender's phone-number classification."""

    dnis: str
    route_index: int
    classification: str
    permitted: frozenset[str]

    @property
    def reason(self) -> str:
        """A sentence for the person who tried to send."""
        allowed = ", ".join(sorted(self.permitted))
        return (f"outbound route {self.route_index} matches {self.dnis!r} but does not permit "
                f"classification {self.classification!r} (permitted: {allowed})")


OutboundResult = OutboundDecision | NoOutboundRoute | AccessDenied


def route_outbound(routes: Sequence[OutboundRoute], dnis: str, classification: str) -> OutboundResult:
    """Choose the highest-ranking outbound route for ``dnis`` and check access control.

    Args:
        routes: the outbound routes, highest rank first.
        dnis: the destination as the sender gave it.
        classification: the sender's phone-number classification.
    """
    for index, route in enumerate(routes):
        match = route.pattern.fullmatch(dnis)
        if match is None:
            continue
        if classification not in route.classifications:
            return AccessDenied(dnis, index, classification, route.classifications)
        return OutboundDecision(index, route, format_number(route.formatted_number, match))
    return NoOutboundRoute(dnis)
