"""Fixtures for the proxy tests: one in-memory PKI per session (generating keys is the slow part)."""

from __future__ import annotations

import pytest

from certs.pki import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    """The lab's default PKI, in memory."""
    return Pki.generate()
