"""CX Contact outbound SMS campaigns: a list of numbers, a text template with fields, a rate, a sender id.

"Setting up Integration for Inbound and Outbound SMS" says only that SMS goes out "in your outbound
campaigns through CX Contact"; CX Contact's own campaign API is out of scope, so a campaign is given to
the lab directly (``POST /_smslab/campaigns``)::

    {"section": "chat.SMS_Main_Corporate", "template": "Hi {name}, your order {order} has shipped",
     "rate": 10, "recipients": [{"number": "+13125550100", "fields": {"name": "Ann", "order": "A1"}}]}

Each recipient's text is the template with its fields (plain ``{name}`` fields only; a recipient missing
one is refused, naming it, before anything is sent). Messages go through the section's provider at
``rate`` per second; each recipient's state follows its provider's answer and then its receipt.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.core.schema import Reader
from sim.nexus.errors import NexusError, from_problems
from sim.nexus.interactions import Message
from sim.nexus.senders import Sender

__all__ = ["Campaign", "Recipient", "fields_of", "parse_campaign"]

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Recipient:
    """One number of a campaign and its message."""

    number: str
    text: str
    message: Message | None = None

    def to_json(self) -> dict[str, object]:
        """As the control API shows it."""
        m = self.message
        return {"number": self.number, "text": self.text, "message_id": m.id if m else "",
                "state": m.state if m else "pending", "status": m.status if m else ""}


@dataclass
class Campaign:
    """One campaign."""

    id: str
    ccid: str
    section: str
    provider: str
    template: str
    rate: float
    recipients: list[Recipient] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """As the control API shows it, with a count per state."""
        states: dict[str, int] = {}
        for r in self.recipients:
            state = str(r.to_json()["state"])
            states[state] = states.get(state, 0) + 1
        return {"id": self.id, "ccid": self.ccid, "section": self.section, "provider": self.provider,
                "template": self.template, "rate": self.rate, "states": states,
                "recipients": [r.to_json() for r in self.recipients]}


def fields_of(template: str) -> list[str]:
    """The field names of a template.

    Raises:
        NexusError: 400 for a malformed template or a field that is not a plain name.
    """
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise NexusError(f"template is malformed: {exc}", 400) from exc
    bad = [n for n in names if _FIELD.fullmatch(n) is None]
    if bad:
        raise NexusError(f"template field {{{bad[0]}}} must be a plain name (letters, digits, _)", 400)
    return names


def parse_campaign(data: object, senders: Callable[[str], Sender], new_id: Callable[[], str]) -> Campaign:
    """A campaign from its request body, every recipient's text rendered.

    Raises:
        NexusError: 400 listing every problem (a recipient missing a field names both), 404 for an
            unknown section.
    """
    r = Reader(data, "body")
    section = r.text("section", allow_empty=False)
    template = r.text("template", allow_empty=False)
    rate = r.number("rate", 10.0, minimum=0.001)
    names = fields_of(template) if template else []
    recipients = []
    for child in r.children("recipients"):
        number = child.text("number", pattern=r"\+?[0-9]{5,15}")
        fields = child.mapping("fields", {})
        missing = [n for n in names if n not in fields]
        if missing:
            child.problem("fields", fields, f"must give {', '.join(missing)} (fields of the template)")
        child.done()
        recipients.append(Recipient(number, template.format_map(fields) if not missing else ""))
    if not recipients:
        r.problem("recipients", r.data.get("recipients"), "must list at least one recipient")
    r.done()
    if r.problems:
        raise from_problems(r.problems, "campaign")
    sender = senders(section)
    return Campaign(new_id(), sender.ccid, section, sender.provider.value, template, rate, recipients)
