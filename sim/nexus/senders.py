"""Sender ids: the ``chat.<name>`` sections of the ``NexusServices`` transaction and their options.

"Setting up Integration for Inbound and Outbound SMS", "Provision sender IDs in Digital Channels": in
Platform Administration, Environment > Transactions > NexusServices > Options, one section per short code
or text-enabled number. The section name starts with ``chat.``; the rest is letters, underscores or
dashes, never spaces (digits are allowed here too: the document does not forbid them). Its options:

=====================  =====================================================================
``channelId``          the sender id (``$tfn``), required
``channelType``        ``sms`` (``email`` too, for an Async email-domain channel)
``endpoint``           ``chat.<Designer endpoint>``: the Designer application's chat endpoint
``interactionSubtype`` ``SMS``
``interactionType``    ``Inbound``
``media``              ``chat``
``cxcOnly``            ``false`` by default; ``true``: messages go to CX Contact, not to an agent
``provider``           ``Portico``, ``Async`` or ``mGage``; Portico when missing
``header:<name>``      a static header on the Async webhook ("Add custom HTTP headers")
=====================  =====================================================================

Config Server options are strings, so ``cxcOnly`` may be ``"true"``/``"false"`` or a YAML boolean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.core.schema import Reader
from sim.nexus.errors import NexusError, from_problems
from sim.nexus.services import PROVIDERS, Provider

__all__ = ["HEADER_PREFIX", "SECTION_NAME", "Sender", "SenderBook", "read_sender", "section_problem"]

SECTION_NAME = re.compile(r"chat\.[A-Za-z0-9_-]+")
HEADER_PREFIX = "header:"
_FIXED = {"interactionSubtype": "SMS", "interactionType": "Inbound", "media": "chat"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


@dataclass(frozen=True)
class Sender:
    """One provisioned sender id (a ``chat.<name>`` section)."""

    ccid: str
    section: str
    channel_id: str
    endpoint: str
    channel_type: str = "sms"
    cxc_only: bool = False
    provider: Provider = Provider.PORTICO
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The section as the API shows it: its name and options."""
        return {"ccid": self.ccid, "section": self.section, "options": dict(self.options)}


def section_problem(name: str) -> str | None:
    """Why ``name`` cannot be a sender section, or ``None`` when it can."""
    if not name.startswith("chat."):
        return "must start with 'chat.' (the prefix is required)"
    if any(c.isspace() for c in name):
        return "must not hold spaces"
    if SECTION_NAME.fullmatch(name) is None:
        return "must be chat. followed by letters, digits, underscores or dashes"
    return None


def _flag(r: Reader, key: str) -> bool:
    value = r.raw(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    r.problem(key, value, "must be true or false")
    return False


def read_sender(r: Reader, ccid: str, section: str) -> Sender:
    """A sender section's options from ``r`` (named ``section``); problems go on ``r``."""
    problem = section_problem(section)
    if problem is not None:
        r.problems.add(r.path, section, f"section name {problem}")
    channel_id = r.text("channelId", allow_empty=False)
    channel_type = r.text("channelType", "sms")
    if channel_type not in ("sms", "email"):
        r.problem("channelType", channel_type, "must be sms (or email for an Async email channel)")
    endpoint = r.text("endpoint", allow_empty=False)
    if endpoint and not endpoint.startswith("chat."):
        r.problem("endpoint", endpoint, "must be chat.<Designer endpoint name>")
    for key, wanted in _FIXED.items():
        value = r.text(key, wanted)
        if value != wanted:
            r.problem(key, value, f"must be {wanted}")
    cxc = _flag(r, "cxcOnly")
    provider = r.text("provider", Provider.PORTICO.value) or Provider.PORTICO.value
    if provider not in PROVIDERS:
        r.problem("provider", provider, f"must be one of {', '.join(PROVIDERS)} (Portico when missing)")
        provider = Provider.PORTICO.value
    headers = {}
    for key in r.data:
        if isinstance(key, str) and key.startswith(HEADER_PREFIX):
            name = key[len(HEADER_PREFIX):]
            value = r.text(key)
            if _HEADER_NAME.fullmatch(name) is None:
                r.problem(key, key, "must be header:<an HTTP header name>")
            headers[name] = value
    r.done()
    options = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in r.data.items()}
    return Sender(ccid, section, channel_id, endpoint, channel_type, cxc, Provider(provider), headers,
                  options)


class SenderBook:
    """Every provisioned sender section, by name; looked up by channel id for inbound messages."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def add(self, sender: Sender) -> None:
        """Keep an already checked section (from the lab file)."""
        self._senders[sender.section] = sender

    def put(self, ccid: str, section: str, options: object) -> Sender:
        """Create or replace a section from its options.

        Raises:
            NexusError: 400 naming the reason (a bad name, a bad option); 409 when another section of the
                tenant has the same ``channelId``.
        """
        r = Reader(options, f"sections.{section}")
        sender = read_sender(r, ccid, section)
        if r.problems:
            raise from_problems(r.problems, "sender section")
        other = self.by_channel(sender.channel_id)
        if other is not None and other.section != section:
            raise NexusError(f"channelId {sender.channel_id} is already the sender of {other.section}", 409)
        self._senders[section] = sender
        return sender

    def get(self, section: str) -> Sender:
        """The section with this name.

        Raises:
            NexusError: 404.
        """
        if section not in self._senders:
            raise NexusError(f"no sender section {section}", 404)
        return self._senders[section]

    def delete(self, section: str) -> None:
        """Remove a section.

        Raises:
            NexusError: 404.
        """
        del self._senders[self.get(section).section]

    def by_channel(self, channel_id: str) -> Sender | None:
        """The section whose ``channelId`` is this sender id (a leading ``+`` ignored)."""
        bare = channel_id.lstrip("+")
        return next((s for s in self._senders.values() if s.channel_id.lstrip("+") == bare), None)

    def listing(self, ccid: str | None = None) -> list[dict[str, object]]:
        """Every section (of one tenant when ``ccid`` is given)."""
        return [s.to_json() for s in self._senders.values() if ccid is None or s.ccid == ccid]
