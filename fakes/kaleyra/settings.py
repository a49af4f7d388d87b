"""Settings of the Kaleyra / mGage DirectTEXT fake, read with ``sim.core.schema.Reader``.

Kaleyra's DirectTEXT API guide is not public, so the fake follows public DirectTEXT clients, Acoustic's
help pages and an open-source MMX router. Every fact none of them gives (GAP) is a setting here, with the
default named and its source given::

    accounts: [{username: smslab, password: smslab}]   # Basic auth for MT (as every client sends)
    realm: DirectTEXT                  # WWW-Authenticate realm on 401 (GAP)
    content_type: text/xml             # of <httpApiResponse> (GAP; text/xml as the XML API uses)
    max_recipients: 100                # per MT (GAP; the Rails client sends up to 90)
    recipient_pattern: '\\+?[0-9]{5,15}'   # fullmatch per recipient (GAP)
    channels: [sms, multimedia]        # accepted `channel` values (the clients')
    message_ids: uuid                  # uuid (seeded) or counter (GAP: the real id format)
    codes: {<reason>: {code, description, http_status}}   # the result-code table (GAP), see CODES
    rejects: [{pattern, code, description}]   # recipients answered with that code, nothing captured
    xml_api: true                      # also serve the older XML API at both paths
    mo: {status: mo_success | processing, carrier: tmobile, channel: sms, country_code: "1", router: ...}
    dr: {carrier: tmobile, channel: sms, router: MMX, smscid: smslab, per_segment: false,
         statuses: {delivered: {status: Carrier Success, code: "200"}, failed: ..., ...}}
    rest: {accounts: [{sid, api_key}], callback_url, callback_format, statuses, fields, response}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fakes.common import CommonSettings, RetryPolicy, WireReason, read_common
from sim.core.schema import Reader
from sim.core.types import DeliveryState

__all__ = ["CODES", "DR_STATUSES", "KALEYRA_RETRY", "Code", "KaleyraSettings", "MoSettings", "read_settings"]

#: MO/DR retries: "retry every 60 s for 48 h", the "MMX default" per an MMX router's README (unconfirmed).
KALEYRA_RETRY = RetryPolicy(interval=60.0, total=48 * 3600.0)


@dataclass(frozen=True)
class Code:
    """One row of the result-code table: the ``<code>``, the ``<description>`` and the HTTP status.

    ``description`` may hold ``{field}`` and ``{message}``; ``http_status`` 0 keeps the error's own.
    """

    code: str
    description: str
    http_status: int = 0


# The real DirectTEXT code table is not public (only 100 = success is known, from the clients); these
# defaults are the lab's own, chosen so each reason is told apart. Parameter errors keep HTTP 200 because
# every known client reads <code>, not the HTTP status.
CODES: dict[str, Code] = {
    "success": Code("100", "Message(s) accepted"),
    WireReason.MISSING.value: Code("101", "Missing parameter: {field}", 200),
    WireReason.INVALID.value: Code("102", "Invalid parameter: {field} ({message})", 200),
    WireReason.MALFORMED.value: Code("103", "Malformed request: {message}", 400),
    WireReason.ENCODING.value: Code("104", "Invalid encoding: {message}", 400),
    WireReason.MEDIA_TYPE.value: Code("105", "Unsupported content type: {message}", 415),
    WireReason.TOO_LARGE.value: Code("106", "Request too large: {message}", 413),
    WireReason.UNAUTHORIZED.value: Code("401", "Authentication failed", 401),
    WireReason.NOT_FOUND.value: Code("404", "Not found", 404),
    WireReason.METHOD.value: Code("405", "Method not allowed", 405),
    WireReason.THROTTLED.value: Code("429", "Too many requests", 429),
    WireReason.OTHER.value: Code("999", "{message}", 0),
}

# DR status per outcome: only Carrier Success/200 has been seen (the MMX fixture); the rest are GAP.
DR_STATUSES: dict[DeliveryState, tuple[str, str]] = {
    DeliveryState.DELIVERED: ("Carrier Success", "200"),
    DeliveryState.FAILED: ("Carrier Failure", "400"),
    DeliveryState.UNDELIVERABLE: ("Undeliverable", "410"),
    DeliveryState.EXPIRED: ("Expired", "408"),
}

# The two MO status sets, since the sources disagree: Acoustic's page vs the MMX router's fixture.
MO_VARIANTS = {"processing": ("Processing", "10", ""), "mo_success": ("MO Success", "100", "MMX")}
_OUTCOMES = ("delivered", "failed", "undeliverable", "expired")


@dataclass(frozen=True)
class MoSettings:
    """The fixed fields of an MO push."""

    variant: str = "mo_success"
    status: str = "MO Success"
    status_code: str = "100"
    router: str = "MMX"
    carrier: str = "tmobile"
    channel: str = "sms"
    country_code: str = "1"


@dataclass(frozen=True)
class DrSettings:
    """The fixed fields of a DR push and the status per outcome."""

    carrier: str = "tmobile"
    channel: str = "sms"
    router: str = "MMX"
    smscid: str = "smslab"
    per_segment: bool = False
    statuses: dict[DeliveryState, tuple[str, str]] = field(default_factory=lambda: dict(DR_STATUSES))


@dataclass(frozen=True)
class RestSettings:
    """The REST v1 mode; its response and callback names are not public (GAP), hence settings."""

    accounts: dict[str, str] = field(default_factory=lambda: {"smslab": "smslab-key"})
    callback_url: str = ""
    callback_format: str = "json"
    sent_callback: bool = True
    statuses: dict[str, str] = field(default_factory=lambda: {
        "sent": "Sent", "delivered": "Delivered", "failed": "Failed", "undeliverable": "Undelivered",
        "expired": "Undelivered"})
    fields: dict[str, str] = field(default_factory=lambda: {
        "id": "id", "status": "status", "to": "to", "sender": "sender", "ref": "ref", "at": "created_at"})
    # The capability-check API's 202 body ("sms-api-capability-check-api"); the send response beyond
    # data[].id is GAP.
    response: dict[str, str] = field(default_factory=lambda: {"code": "MSG402",
                                                              "message": "Request Successful"})
    accepted_status: str = "SUBMITTED"


@dataclass(frozen=True)
class KaleyraSettings:
    """Everything the Kaleyra fake is configured with (see the module docstring)."""

    common: CommonSettings
    accounts: dict[str, str] = field(default_factory=lambda: {"smslab": "smslab"})
    realm: str = "DirectTEXT"
    content_type: str = "text/xml"
    max_recipients: int = 100
    recipient_pattern: re.Pattern[str] = re.compile(r"\+?[0-9]{5,15}")
    channels: tuple[str, ...] = ("sms", "multimedia")
    message_ids: str = "uuid"
    codes: dict[str, Code] = field(default_factory=lambda: dict(CODES))
    rejects: tuple[tuple[re.Pattern[str], Code], ...] = ()
    xml_api: bool = True
    mo: MoSettings = field(default_factory=MoSettings)
    dr: DrSettings = field(default_factory=DrSettings)
    rest: RestSettings = field(default_factory=RestSettings)


def read_settings(data: Any, path: str = "fakes.kaleyra") -> KaleyraSettings:
    """Read the Kaleyra fake's settings mapping.

    Raises:
        ConfigError: every problem found, each with its field path.
    """
    r = Reader(data, path)
    common = read_common(r, retry=KALEYRA_RETRY)
    out = KaleyraSettings(
        common=common, accounts=_accounts(r, "accounts", "username", "password", {"smslab": "smslab"}),
        realm=r.text("realm", "DirectTEXT"),
        content_type=r.text("content_type", "text/xml", pattern=r"(text|application)/xml"),
        max_recipients=r.integer("max_recipients", 100, minimum=1),
        recipient_pattern=r.regex("recipient_pattern", r"\+?[0-9]{5,15}"),
        channels=r.strings("channels", ["sms", "multimedia"]),
        message_ids=_one_of(r, "message_ids", "uuid", ("uuid", "counter")),
        codes=_codes(r.child("codes", None)), rejects=_rejects(r),
        xml_api=r.boolean("xml_api", True), mo=_mo(r.child("mo", None)), dr=_dr(r.child("dr", None)),
        rest=_rest(r.child("rest", None)),
    )
    r.done("kind")
    r.raise_if_problems()
    return out


def _one_of(r: Reader, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = r.text(key, default)
    if value not in allowed:
        r.problem(key, value, f"must be one of {', '.join(allowed)}")
        return default
    return value


def _accounts(r: Reader, key: str, user_key: str, secret_key: str, default: dict[str, str]) -> dict[str, str]:
    if not r.has(key):
        r.raw(key, None)
        return dict(default)
    out: dict[str, str] = {}
    for a in r.children(key):
        out[a.text(user_key, allow_empty=False)] = a.text(secret_key)
        a.done()
    if not out:
        r.problem(key, [], "must list at least one account")
    return out


def _code(r: Reader, default: Code) -> Code:
    out = Code(r.text("code", default.code, allow_empty=False), r.text("description", default.description),
               r.integer("http_status", default.http_status, minimum=0, maximum=599))
    r.done()
    return out


def _codes(r: Reader) -> dict[str, Code]:
    out = dict(CODES)
    for key in r.data:
        if key in CODES:
            out[key] = _code(r.child(key), CODES[key])
    r.done()
    return out


def _rejects(r: Reader) -> tuple[tuple[re.Pattern[str], Code], ...]:
    out = []
    for item in r.children("rejects"):
        pattern = item.regex("pattern")
        code = Code(item.text("code", allow_empty=False), item.text("description", "Rejected"),
                    item.integer("http_status", 200, minimum=100, maximum=599))
        item.done()
        out.append((pattern, code))
    return tuple(out)


def _mo(r: Reader) -> MoSettings:
    variant = _one_of(r, "status", "mo_success", tuple(MO_VARIANTS))
    status, code, router = MO_VARIANTS[variant]
    out = MoSettings(variant, status, code, r.text("router", router), r.text("carrier", "tmobile"),
                     r.text("channel", "sms"), r.text("country_code", "1"))
    r.done()
    return out


def _dr(r: Reader) -> DrSettings:
    statuses = dict(DR_STATUSES)
    st = r.child("statuses", None)
    for name in _OUTCOMES:
        if st.has(name):
            one = st.child(name)
            state = DeliveryState(name)
            statuses[state] = (one.text("status", statuses[state][0]), one.text("code", statuses[state][1]))
            one.done()
    st.done()
    out = DrSettings(r.text("carrier", "tmobile"), r.text("channel", "sms"), r.text("router", "MMX"),
                     r.text("smscid", "smslab"), r.boolean("per_segment", False), statuses)
    r.done()
    return out


def _rest(r: Reader) -> RestSettings:
    d = RestSettings()
    statuses = {**d.statuses, **r.mapping("statuses", {})}
    fields = {**d.fields, **r.mapping("fields", {})}
    for problem_key, given, known in (("statuses", statuses, d.statuses), ("fields", fields, d.fields)):
        for name in set(given) - set(known):
            r.problems.add(f"{r.at(problem_key)}.{name}", given[name], f"is not one of {', '.join(known)}")
    out = RestSettings(
        accounts=_accounts(r, "accounts", "sid", "api_key", d.accounts),
        callback_url=r.text("callback_url", "", pattern=r"https?://\S+"),
        callback_format=_one_of(r, "callback_format", "json", ("json", "form", "query")),
        sent_callback=r.boolean("sent_callback", True), statuses=statuses, fields=fields,
        response=r.mapping("response", d.response), accepted_status=r.text("accepted_status", "SUBMITTED"),
    )
    r.done()
    return out
