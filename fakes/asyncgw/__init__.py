"""A fake third-party messaging aggregator: the custom gateway of Digital Channels' SMS Option 2.

It is what a customer builds with Genesys's Third-Party Messaging API ("Setting up Integration for
Inbound and Outbound SMS", Option 2; "Third-party messaging webhook"; "Third-Party Messaging API"):

* **the webhook** (``POST`` any path but ``/_smslab/``): Digital Channels sends ``{"messages": [...]}``
  signed ``X-Hub-Signature: sha1=<HMAC-SHA1 of the raw body with the channel's webhook secret>`` (hex,
  or base64 with ``signature: base64``), with ``X-B3-TraceId`` and the section's static ``header:``
  headers. The fake checks the signature in constant time against the channel named by each message's
  ``channelId`` (401 ``{"error"}`` when it is missing or wrong, nothing captured), captures each message
  (with its headers) and answers 200 ``{"messageId"}`` (the doc's ``OutgoingMessageResponse``). The shared
  fault hook makes the webhook's documented failures: ``{"kind": "error", "status": 503}`` (Digital
  Channels redelivers), ``{"kind": "latency", "delay": 11}`` (slower than the 10 s rule), and
  ``{"kind": "error", "status": 200, "body": "{}", "content_type": "application/json"}`` (a 2xx without
  ``messageId``).
* **inbound** (``POST /_smslab/mo`` ``{"from", "to": <channelId>, "text"}``): pushed to
  ``<mo_url>/nexus/v3/channels/<channelId>/messages`` as ``{"messages": [{"messageId", "from", "to",
  "text"}]}``, signed with the channel's API secret and carrying ``x-ccid``.
* **receipts**: after each accepted message, a ``{"receipts": [{"messageId", "status"}]}`` push to
  ``<mo_url>/nexus/v3/channels/<channelId>/receipts``, signed the same way (``status``: ``delivered``,
  ``failed``, ``undeliverable`` or ``expired`` from the shared DLR planner).

The inbound and receipt schemas of the Third-Party Messaging API are not public (GAP): these are the
lab's, and Nexus reads the same.

Settings (the shared keys of ``fakes.common.settings`` too)::

    ccid: 45acae06-6b7c-4f97-9c76-471cb5c21bf7
    channels:
      - {channel_id: "16504661149", webhook_secret: wh-secret, api_secret: api-secret}
    signature: hex
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.asyncgw.fake import AsyncGatewayFake, GatewaySettings, read_gateway
from fakes.common import RetryPolicy, read_common
from sim.core.schema import Reader

__all__ = ["AsyncGatewayFake", "GatewaySettings", "create"]

# Retries of the aggregator's own calls are the customer's choice; the lab retries 5 times, 5 s apart
# (Genesys Cloud's Open Messaging webhook rule, the nearest documented Genesys behaviour).
DEFAULT_RETRY = RetryPolicy(backoff=(5.0, 5.0, 5.0, 5.0, 5.0))


def create(name: str, settings_mapping: Mapping[str, Any], path: str) -> AsyncGatewayFake:
    """Build the fake aggregator from its settings mapping (the registry's factory signature).

    Raises:
        ConfigError: every problem in the mapping, each with its path under ``path``.
    """
    r = Reader(settings_mapping, path)
    common = read_common(r, retry=DEFAULT_RETRY, dlr_delay=1.0)
    gateway = read_gateway(r)
    r.done("kind")
    r.raise_if_problems()
    return AsyncGatewayFake(name, common, gateway)
