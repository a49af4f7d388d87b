"""A fake of the Genesys Cloud SMS aggregation service ("Portico").

What it serves (the paths of the Genesys Cloud JavaScript SDK 179.0.0, ``build/docs/MessagingApi.md``,
withdrawn in the next commit; Digital Channels SMS set-up, Option 3, walks through them):

* ``POST /oauth/token``: client credentials (Basic ``clientId:clientSecret``, form
  ``grant_type=client_credentials``) -> ``{"access_token", "token_type": "bearer", "expires_in"}``.
* ``POST /api/v2/messaging/sms`` -> ``{"messageId"}``; ``POST /api/v2/messaging/sms/bulk`` -> one
  ``{"messageId", "count": 1, "statusMessage"}`` per element, or ``{"count": 0, "statusMessage": <error>}``
  for a bad element (our choice; the real per-element form is unknown).
* ``/api/v2/messaging/sms/provisioning/{tollfreenumbers|longcodes}``: ``GET`` (list, never the webhook
  password), ``GET …/available`` (``numberOfResults`` 1-100, default 10; ``vanity`` 4-7 alphanumerics;
  long codes also ``areaCode``, ``exchangeCode``, ``country`` US/CA, ``endsWith``, ``longCode`` as a
  prefix; ``state``, ``city``, ``postalCode`` are accepted and do not filter, the pool having no
  geography), ``POST`` (order), ``POST …/portin`` (``loaFileUrl`` required), ``PATCH …/{code}`` (details;
  no deprovisioning), ``DELETE …/{code}`` (204), and ``GET …/provisioning/orders/{orderId}``.
* Webhooks: a DR to the sending number's ``drUrl`` when ``requestReceipt`` is true (``sms.receipts:
  always`` for every message), an MO injected with ``POST /_smslab/mo`` (``{"from", "to", "text"}``) to the
  number's ``moUrl``, both JSON with ``Authorization: Basic webhookUsername:webhookPassword``.
* The shared inspection API under ``/_smslab/`` and the shared faults.

Documented choices where the real behaviour is unknown (GAP or [I]; each a setting where it matters):

* ``invalid_client`` answers 401 (``token.invalid_client_status``: 400 or 401, reports disagree); a bad
  ``grant_type`` answers 400 ``unsupported_grant_type``; an unreadable token body 400 ``invalid_request``;
  shell refusals and error faults on ``/oauth/token`` use the login form too (RFC 6749 §5.2 codes), while a
  throttle fault answers the platform's 429 ErrorBody on every path. The token endpoint is not rate-limited.
* Tokens last ``token.expires_in`` seconds (86399) on the fake's clock; rate limit
  ``rate_limit.requests`` (300) per ``rate_limit.window`` (60 s) per token, a fixed window opened by the
  token's first request; every API answer carries ``inin-ratelimit-count``/``-allowed``/``-reset`` and
  ``ININ-Correlation-Id``; a 429 adds ``Retry-After``; its text is ``rate_limit.message``.
* A JSON endpoint given another content type answers 415 ``unsupported.media.type``; a body over the
  shared ``client_max_size`` 413 ``request.entity.too.large``; invalid UTF-8 or JSON 400 ``bad.request``;
  a bad member 400 ``invalid.value`` with ``details[].fieldName``; an unknown path 404 ``not.found``; a
  wrong method 405 ``method.not.allowed`` with ``Allow``.
* ``sender`` must be an active number of the org (``+18445551212`` or ``18445551212``), ``destination``
  E.164 with ``+``, ``message`` non-empty and at most ``sms.max_length`` (1600) code points; a
  client-supplied ``messageId`` is echoed as the message's id. Sends answer 200.
* Orders answer 200 and complete ``orders.completion_delay`` (2 s) later; the enum values
  (``orderType``, ``numberType``, ``orderStatus``, ``status``) come from ``enums``.
* Webhook payloads (not public, GAP): MO ``{messageId, sender, destination, message, timestamp}``,
  DR ``{messageId, status, sender, destination, timestamp, correlationInfo?}``; ``webhooks.mo_fields``
  and ``webhooks.dr_fields`` rename members (``""`` drops one), ``webhooks.dr_status`` names the states
  (default ``DELIVERED``, ``FAILED``, ``UNDELIVERABLE``, ``EXPIRED``).

Settings: the shared keys of ``fakes.common.settings`` plus those of ``fakes.portico.settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.common import CommonSettings, FakeBroker, RetryPolicy, read_common
from fakes.portico.broker import PorticoFake
from fakes.portico.service import Portico, Reply, Request, Sent
from fakes.portico.settings import PorticoSettings, parse_settings, read_portico
from sim.core.schema import Reader

__all__ = ["DEFAULT_RETRY", "Portico", "PorticoFake", "PorticoSettings", "Reply", "Request", "Sent", "create",
           "parse_settings", "read_portico", "read_settings"]

# Retries of webhook pushes are GAP for this service; Genesys Cloud's Open Messaging webhooks retry
# 5 times, 5 s apart (developer.genesys.cloud, openmessaging/validate), the nearest documented Genesys
# behaviour, so that is the default.
DEFAULT_RETRY = RetryPolicy(backoff=(5.0, 5.0, 5.0, 5.0, 5.0))


def read_settings(settings: Mapping[str, Any], path: str) -> tuple[CommonSettings, PorticoSettings]:
    """The shared and the Portico settings of one mapping, every problem reported at once.

    Raises:
        ConfigError: every problem in the shared and Portico settings, each with its path.
    """
    r = Reader(settings, path)
    common = read_common(r, retry=DEFAULT_RETRY, dlr_delay=1.0)
    portico = read_portico(r)
    r.done("kind")
    r.raise_if_problems()
    return common, portico


def create(name: str, settings: Mapping[str, Any], path: str) -> FakeBroker:
    """Build a Portico fake from its settings mapping (the factory the registry calls).

    Args:
        name: the fake's name.
        settings: its mapping in the lab file.
        path: where that mapping sits (e.g. ``fakes.portico``), for error messages.

    Raises:
        ConfigError: every problem in the shared and Portico settings, each with its path.
    """
    common, portico = read_settings(settings, path)
    return PorticoFake(name, common, portico)
