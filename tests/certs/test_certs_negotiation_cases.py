"""Tests of certs.negotiation_cases: versions, handshake details and weak material are all covered."""

from __future__ import annotations

from certs.negotiation_cases import NEGOTIATION_CASES


def test_each_family_is_present() -> None:
    """Version, detail and weak-key/weak-signature cases are all in the list."""
    names = {c.name for c in NEGOTIATION_CASES}
    assert {"tls12-client-to-tls13-server", "tls12-cipher-and-alpn", "weak-key-default-level",
            "weak-signature-level-0", "weak-signature-server-default-level"} <= names


def test_weak_signatures_are_refused_until_level_0() -> None:
    """A SHA-1 signature is refused at levels 2 and 1 and accepted only at level 0 (OpenSSL 3)."""
    expected = {"weak-signature-default-level": "refused", "weak-signature-level-1": "refused",
                "weak-signature-level-0": "accepted"}
    assert expected == {c.name: c.expected for c in NEGOTIATION_CASES if c.name in expected}
