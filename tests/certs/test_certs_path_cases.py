"""Tests of certs.path_cases: the three legs of the SMS path each have their cases, in report order."""

from __future__ import annotations

from certs.path_cases import PATH_CASES
from certs.pki import PkiOptions


def test_the_legs_come_in_path_order() -> None:
    """Broker -> proxy cases come first, then proxy -> node, then node -> broker."""
    legs = [c.name.split("-to-")[0] for c in PATH_CASES]
    first = {leg: legs.index(leg) for leg in ("broker", "proxy", "node")}
    assert first["broker"] < first["proxy"] < first["node"]


def test_every_broker_of_the_pki_has_an_mt_case() -> None:
    """Each broker the PKI issues a certificate for is the server of one node -> broker case."""
    names = {c.name for c in PATH_CASES}
    assert {f"node-to-broker-{b}" for b in PkiOptions().brokers} <= names


def test_each_leg_has_accepted_and_refused_cases() -> None:
    """The MO and the re-encrypt legs each show a handshake that passes and one that fails."""
    for leg in ("broker-to-proxy", "proxy-to-"):
        outcomes = {c.expected for c in PATH_CASES if c.name.startswith(leg)}
        assert {"accepted", "refused"} == outcomes, leg
