"""Every error body the Portico fake answers with, built in one place.

Two families, as on the real service:

* the login service (``/oauth/token``) answers OAuth errors ``{"error", "description",
  "error_description"}``, carrying the text twice (samples in gildas/go-gcloudcx's tests);
* the platform API (``/api/v2/...``) answers the ``ErrorBody`` of the Genesys Cloud SDKs (Java SDK
  ``docs/ErrorBody.md``): ``message``, ``code``, ``status``, ``messageParams``, ``contextId``,
  ``details[]`` and ``errors[]``.

Handlers raise ``OAuthError`` or ``ApiError``; the service turns them into bytes and headers in
``render_oauth_error`` and ``render_api_error`` and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sim.core.errors import InputError

__all__ = [
    "ApiError",
    "Detail",
    "OAuthError",
    "as_api_error",
    "as_oauth_error",
    "bad_request",
    "invalid_value",
    "missing_permissions",
    "not_found",
    "render_api_error",
    "render_oauth_error",
    "too_many_requests",
]

# Message texts. Those marked [S] are quoted from third-party clients (gildas/go-gcloudcx); the others
# are our own wording, for codes whose text no source gives.
AUTHENTICATION_REQUIRED = "No authentication bearer token specified in authorization header."  # [S]
BAD_CREDENTIALS = "Invalid login credentials."  # [S]
CREDENTIALS_EXPIRED = "The bearer token has expired."  # [I]
BAD_REQUEST = "The request could not be understood by the server due to malformed syntax."  # [I]


@dataclass(frozen=True)
class Detail:
    """One entry of ``ErrorBody.details[]``: which field was wrong and how."""

    error_code: str
    field_name: str = ""
    entity_id: str = ""

    def to_json(self) -> dict[str, str]:
        """The entry as the platform writes it; empty members are left out."""
        out = {"errorCode": self.error_code}
        if self.field_name:
            out["fieldName"] = self.field_name
        if self.entity_id:
            out["entityId"] = self.entity_id
        return out


class ApiError(InputError):
    """A platform API error, answered as an ``ErrorBody`` (an ``InputError``: the peer sent it).

    Args:
        status: the HTTP status.
        code: the ``code`` member, e.g. ``bad.request`` (gildas/go-gcloudcx lists the known ones).
        message: the ``message`` member, written for the caller.
        details: ``details[]`` entries naming the offending fields.
        errors: nested errors, e.g. one per bad element of an array body.
        headers: extra response headers (``Retry-After`` on a 429).
        params: ``messageParams``.
    """

    def __init__(self, status: int, code: str, message: str, *, details: tuple[Detail, ...] = (),
                 errors: tuple[ApiError, ...] = (), headers: Mapping[str, str] | None = None,
                 params: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status)
        self.code = code
        self.message = message
        self.details = details
        self.errors = errors
        self.headers = dict(headers or {})
        self.params = dict(params or {})

    def to_json(self, context_id: str) -> dict[str, object]:
        """The ``ErrorBody`` mapping; nested errors share the outer ``contextId``."""
        return {
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "messageParams": self.params,
            "contextId": context_id,
            "details": [d.to_json() for d in self.details],
            "errors": [e.to_json(context_id) for e in self.errors],
        }


class OAuthError(InputError):
    """A login-service error: ``error`` plus the same text in two members.

    Args:
        status: the HTTP status (400, or the configured status for ``invalid_client``: reports disagree).
        error: the OAuth error code, e.g. ``invalid_client``.
        description: the text, sent as both ``description`` and ``error_description``.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description, status)
        self.error = error
        self.description = description


def bad_request(message: str = BAD_REQUEST, *, field_name: str = "") -> ApiError:
    """A 400 ``bad.request``: the body could not be read at all."""
    details = (Detail("bad.request", field_name),) if field_name else ()
    return ApiError(400, "bad.request", message, details=details)


def invalid_value(field_name: str, message: str) -> ApiError:
    """A 400 ``invalid.value`` naming the field."""
    return ApiError(400, "invalid.value", message, details=(Detail("invalid.value", field_name),))


