"""Every SSL experiment of the registry, each run as its own test against the matrix's PKI."""

from __future__ import annotations

import re

import pytest

from certs.cases import Case, run_case
from certs.experiments import CASES, CONFIG_CASES, TLS_CASES
from certs.pki import Pki


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(pki: Pki, case: Case) -> None:
    """The actual outcome, reason and facts of the case are the expected ones."""
    result = run_case(case, pki)
    assert (case.expected, result.expected_reason) == (
        result.actual,
        result.reason[: len(result.expected_reason)],
    )
    assert result.mismatches == []


def test_registry_shape() -> None:
    """Case names are unique kebab-case; the registry is the TLS, then the config cases."""
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
    assert [*TLS_CASES, *CONFIG_CASES] == CASES


def test_registry_covers_the_brief() -> None:
    """The registry has accepted and refused cases for each family of experiments."""
    names = {c.name for c in CASES}
    assert {
        "broker-to-proxy-self-signed", "broker-to-proxy-self-signed-imported", "broker-to-proxy-named",
        "broker-to-proxy-wildcard", "broker-to-proxy-wrong-host", "broker-to-proxy-expired",
        "proxy-to-primary-reencrypt", "proxy-to-node-without-servergroup-trust", "node-to-broker-kaleyra",
        "tls12-client-to-tls13-server", "tls13-client-to-tls12-server", "flexible-client-to-tls12-server",
        "broker-to-proxy-not-yet-valid", "weak-key-default-level", "weak-signature-default-level",
    } <= names  # fmt: skip
