"""Tests for loadtests.load_lab: the plan of the default lab's brokers and routes, and its counters."""

from __future__ import annotations

from loadtests.load_lab import brokers_of, dlr_routes
from scenarios.lab.spec import default_lab_config

_HEALTH = {"farm": [{"incoming_port": 8080, "url": "http://127.0.0.1:1000"}],
           "components": [{"name": "kaleyra", "url": "http://127.0.0.1:2000"},
                          {"name": "portico", "url": "http://127.0.0.1:3000"},
                          {"name": "eztexting", "url": "http://127.0.0.1:4000"}]}


def test_each_broker_is_reached_through_the_proxy_at_its_incoming_path() -> None:
    """Wires, push targets, Local Addresses and fakes of the default lab's three brokers."""
    plans = brokers_of(default_lab_config(), _HEALTH)
    assert [("kaleyra", "kaleyra-directtext", "http://127.0.0.1:1000/kaleyra/mo", "8005550100",
             "http://127.0.0.1:2000", "smslab"),
            ("portico", "portico", "http://127.0.0.1:1000/portico/mo", "+18885550199",
             "http://127.0.0.1:3000", ""),
            ("eztexting", "eztexting", "http://127.0.0.1:1000/receivesms.php", "313131",
             "http://127.0.0.1:4000", "ezuser")] == [
        (p.name, p.wire, p.mo_url, p.local_address, p.fake_url, p.login) for p in plans]


def test_agent_sends_go_by_the_routes_the_core_would_pick() -> None:
    """A +1 317 handset goes by the Kaleyra route (Local), a UK number by the Portico one (International)."""
    assert (("kaleyra", "Local", "handset"), ("portico", "International", "international")) == dlr_routes(
        default_lab_config())