def not_found(message: str, entity_id: str = "") -> ApiError:
    """A 404 ``not.found``, naming the entity when there is one."""
    details = (Detail("not.found", entity_id=entity_id),) if entity_id else ()
    return ApiError(404, "not.found", message, details=details)


def missing_permissions(permission: str) -> ApiError:
    """A 403 ``missing.permissions`` naming the permission (of the SDK 179.0.0) that the client lacks."""
    # The wording is ours; the permission names are the Genesys Cloud JavaScript SDK 179.0.0's.
    return ApiError(403, "missing.permissions",
                    f"You are missing the following permission(s): [{permission}]",
                    params={"permissions": permission})


# The platform's code for each status, for errors raised outside the Portico model (the shared shell's
# 404/405/413, body-reading errors, injected faults). gildas/go-gcloudcx lists these codes; 405 and 413
# are not in that list, so their codes are our choice.
CODE_BY_STATUS = {
    400: "bad.request", 401: "bad.credentials", 403: "not.authorized", 404: "not.found",
    405: "method.not.allowed", 413: "request.entity.too.large", 415: "unsupported.media.type",
    429: "too.many.requests", 500: "internal.server.error", 503: "service.unavailable",
    504: "request.timeout",
}
# The shared wire helpers say why they refused (``fakes.common.wire.WireReason``, by value): a missing
# or bad parameter is ``invalid.value``; a body that cannot be read is ``bad.request``.
CODE_BY_REASON = {"missing": "invalid.value", "invalid": "invalid.value", "malformed": "bad.request",
                  "encoding": "bad.request"}


def as_api_error(error: InputError) -> ApiError:
    """Any refused request as the platform's ``ErrorBody`` error (an ``ApiError`` is returned as is)."""
    if isinstance(error, ApiError):
        return error
    reason = getattr(getattr(error, "reason", None), "value", "")
    code = CODE_BY_REASON.get(reason) or CODE_BY_STATUS.get(error.status)
    if code is None:
        code = "bad.request" if error.status < 500 else "internal.server.error"
    field_name = getattr(error, "field", "")
    details = (Detail(code, field_name),) if field_name else ()
    return ApiError(error.status, code, str(error), details=details)


def as_oauth_error(error: InputError) -> OAuthError:
    """A refusal on the login path in the login service's own form (RFC 6749 §5.2 codes, [I])."""
    if isinstance(error, OAuthError):
        return error
    if error.status >= 500:
        code = "temporarily_unavailable" if error.status == 503 else "server_error"
    else:
        code = "invalid_request"
    return OAuthError(error.status, code, str(error))


def too_many_requests(variant: str, reset: int, allowed: int, window: int,
                      headers: Mapping[str, str]) -> ApiError:
    """The 429 ``too.many.requests`` in one of its two known texts (the generated API docs', an older one).

    Args:
        variant: ``retry_in`` (the swagger text, the default) or ``within`` (the older text).
        reset: seconds until the window resets (also ``Retry-After``).
        allowed: requests allowed per window.
        window: the window in seconds.
        headers: the rate headers to send besides ``Retry-After``.
    """
    if variant == "retry_in":
        message = f"Rate limit exceeded the maximum. Retry the request in [{reset}] seconds"
    else:
        message = f"Rate limit exceeded the maximum [{allowed}] requests within [{window}] seconds"
    return ApiError(429, "too.many.requests", message, headers={**headers, "Retry-After": str(reset)})


def _json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def render_api_error(error: ApiError, context_id: str) -> tuple[int, bytes, dict[str, str]]:
    """Status, JSON bytes and headers for an ``ErrorBody``; the correlation header repeats ``contextId``."""
    headers = {"ININ-Correlation-Id": context_id, **error.headers}
    return error.status, _json(error.to_json(context_id)), headers


def render_oauth_error(error: OAuthError) -> tuple[int, bytes, dict[str, str]]:
    """Status, JSON bytes and headers for a login-service error (both description members)."""
    body = {"error": error.error, "description": error.description,
            "error_description": error.description}
    return error.status, _json(body), {}
