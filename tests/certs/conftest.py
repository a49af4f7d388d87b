"""Shared fixtures of the certs tests: one PKI per session on the wall clock, one on a fixed clock."""

from __future__ import annotations

import datetime

import pytest

from certs.pki import Pki, PkiOptions

#: A fixed clock for validity-window tests; PKIs built on it are never used for real handshakes.
FIXED_NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="session")
def pki() -> Pki:
    """The default PKI (RSA 2048) on the wall clock, as the matrix builds it."""
    return Pki.generate(PkiOptions())


@pytest.fixture(scope="session")
def fixed_now() -> datetime.datetime:
    """The fixed clock of :func:`fixed_pki`."""
    return FIXED_NOW


@pytest.fixture(scope="session")
def fixed_pki(fixed_now: datetime.datetime) -> Pki:
    """A fast P-256 PKI generated at :data:`FIXED_NOW`."""
    return Pki.generate(PkiOptions(key_type="ec"), now=fixed_now)
