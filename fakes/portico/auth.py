"""OAuth client-credentials tokens, bearer checks and the per-token rate limit, on an injected clock.

Theory of operation: ``/oauth/token`` checks HTTP Basic client credentials and the form's
``grant_type`` (Digital Channels SMS set-up, Option 3, "Retrieve the Genesys Cloud CX token") and issues
an opaque token valid ``expires_in`` seconds. Every ``/api/v2`` request names a token; ``authenticate``
answers the platform's three 401 codes (``authentication.required``, ``bad.credentials``,
``credentials.expired``), and ``admit`` counts the request in the token's fixed window (300 per minute per
token, as community.genesys.com reports Genesys Cloud's limit) and returns the ``inin-ratelimit-*``
headers, or raises the 429 with ``Retry-After``. Time is always the ``now`` the caller passes; randomness
the ``rng`` it passes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import random
import string
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from fakes.portico.errors import (
    AUTHENTICATION_REQUIRED,
    BAD_CREDENTIALS,
    CREDENTIALS_EXPIRED,
    ApiError,
    OAuthError,
    missing_permissions,
    too_many_requests,
)
from fakes.portico.settings import Client, PorticoSettings

__all__ = ["Authority", "Token"]

GRANT = "client_credentials"
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
_TOKEN_LENGTH = 86  # the length of the opaque tokens the real login service hands out [I]
EXPIRED_MEMORY = 10_000  # expired tokens remembered after a sweep, oldest forgotten first


@dataclass
class Token:
    """An issued access token and its rate-limit window."""

    value: str
    client: Client
    expires_at: float
    window_start: float = -math.inf
    count: int = 0


def _basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


class Authority:
    """Issues and checks tokens for one fake organisation.

    Args:
        settings: the clients, token lifetime, ``invalid_client`` status and rate limit.
        rng: the source of token values.
    """

    def __init__(self, settings: PorticoSettings, rng: random.Random) -> None:
        self._settings = settings
        self._rng = rng
        self._tokens: dict[str, Token] = {}
        # Swept tokens, so they keep answering ``credentials.expired`` (bounded: a long run forgets the
        # oldest, which then answer ``bad.credentials`` as an unknown token does).
        self._expired: OrderedDict[str, None] = OrderedDict()

    def issue(self, authorization: str, form: Mapping[str, str], now: float) -> dict[str, object]:
        """Answer a client-credentials grant with ``access_token``, ``token_type`` and ``expires_in``.

        Raises:
            OAuthError: ``invalid_client`` (status per settings), ``unauthorized_client`` or
                ``unsupported_grant_type`` (400).
        """
        client = self.client(authorization)
        grant = form.get("grant_type", "")
        if grant != GRANT:
            # The name is RFC 6749 §5.2's; the real service's answer is not public.
            raise OAuthError(400, "unsupported_grant_type", f"grant type '{grant}' is not supported")
        if GRANT not in client.grant_types:
            raise OAuthError(400, "unauthorized_client",
                             "client is not authorized to use the client_credential grant type")  # [S]
        self._sweep(now)
        value = "".join(self._rng.choices(_TOKEN_ALPHABET, k=_TOKEN_LENGTH))
        self._tokens[value] = Token(value, client, now + self._settings.token_lifetime)
        # Lower-case "bearer" as the real service writes it ([S] a sample in GForceIndustries/GCCX-Utils).
        return {"access_token": value, "token_type": "bearer", "expires_in": self._settings.token_lifetime}

    def client(self, authorization: str) -> Client:
        """The client named by HTTP Basic credentials.

        Raises:
            OAuthError: ``invalid_client``, with the configured status (reports say 400 or 401).
        """
        status = self._settings.invalid_client_status
        credentials = _basic(authorization)
        client = self._settings.client(credentials[0]) if credentials else None
        if client is None:
            raise OAuthError(status, "invalid_client", "client not found")  # [S] gildas/go-gcloudcx tests
        if credentials is None or not hmac.compare_digest(credentials[1].encode(), client.secret.encode()):
            # The text: [S] tishige/CallFlowVisualizer issue #9.
            raise OAuthError(status, "invalid_client", "authentication failed")
        return client

    def _sweep(self, now: float) -> None:
        """Move expired tokens to the bounded memory of expired values, so a long load run does not grow
        the table without bound and a swept token still says why it is refused."""
        for value in [v for v, t in self._tokens.items() if t.expires_at <= now]:
            del self._tokens[value]
            self._expired[value] = None
        while len(self._expired) > EXPIRED_MEMORY:
            self._expired.popitem(last=False)

    def authenticate(self, authorization: str, now: float) -> Token:
        """The live token named by an ``Authorization: Bearer`` header.

        Raises:
            ApiError: 401 ``authentication.required``, ``bad.credentials`` or ``credentials.expired``.
        """
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "authentication.required", AUTHENTICATION_REQUIRED)
        token = self._tokens.get(value.strip())
        if token is None and value.strip() in self._expired:
            raise ApiError(401, "credentials.expired", CREDENTIALS_EXPIRED)
        if token is None:
            raise ApiError(401, "bad.credentials", BAD_CREDENTIALS)
        if token.expires_at <= now:
            raise ApiError(401, "credentials.expired", CREDENTIALS_EXPIRED)
        return token

    @staticmethod
    def require(token: Token, permission: str) -> None:
        """Check that the token's client holds ``permission``.

        Raises:
            ApiError: 403 ``missing.permissions``.
        """
        if permission not in token.client.permissions:
            raise missing_permissions(permission)

    def admit(self, token: Token, now: float) -> dict[str, str]:
        """Count one request against the token's window; the rate headers to send with the answer.

        Raises:
            ApiError: 429 ``too.many.requests`` with ``Retry-After`` and the ``inin-ratelimit-*`` headers.
        """
        s = self._settings
        if now >= token.window_start + s.rate_window:
            token.window_start, token.count = now, 0
        token.count += 1
        reset = max(1, math.ceil(token.window_start + s.rate_window - now))
        headers = {"inin-ratelimit-count": str(token.count), "inin-ratelimit-allowed": str(s.rate_requests),
                   "inin-ratelimit-reset": str(reset)}
        if token.count <= s.rate_requests:
            return headers
        raise too_many_requests(s.rate_message.value, reset, s.rate_requests, s.rate_window, headers)
