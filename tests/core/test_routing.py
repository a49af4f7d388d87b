"""Tests for sim.core.routing: inbound first-match routing, outbound ranking, formatting, access control."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from strategies import digits

from sim.core.routing import (
    AccessDenied,
    Destination,
    DestinationKind,
    FieldType,
    InboundRoute,
    NoOutboundRoute,
    OutboundDecision,
    OutboundRoute,
    format_number,
    formatted_number_groups,
    route_inbound,
    route_outbound,
)

QUEUE = Destination(DestinationKind.QUEUE, "Support")
CHAT = Destination(DestinationKind.CHAT)
DEFAULT = Destination(DestinationKind.QUEUE, "Default")


def inbound(kind: FieldType, regex: str, dest: Destination = QUEUE) -> InboundRoute:
    flags = re.DOTALL if kind is FieldType.BODY else 0
    return InboundRoute(kind, re.compile(regex, flags), dest)


def outbound(regex: str, number: str = "$0", classes: tuple[str, ...] = ("Local",),
             broker: str = "b") -> OutboundRoute:
    return OutboundRoute(re.compile(regex), number, broker, "acct", frozenset(classes))


def test_seed_example_317_selects_ani_prefix() -> None:
    """The seed's 317.* routes ANIs whose first three digits are 317, and nothing else."""
    routes = [inbound(FieldType.ANI, "317.*")]
    assert route_inbound(routes, DEFAULT, "3175550000", "1", "x").via == "route"
    assert route_inbound(routes, DEFAULT, "4317555000", "1", "x").via == "default"


def test_regex_must_match_the_whole_field() -> None:
    """A DNIS route 555 does not match 5550: whole-field match, not search."""
    routes = [inbound(FieldType.DNIS, "555")]
    assert route_inbound(routes, DEFAULT, "1", "5550", "x").destination == DEFAULT


def test_body_routes_match_across_lines() -> None:
    """Body filters see every line of a multi-line text (DOTALL)."""
    routes = [inbound(FieldType.BODY, "(?i).*refund.*", CHAT)]
    decision = route_inbound(routes, DEFAULT, "1", "2", "Hello\nI want a REFUND\nthanks")
    assert (decision.destination, decision.route_index) == (CHAT, 0)


def test_no_inbound_routes_means_email_routing() -> None:
    """With no inbound routes, the decision is email routing, an explicit value."""
    decision = route_inbound([], None, "1", "2", "x")
    assert (decision.destination.kind, decision.via, decision.route_index) == (DestinationKind.EMAIL, "email",
                                                                               None)


@given(st.lists(st.tuples(st.sampled_from(list(FieldType)), st.sampled_from(["1.*", "2.*", ".*a.*", "3"])),
                min_size=1, max_size=6), digits, digits, st.text(alphabet="ab1", max_size=5))
def test_inbound_routing_is_first_match_in_priority_order(specs: list[tuple[FieldType, str]], ani: str,
                                                          dnis: str, body: str) -> None:
    """The chosen route is the first in order whose filter matches its field; no match means default."""
    routes = [inbound(kind, regex, Destination(DestinationKind.QUEUE, f"q{i}"))
              for i, (kind, regex) in enumerate(specs)]
    field = {FieldType.ANI: ani, FieldType.DNIS: dnis, FieldType.BODY: body}
    expected = next((i for i, (kind, regex) in enumerate(specs)
                     if re.fullmatch(regex, field[kind], re.DOTALL)), None)
    assert expected == route_inbound(routes, DEFAULT, ani, dnis, body).route_index


def test_formatted_number_replacements() -> None:
    """$0 is the whole input, $1..$9 the groups, every other character literal."""
    match = re.fullmatch(r"9(\d{3})(\d{7})", "93175550123")
    assert match is not None
    assert format_number("+1 ($1) $2 [$0]", match) == "+1 (317) 5550123 [93175550123]"


def test_group_that_did_not_match_is_empty() -> None:
    """An optional group that took no part in the match contributes nothing."""
    match = re.fullmatch(r"(1)?(\d{10})", "3175550123")
    assert match is not None
    assert format_number("$1$2", match) == "3175550123"


def test_formatted_number_groups_lists_references() -> None:
    """The referenced group numbers are listed in order, $0 included."""
    assert formatted_number_groups("+$1-$0-$12") == [1, 0, 1]


def test_highest_ranking_match_wins() -> None:
    """When two routes match, the first in the table is chosen."""
    routes = [outbound(r"1\d+", "A$0", broker="first"), outbound(r"\d+", "B$0", broker="second")]
    result = route_outbound(routes, "1234", "Local")
    assert isinstance(result, OutboundDecision)
    assert (result.route_index, result.number, result.route.broker) == (0, "A1234", "first")


def test_access_denied_does_not_fall_through() -> None:
    """A matching route that does not permit the classification refuses, even if a lower route would."""
    routes = [outbound(r"\d+", classes=("Local",)), outbound(r"\d+", classes=("International",))]
    result = route_outbound(routes, "1234", "International")
    assert isinstance(result, AccessDenied)
    assert (result.dnis, result.route_index, result.classification, result.permitted) == (
        "1234", 0, "International", frozenset({"Local"}))
    assert "does not permit classification 'International'" in result.reason


def test_no_outbound_route_is_an_explicit_result() -> None:
    """A DNIS that no route matches gives NoOutboundRoute with a reason."""
    result = route_outbound([outbound(r"1\d+")], "2345", "Local")
    assert result == NoOutboundRoute("2345")
    assert result.reason == "no outbound route matches '2345'"


@given(st.lists(st.sampled_from([r"1\d*", r"\d{4}", r"\d+", r"9(\d+)"]), min_size=1, max_size=5), digits)
def test_outbound_routing_is_first_match(patterns: list[str], dnis: str) -> None:
    """The chosen outbound route is the first whose regex matches the whole DNIS."""
    routes = [outbound(p) for p in patterns]
    expected = next((i for i, p in enumerate(patterns) if re.fullmatch(p, dnis)), None)
    result = route_outbound(routes, dnis, "Local")
    got = result.route_index if isinstance(result, OutboundDecision) else None
    assert expected == got


def test_a_destinations_string_names_its_kind_and_its_name_if_any() -> None:
    """A nameless Chat reads "Chat"; a named Queue reads "Queue Support"."""
    assert ("Chat", "Queue Support") == (str(Destination(DestinationKind.CHAT)),
                                         str(Destination(DestinationKind.QUEUE, "Support")))
