"""Tests of fakes.portico.auth: client credentials, bearer checks and the rate limit on a given clock."""



from __future__ import annotations

import base64
import random

import pytest

from fakes.portico.auth import Authority, Token
from fakes.portico.errors import ApiError, OAuthError
from fakes.portico.settings import Client, parse_settings

GRANT = {"grant_type": "client_credentials"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authority(**extra: object) -> Authority:
    settings = parse_settings({"clients": [{"id": "nexus", "secret": "s3cret"},
                                           {"id": "viewer", "secret": "v", "permissions": [
                                               "messagingProvisioning:phoneNumber:view"],
                                            "grant_types": ["password"]}], **extra}, "fakes.portico")
    return Authority(settings, random.Random(7))


def oauth_error(a: Authority, authorization: str, form: dict[str, str]) -> tuple[int, str, str]:
    with pytest.raises(OAuthError) as caught:
        a.issue(authorization, form, 0.0)
    return caught.value.status, caught.value.error, caught.value.description


def api_error(call: object) -> tuple[int, str, str]:
    assert callable(call)
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.code, caught.value.message


def test_a_grant_answers_the_token_body_of_the_login_service() -> None:
    """Good client credentials get an 86-character token, lower-case bearer and the lifetime."""
    body = authority().issue(basic("nexus", "s3cret"), GRANT, 0.0)
    assert ["access_token", "token_type", "expires_in"] == list(body)
    assert ("bearer", 86399) == (body["token_type"], body["expires_in"])
    assert isinstance(body["access_token"], str)
    assert 86 == len(body["access_token"])


def test_tokens_are_reproducible_from_the_seed_and_distinct() -> None:
    """The same seed gives the same tokens; two grants give two tokens."""
    first, second = authority(), authority()
    a = [first.issue(basic("nexus", "s3cret"), GRANT, 0.0)["access_token"] for _ in range(2)]
    b = [second.issue(basic("nexus", "s3cret"), GRANT, 0.0)["access_token"] for _ in range(2)]
    assert a == b
    assert a[0] != a[1]


def test_bad_clients_get_invalid_client_with_the_configured_status() -> None:
    """Unknown client, wrong secret and unreadable Basic are invalid_client, 401 by default, 400 if set."""
    a = authority()
    assert (401, "invalid_client", "client not found") == oauth_error(a, basic("nobody", "x"), GRANT)
    assert (401, "invalid_client", "authentication failed") == oauth_error(a, basic("nexus", "no"), GRANT)
    assert (401, "invalid_client", "client not found") == oauth_error(a, "Basic %%%", GRANT)
    assert (401, "invalid_client", "client not found") == oauth_error(a, "", GRANT)
    four_hundred = authority(token={"invalid_client_status": 400})
    assert (400, "invalid_client", "client not found") == oauth_error(four_hundred, basic("x", "y"), GRANT)


def test_grant_problems_have_their_own_errors() -> None:
    """A wrong grant type is unsupported_grant_type; a client without the grant is unauthorized_client."""
    a = authority()
    assert (400, "unsupported_grant_type", "grant type 'password' is not supported") == oauth_error(
        a, basic("nexus", "s3cret"), {"grant_type": "password"})
    assert (400, "unsupported_grant_type", "grant type '' is not supported") == oauth_error(
        a, basic("nexus", "s3cret"), {})
    assert (400, "unauthorized_client", "client is not authorized to use the client_credential grant type") \
        == oauth_error(a, basic("viewer", "v"), GRANT)


def test_bearer_checks_answer_the_three_401_codes() -> None:
    """No bearer, an unknown token and an expired token each get their own code."""
    a = authority(token={"expires_in": 100})
    token = a.issue(basic("nexus", "s3cret"), GRANT, 1000.0)["access_token"]
    assert (401, "authentication.required",
            "No authentication bearer token specified in authorization header.") == api_error(
        lambda: a.authenticate("", 1000.0))
    assert (401, "authentication.required",
            "No authentication bearer token specified in authorization header.") == api_error(
        lambda: a.authenticate(basic("nexus", "s3cret"), 1000.0))
    assert (401, "bad.credentials", "Invalid login credentials.") == api_error(
        lambda: a.authenticate("Bearer nope", 1000.0))
    assert "nexus" == a.authenticate(f"Bearer {token}", 1099.999).client.client_id
    assert (401, "credentials.expired", "The bearer token has expired.") == api_error(
        lambda: a.authenticate(f"bearer {token}", 1100.0))


def test_swept_tokens_still_answer_credentials_expired() -> None:
    """A grant sweeps expired tokens out of the live table, yet the swept token still says it expired."""
    a = authority(token={"expires_in": 10})
    old = a.issue(basic("nexus", "s3cret"), GRANT, 0.0)["access_token"]
    a.issue(basic("nexus", "s3cret"), GRANT, 20.0)
    assert (401, "credentials.expired", "The bearer token has expired.") == api_error(
        lambda: a.authenticate(f"Bearer {old}", 20.0))


def test_the_memory_of_expired_tokens_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound the oldest expired token is forgotten and answers like an unknown one."""
    monkeypatch.setattr("fakes.portico.auth.EXPIRED_MEMORY", 2)
    a = authority(token={"expires_in": 10})
    tokens = [a.issue(basic("nexus", "s3cret"), GRANT, float(i))["access_token"] for i in range(3)]
    a.issue(basic("nexus", "s3cret"), GRANT, 50.0)
    assert (401, "bad.credentials", "Invalid login credentials.") == api_error(
        lambda: a.authenticate(f"Bearer {tokens[0]}", 50.0))
    for token in tokens[1:]:
        assert "credentials.expired" == api_error(lambda t=token: a.authenticate(f"Bearer {t}", 50.0))[1]


def live_token(a: Authority) -> Token:
    return a.authenticate(f"Bearer {a.issue(basic('nexus', 's3cret'), GRANT, 0.0)['access_token']}", 0.0)


def test_the_rate_limit_counts_per_token_in_a_fixed_window() -> None:
    """Requests within the window are counted; the next over the limit is a 429 with Retry-After."""
    a = authority(rate_limit={"requests": 3, "window": 60})
    token = live_token(a)
    assert {"inin-ratelimit-count": "1", "inin-ratelimit-allowed": "3", "inin-ratelimit-reset": "60"} == \
        a.admit(token, 100.0)
    assert {"inin-ratelimit-count": "2", "inin-ratelimit-allowed": "3", "inin-ratelimit-reset": "50"} == \
        a.admit(token, 110.0)
    assert {"inin-ratelimit-count": "3", "inin-ratelimit-allowed": "3", "inin-ratelimit-reset": "40"} == \
        a.admit(token, 120.5)
    with pytest.raises(ApiError) as caught:
        a.admit(token, 130.0)
    assert (429, "too.many.requests", "Rate limit exceeded the maximum. Retry the request in [30] seconds") \
        == (caught.value.status, caught.value.code, caught.value.message)
    assert {"inin-ratelimit-count": "4", "inin-ratelimit-allowed": "3", "inin-ratelimit-reset": "30",
            "Retry-After": "30"} == caught.value.headers
    assert "1" == a.admit(token, 160.0)["inin-ratelimit-count"]


def test_tokens_have_separate_windows() -> None:
    """One token's exhausted window does not limit another token."""
    a = authority(rate_limit={"requests": 1})
    first, second = live_token(a), live_token(a)
    a.admit(first, 0.0)
    with pytest.raises(ApiError):
        a.admit(first, 1.0)
    assert "1" == a.admit(second, 1.0)["inin-ratelimit-count"]


def test_the_older_rate_limit_text_can_be_chosen() -> None:
    """rate_limit.message: within gives the older of the two known 429 texts."""
    a = authority(rate_limit={"requests": 1, "window": 10, "message": "within"})
    token = live_token(a)
    a.admit(token, 0.0)
    assert (429, "too.many.requests", "Rate limit exceeded the maximum [1] requests within [10] seconds") == \
        api_error(lambda: a.admit(token, 1.0))


def test_permissions_are_checked_per_client() -> None:
    """A client without a permission gets 403 missing.permissions; one with it passes."""
    viewer = Token("t", Client("viewer", "v", frozenset({"messagingProvisioning:phoneNumber:view"})), 100.0)
    Authority.require(viewer, "messagingProvisioning:phoneNumber:view")
    assert (403, "missing.permissions", "You are missing the following permission(s): [messaging:sms:send]") \
        == api_error(lambda: Authority.require(viewer, "messaging:sms:send"))
