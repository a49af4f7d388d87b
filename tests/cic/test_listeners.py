"""Tests of sim.cic.listeners: the route table per port and path matching."""

from __future__ import annotations

from dataclasses import replace

import pytest
from nodekit import config, eztexting, kaleyra, portico

from sim.cic.listeners import Route, _match, dr_path, route_table
from sim.core.errors import ConfigError


def test_the_table_groups_brokers_by_port_with_their_mo_and_dr_paths() -> None:
    """Two brokers on 8080, one on 8081; a DR URL given as a full URL contributes its path."""
    table = route_table(config(kaleyra(), eztexting(), portico()))
    assert {8080: {"/kaleyra/mo": Route("kaleyra", "mo", "/kaleyra/mo"),
                   "/kaleyra/dr": Route("kaleyra", "dr", "/kaleyra/dr"),
                   "/receivesms.php": Route("eztexting", "mo", "/receivesms.php")},
            8081: {"/portico/mo": Route("portico", "mo", "/portico/mo"),
                   "/portico/dr": Route("portico", "dr", "/portico/dr")}} == table
    broker = config(kaleyra()).brokers[0]
    full = replace(broker, mo=replace(broker.mo, delivery_receipt_url="https://proxy.example/k/dr"))
    assert ("/k/dr", "/kaleyra/dr") == (dr_path(full), dr_path(broker))


def test_a_path_matches_exactly_or_by_its_longest_prefix() -> None:
    """What the reverse proxy appends after the incoming path still reaches that broker; others are None."""
    routes = {"/kaleyra/mo": Route("k", "mo", "/kaleyra/mo"), "/kaleyra": Route("x", "mo", "/kaleyra")}
    assert ("k", "k", "x", None) == tuple(
        r.broker if r else None for r in (_match(routes, "/kaleyra/mo"), _match(routes, "/kaleyra/mo/extra"),
                                          _match(routes, "/kaleyra/other"), _match(routes, "/elsewhere")))


def test_http_and_https_brokers_cannot_share_a_port() -> None:
    """One listener has one scheme: mixing is a ConfigError naming both brokers."""
    secure = {**eztexting(gateway="https://127.0.0.1:9"), "encryption": "HTTPS"}
    with pytest.raises(ConfigError, match=r"port 8080 is shared by HTTP and HTTPS brokers \(eztexting, kaleyra\)"):
        route_table(config(kaleyra(), secure))
