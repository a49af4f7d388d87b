"""The ``nexus:`` section of a lab file (and of ``smslab serve nexus --config``), read once and frozen.

Example (every key optional; the defaults are named)::

    nexus:
      ccid: 45acae06-6b7c-4f97-9c76-471cb5c21bf7    # the tenant (the guide's example ccid)
      api_keys:                                      # provisioned at start
        - {key: lab-admin-key, tenant: "*", name: Lab admin, permissions: ["nexus:cluster:*"]}
      services:                                      # provisioned at start, bodies as the guide's curl
        SMS: {url: N/A, data: {provider: Portico}, secret: {}}
        PurecloudIDP: {url: "fake:gc", secret: {clientId: nexus, clientSecret: s3cret}, data: {}}
        PorticoSMS: {url: "fake:gc", secret: {}, data: {}}
      senders:                                       # NexusServices sections
        chat.SMS_Main: {channelId: "18445551212", endpoint: chat.SMS_Main_Endpoint, provider: Portico}
      unprovisioned: refuse          # an MO for no sender section: refuse (404) or keep (parked)
      signature: {encoding: hex}     # X-Hub-Signature digest: hex or base64 (GAP)
      webhook: {timeout: 10, retries: [1, 2, 4]}   # Async webhook answer time; redelivery delays (GAP)
      token: {refresh_margin: 30}    # a Genesys Cloud token is renewed this many seconds before expiry
      kaleyra: {mt_path: /a2w_preRouter/httpApiRouter, inbound_auth: none}
      max_body: 1048576              # bytes; a larger request answers 413
      interactions_limit: 10000

A service's ``url`` may be ``fake:<name>``: the URL of the lab's fake ``<name>``, known once it listens
(``fake_urls``). GAPs, each a setting: the webhook's retry count and delays ("Third-party messaging
webhook": "deployment configuration"; default three redeliveries after 1, 2 and 4 s); the signature's
encoding; how Kaleyra's pushes authenticate (``none``, or ``basic`` with the ``mGageSMS`` credentials).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sim.core.errors import ConfigError
from sim.core.schema import Reader
from sim.nexus.keys import ApiKey, read_key
from sim.nexus.senders import Sender, read_sender
from sim.nexus.services import SERVICES, check_service
from sim.nexus.wire import SignatureEncoding

__all__ = ["DEFAULT_CCID", "FAKE_URL", "KaleyraAuth", "NexusSettings", "Unprovisioned", "parse_nexus",
           "placeholders", "read_nexus"]

#: The guide's example Contact Center Id ("Prerequisites" of Options 1 and 3).
DEFAULT_CCID = "45acae06-6b7c-4f97-9c76-471cb5c21bf7"
FAKE_URL = re.compile(r"fake:([A-Za-z0-9_.\-]+)")
#: Third-Party Messaging Overview: "the third party must answer the webhook within 10 seconds".
WEBHOOK_TIMEOUT = 10.0
DEFAULT_RETRIES = (1.0, 2.0, 4.0)


class Unprovisioned(Enum):
    """What an MO for a channel no sender section names gets: refused (404), or kept aside (parked)."""

    REFUSE = "refuse"
    KEEP = "keep"


class KaleyraAuth(Enum):
    """How Kaleyra's MO and DR pushes authenticate (NoAuth, Basic or OAuth2 in Kaleyra's provisioning)."""

    NONE = "none"
    BASIC = "basic"


@dataclass(frozen=True)
class NexusSettings:
    """Everything the Digital Channels model and shell need, validated."""

    ccid: str = DEFAULT_CCID
    api_keys: tuple[ApiKey, ...] = ()
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    senders: tuple[Sender, ...] = ()
    fake_urls: Mapping[str, str] = field(default_factory=dict)  # service -> fake name of its url
    unprovisioned: Unprovisioned = Unprovisioned.REFUSE
    signature: SignatureEncoding = SignatureEncoding.HEX
    webhook_timeout: float = WEBHOOK_TIMEOUT
    retries: tuple[float, ...] = DEFAULT_RETRIES
    refresh_margin: float = 30.0
    kaleyra_mt_path: str = "/a2w_preRouter/httpApiRouter"
    kaleyra_auth: KaleyraAuth = KaleyraAuth.NONE
    max_body: int = 1024 * 1024
    interactions_limit: int = 10_000


def placeholders(value: Any, named: list[str]) -> Any:
    """``value`` with each ``fake:<name>`` read as ``http://fake-<name>.invalid`` (RFC 2606), names noted."""
    if isinstance(value, Mapping):
        return {k: placeholders(v, named) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders(v, named) for v in value]
    found = FAKE_URL.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return value
    named.append(found.group(1))
    return f"http://fake-{found.group(1)}.invalid"


