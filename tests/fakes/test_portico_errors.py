"""Tests of fakes.portico.errors: the ErrorBody and OAuth error bodies, byte for byte."""



from __future__ import annotations

import json

from fakes.common import WireError, WireReason
from fakes.portico.errors import (
    ApiError,
    Detail,
    OAuthError,
    as_api_error,
    as_oauth_error,
    invalid_value,
    missing_permissions,
    render_api_error,
    render_oauth_error,
    too_many_requests,
)
from sim.core.errors import InputError

CONTEXT = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"


def test_error_body_has_every_member_of_the_platform_error_body() -> None:
    """The ErrorBody carries message, code, status, messageParams, contextId, details and errors."""
    error = ApiError(400, "invalid.value", "bad", details=(Detail("invalid.value", "sender"),),
                     errors=(invalid_value("[1].message", "nested"),))
    status, body, headers = render_api_error(error, CONTEXT)
    assert 400 == status
    assert {"ININ-Correlation-Id": CONTEXT} == headers
    assert (b'{"message":"bad","code":"invalid.value","status":400,"messageParams":{},'
            b'"contextId":"0b1c2d3e-4f50-4617-8899-aabbccddeeff",'
            b'"details":[{"errorCode":"invalid.value","fieldName":"sender"}],'
            b'"errors":[{"message":"nested","code":"invalid.value","status":400,"messageParams":{},'
            b'"contextId":"0b1c2d3e-4f50-4617-8899-aabbccddeeff",'
            b'"details":[{"errorCode":"invalid.value","fieldName":"[1].message"}],"errors":[]}]}') == body


def test_oauth_error_repeats_the_text_in_both_description_members() -> None:
    """The login service writes description and error_description with the same text."""
    status, body, headers = render_oauth_error(OAuthError(401, "invalid_client", "client not found"))
    assert (401, {}) == (status, headers)
    assert (b'{"error":"invalid_client","description":"client not found",'
            b'"error_description":"client not found"}') == body


def test_missing_permission_names_the_permission() -> None:
    """A 403 says which permission is missing."""
    error = missing_permissions("messaging:sms:send")
    assert (403, "missing.permissions") == (error.status, error.code)
    assert "You are missing the following permission(s): [messaging:sms:send]" == error.message
    assert {"permissions": "messaging:sms:send"} == error.to_json(CONTEXT)["messageParams"]


def test_rate_limit_texts_follow_the_chosen_variant() -> None:
    """The two known 429 texts, with Retry-After added to the given headers."""
    first = too_many_requests("retry_in", 42, 300, 60, {"inin-ratelimit-count": "301"})
    second = too_many_requests("within", 42, 300, 60, {})
    assert "Rate limit exceeded the maximum. Retry the request in [42] seconds" == first.message
    assert {"inin-ratelimit-count": "301", "Retry-After": "42"} == first.headers
    assert "Rate limit exceeded the maximum [300] requests within [60] seconds" == second.message
    assert (429, "too.many.requests") == (second.status, second.code)


def test_shared_wire_errors_map_to_platform_codes() -> None:
    """Refusals from the shared shell get the platform's code for their reason or status."""
    cases = [
        (WireError("x", WireReason.MEDIA_TYPE), 415, "unsupported.media.type"),
        (WireError("x", WireReason.TOO_LARGE), 413, "request.entity.too.large"),
        (WireError("x", WireReason.ENCODING), 400, "bad.request"),
        (WireError("x", WireReason.MALFORMED), 400, "bad.request"),
        (WireError("x", WireReason.MISSING, field="to"), 400, "invalid.value"),
        (WireError("x", WireReason.NOT_FOUND), 404, "not.found"),
        (WireError("x", WireReason.METHOD), 405, "method.not.allowed"),
        (InputError("fault injected", 503), 503, "service.unavailable"),
        (InputError("fault injected", 502), 502, "internal.server.error"),
        (InputError("odd", 418), 418, "bad.request"),
    ]
    mapped = [as_api_error(error) for error, _, _ in cases]
    assert [(s, c) for _, s, c in cases] == [(e.status, e.code) for e in mapped]
    assert [{"errorCode": "invalid.value", "fieldName": "to"}] == mapped[4].to_json(CONTEXT)["details"]


def test_an_api_error_passes_through_unchanged() -> None:
    """The conversion keeps an ApiError as it is."""
    error = invalid_value("sender", "no")
    assert error is as_api_error(error)
    assert "no" == json.loads(render_api_error(error, CONTEXT)[1])["message"]


def test_refusals_on_the_login_path_map_to_oauth_codes() -> None:
    """Shell refusals on /oauth/token become invalid_request, temporarily_unavailable or server_error."""
    assert [(413, "invalid_request"), (503, "temporarily_unavailable"), (500, "server_error")] == [
        (e.status, e.error) for e in (as_oauth_error(WireError("big", WireReason.TOO_LARGE)),
                                      as_oauth_error(InputError("down", 503)),
                                      as_oauth_error(InputError("boom", 500)))]
    error = OAuthError(400, "unsupported_grant_type", "x")
    assert error is as_oauth_error(error)
