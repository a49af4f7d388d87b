"""The frozen model of one broker definition (the format itself: ``sim/brokerdef/__init__.py``).

Everything here is built by ``sim.brokerdef.loader`` after validation; nothing is parsed at use time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from sim.brokerdef.locator import Locator
from sim.brokerdef.template import Template
from sim.core.types import DeliveryState

__all__ = [
    "Answer",
    "AnswerFormat",
    "Auth",
    "AuthScheme",
    "Definition",
    "DrSpec",
    "Failure",
    "Method",
    "MtSpec",
    "Outcome",
    "Param",
    "Placement",
    "Push",
    "Recipients",
    "StatusEntry",
    "TextRules",
    "XmlSlot",
]


class Method(Enum):
    """HTTP methods a definition may use."""

    GET = "GET"
    POST = "POST"


class Placement(Enum):
    """Where the fields of a request travel."""

    QUERY = "query"
    FORM = "form"
    JSON = "json"
    XML = "xml"


class AuthScheme(Enum):
    """How an MT request proves its account (DirectTEXT: Basic; Kaleyra REST: api-key; EzTexting: params)."""

    NONE = "none"
    BASIC = "basic"
    PARAMS = "params"
    BEARER = "bearer"
    API_KEY = "api-key"


class Recipients(Enum):
    """How one request names several numbers (DirectTEXT clients: repeated ``recipient=`` or comma-joined)."""

    SINGLE = "single"
    REPEAT = "repeat"
    JOIN = "join"


class AnswerFormat(Enum):
    """How the broker's answer to an MT is written."""

    BARE = "bare"
    JSON = "json"
    XML = "xml"
    STATUS = "status"


class Failure(Enum):
    """Why a fake refuses an MT; each maps to one failure answer of the definition."""

    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    INVALID_MESSAGE = "invalid_message"
    CREDIT = "credit"
    OPT_OUT = "opt_out"
    RATE_LIMITED = "rate_limited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Param:
    """One wire parameter of an MT: its name (a locator source for JSON), template and whether required."""

    name: str
    template: Template
    required: bool
    locator: Locator | None = None


@dataclass(frozen=True)
class XmlSlot:
    """Where fields sit in an XML body template: an element path from the root, and text or an attribute.

    Attributes:
        path: ``(tag, index among same-tag siblings)`` steps below the root.
        attribute: the attribute holding the value, or ``None`` for the element text.
        template: the slot's own template (e.g. ``+{to}``).
    """

    path: tuple[tuple[str, int], ...]
    attribute: str | None
    template: Template


@dataclass(frozen=True)
class Auth:
    """The MT auth scheme; ``header`` names the API-key header."""

    scheme: AuthScheme = AuthScheme.NONE
    header: str = "api-key"


@dataclass(frozen=True)
class MtSpec:
    """How an MT is sent (CIC side) and accepted (fake side)."""

    method: Method
    accept_methods: frozenset[Method]
    path: str
    placement: Placement
    params: tuple[Param, ...]
    xml_template: Template | None
    xml_root: str
    xml_slots: tuple[XmlSlot, ...]
    auth: Auth
    recipients: Recipients
    separator: str
    recipient_pattern: re.Pattern[str] | None
    dr_url_param: str
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Outcome:
    """One answer a broker gives: HTTP status, its own code and a description."""

    status: int
    code: str
    description: str


@dataclass(frozen=True)
class Answer:
    """How success and each failure are written in (and recognised from) the answer to an MT."""

    format: AnswerFormat
    content_type: str
    body: Template | None
    fields: tuple[tuple[str, Locator], ...]
    success: Outcome
    failures: tuple[tuple[Failure, Outcome], ...]

    def locator(self, name: str) -> Locator | None:
        """The locator of answer field ``name`` (``code``, ``description``, ``recipient``, ``message_id``)."""
        return dict(self.fields).get(name)

    def failure(self, kind: Failure) -> Outcome:
        """The answer for ``kind``; kinds the definition leaves out fall back to ``unknown``."""
        table = dict(self.failures)
        return table.get(kind, table[Failure.UNKNOWN])


@dataclass(frozen=True)
class Push:
    """An MO or DR push: method, default path on the CIC side, placement and wire fields."""

    method: Method
    path: str
    placement: Placement
    fields: tuple[tuple[str, Template], ...]


@dataclass(frozen=True)
class StatusEntry:
    """One word of a broker's DR vocabulary and the lab state it means."""

    status: str
    code: str
    state: DeliveryState


@dataclass(frozen=True)
class DrSpec:
    """The DR push and its status vocabulary, first entry per state used when writing."""

    push: Push
    states: tuple[StatusEntry, ...]

    def entry_for(self, state: DeliveryState) -> StatusEntry | None:
        """The first vocabulary entry for ``state`` (what a broker writes for it), or ``None``."""
        return next((e for e in self.states if e.state is state), None)


@dataclass(frozen=True)
class TextRules:
    """Message rules a broker enforces (answered with the ``invalid_message`` failure).

    Attributes:
        max_length: the most characters a message may have after weighting, or ``None``.
        allowed: a regex every character must match, or ``None`` for any.
        double: characters that count twice against ``max_length``.
    """

    max_length: int | None = None
    allowed: re.Pattern[str] | None = None
    double: str = ""


@dataclass(frozen=True)
class Definition:
    """A broker definition, validated and frozen."""

    name: str
    description: str
    source: str
    mt: MtSpec
    answer: Answer
    mo: Push | None
    dr: DrSpec | None
    text_rules: TextRules
