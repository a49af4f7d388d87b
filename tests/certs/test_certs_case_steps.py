"""Tests of certs.case_steps: each kind of case run makes a real handshake (or set-up) and reports it."""

from __future__ import annotations

from certs.case_steps import openssl, server_setup, stdlib
from certs.pki import Pki


def test_stdlib_handshake_with_the_right_trust_is_accepted(pki: Pki) -> None:
    """A stdlib broker trusting the public CA accepts the proxy's named certificate over TLS 1.3."""
    outcome = stdlib("proxy-named", "broker")(pki)
    assert (True, "TLSv1.3") == (outcome.accepted, outcome.reason)


def test_stdlib_handshake_without_the_trust_is_refused_with_the_verify_code(pki: Pki) -> None:
    """A broker that does not trust the self-signed proxy certificate refuses it, naming why."""
    outcome = stdlib("proxy-self-signed", "broker")(pki)
    assert (False, "verify_code 18 / self-signed certificate") == (outcome.accepted, outcome.reason)


def test_openssl_handshake_is_accepted(pki: Pki) -> None:
    """A pyOpenSSL client trusting the public CA completes a handshake with the named proxy."""
    assert True is openssl("proxy-named", "broker")(pki).accepted


def test_server_setup_refuses_what_openssl_will_not_load(pki: Pki) -> None:
    """A SHA-1 signed certificate cannot be loaded at the default security level; a sound one can."""
    assert (False, True) == (server_setup("proxy-weak-signature")(pki).accepted,
                             server_setup("proxy-named")(pki).accepted)