def _services(r: Reader) -> tuple[dict[str, Mapping[str, Any]], dict[str, str]]:
    out: dict[str, Mapping[str, Any]] = {}
    fakes: dict[str, str] = {}
    section = r.child("services")
    for name, body in section.data.items():
        section.used.add(name)
        path = section.at(str(name))
        if name not in SERVICES:
            section.problem(str(name), body, f"must be one of {', '.join(SERVICES)}")
            continue
        named: list[str] = []
        checked = placeholders(body, named)
        if named:
            fakes[name] = named[0]
        for p in check_service(name, checked, path).problems:
            r.problems.add(p.path, p.value, p.reason)
        out[name] = dict(body) if isinstance(body, Mapping) else {}
    return out, fakes


def read_nexus(r: Reader) -> NexusSettings:
    """Read a ``nexus`` mapping from ``r``; problems are recorded on ``r`` (the caller raises them)."""
    ccid = r.text("ccid", DEFAULT_CCID, allow_empty=False)
    counter = iter(range(1, 1 << 30))
    keys = tuple(read_key(k, lambda: f"key-{next(counter)}", key_required=True)
                 for k in r.children("api_keys"))
    services, fakes = _services(r)
    senders_r = r.child("senders")
    senders = []
    for name in senders_r.data:
        senders_r.used.add(name)
        senders.append(read_sender(Reader(senders_r.data[name], senders_r.at(str(name)), r.problems), ccid,
                                   str(name)))
    channels: dict[str, str] = {}
    for s in senders:
        if s.channel_id in channels:
            r.problems.add(f"{senders_r.at(s.section)}.channelId", s.channel_id,
                           f"is already the sender of {channels[s.channel_id]}")
        channels[s.channel_id] = s.section
    hook, token, kal, sig = r.child("webhook"), r.child("token"), r.child("kaleyra"), r.child("signature")
    retries = hook.raw("retries", list(DEFAULT_RETRIES))
    if not isinstance(retries, list) or not all(isinstance(x, int | float) and not isinstance(x, bool)
                                                and x >= 0 for x in retries):
        hook.problem("retries", retries, "must be a list of delays in seconds (>= 0); [] never redelivers")
        retries = list(DEFAULT_RETRIES)
    settings = NexusSettings(
        ccid=ccid, api_keys=keys, services=services, senders=tuple(senders), fake_urls=fakes,
        unprovisioned=r.choice("unprovisioned", Unprovisioned, Unprovisioned.REFUSE),
        signature=sig.choice("encoding", SignatureEncoding, SignatureEncoding.HEX),
        webhook_timeout=hook.number("timeout", WEBHOOK_TIMEOUT, minimum=0.01),
        retries=tuple(float(x) for x in retries),
        refresh_margin=token.number("refresh_margin", 30.0, minimum=0),
        kaleyra_mt_path=kal.text("mt_path", "/a2w_preRouter/httpApiRouter", pattern=r"/\S*"),
        kaleyra_auth=kal.choice("inbound_auth", KaleyraAuth, KaleyraAuth.NONE),
        max_body=r.integer("max_body", 1024 * 1024, minimum=1024),
        interactions_limit=r.integer("interactions_limit", 10_000, minimum=1),
    )
    for section in (hook, token, kal, sig):
        section.done()
    return settings


def parse_nexus(data: Mapping[str, Any] | None, path: str = "nexus", source: str = "",
                *ignored: str) -> NexusSettings:
    """Read and validate a ``nexus`` mapping, every problem at once.

    Raises:
        ConfigError: every problem, each with its path, value and reason.
    """
    r = Reader(data or {}, path)
    settings = read_nexus(r)
    r.done(*ignored)
    r.raise_if_problems(source)
    return settings


def problems_of(data: Mapping[str, Any] | None, path: str = "nexus") -> list[Any]:
    """The problems of a ``nexus`` mapping (empty when it is valid), for a check of the whole lab file."""
    try:
        parse_nexus(data, path)
    except ConfigError as exc:
        return list(exc.problems)
    return []
