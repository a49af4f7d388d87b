"""The Kaleyra / mGage DirectTEXT model, sans-IO: MT parameters in, decisions and wire fields out.

Nothing here touches a socket: the fake's handlers (``fake.py``) read the request, call these functions
and render the answer, and the benchmark drives the same functions below the socket layer.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from multidict import MultiDict

from fakes.common import MoRequest, WireError, WireReason
from fakes.common.carrier import parts_of
from fakes.common.push import form_value
from fakes.kaleyra.settings import Code, KaleyraSettings
from sim.core.types import DeliveryState

__all__ = [
    "MO_EXTRAS",
    "Callback",
    "DrForm",
    "MessageIds",
    "MtSubmission",
    "PendingDr",
    "dr_fields",
    "dr_parts",
    "mo_fields",
    "parse_mt",
    "rejected",
    "wire_fields",
]

# MT parameters (as the public clients send them); the rest of a request's parameters are kept, not checked.
_REQUIRED = ("reply_to", "recipient", "body")
#: Fields ``POST /_smslab/mo`` may set on a Kaleyra MO beyond from/to/text (Acoustic's list).
MO_EXTRAS = frozenset({"carrier", "channel", "message_id", "message_subid", "country_code", "status",
                       "status_code", "router"})


class MtSubmission(NamedTuple):
    """One accepted-to-parse MT request.

    Attributes:
        reply_to: the sender id (short or long code).
        recipients: the numbers, split from repeated and comma-joined ``recipient`` values.
        body: the text, URL-decoded UTF-8.
        reporting_key1: echoed as the DR's ``client_message_id`` (the MMX fixture).
        reporting_key2: the second correlation key.
        channel: ``sms`` or ``multimedia``.
        content_url: the media URL for ``multimedia``.
        fields: every parameter as received (a repeated one as a list).
    """

    reply_to: str
    recipients: tuple[str, ...]
    body: str
    reporting_key1: str = ""
    reporting_key2: str = ""
    channel: str = "sms"
    content_url: str = ""
    fields: Mapping[str, Any] | None = None


def wire_fields(params: MultiDict[str]) -> dict[str, Any]:
    """The parameters as a plain dict; a name given more than once maps to the list of its values."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    return out


def parse_mt(params: MultiDict[str], settings: KaleyraSettings) -> MtSubmission:
    """Check and read the MT parameters.

    Raises:
        WireError: MISSING or INVALID, naming the parameter.
    """
    for name in _REQUIRED:
        first = params.get(name, "")
        if not first.strip() and not any(v.strip() for v in params.getall(name, [])):
            raise WireError(f"'{name}' is required", WireReason.MISSING, name)
    recipients = tuple(n.strip() for v in params.getall("recipient") for n in v.split(",") if n.strip())
    for number in recipients:
        if not settings.recipient_pattern.fullmatch(number):
            raise WireError(f"{number!r} is not a mobile number", WireReason.INVALID, "recipient")
    if len(recipients) > settings.max_recipients:
        raise WireError(f"{len(recipients)} recipients, at most {settings.max_recipients}",
                        WireReason.INVALID, "recipient")
    channel = params.get("channel", "sms") or "sms"
    if channel not in settings.channels:
        raise WireError(f"{channel!r} is not one of {', '.join(settings.channels)}", WireReason.INVALID,
                        "channel")
    content_url = params.get("content_url", "")
    if channel == "multimedia" and not content_url:
        raise WireError("'content_url' is required with channel=multimedia", WireReason.MISSING,
                        "content_url")
    return MtSubmission(params["reply_to"].strip(), recipients, params["body"],
                        params.get("reporting_key1", ""), params.get("reporting_key2", ""), channel,
                        content_url, wire_fields(params))


def rejected(recipients: tuple[str, ...], settings: KaleyraSettings) -> Code | None:
    """The configured rejection for the first recipient matching a ``rejects`` pattern, if any."""
    for number in recipients:
        for pattern, code in settings.rejects:
            if pattern.search(number):
                return code
    return None


# RFC 4122 version 4: the version nibble set to 4 and the variant bits to 10, as uuid.UUID(version=4) does.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)


class MessageIds:
    """Message ids from the fake's seeded generator (``uuid``) or a counter (the real format is GAP)."""

    def __init__(self, mode: str, rng: random.Random, prefix: str = "") -> None:
        self.mode, self.rng, self.prefix = mode, rng, prefix
        self._counter = itertools.count(1)

    def next(self) -> str:
        """A new id."""
        if self.mode == "counter":
            return f"{self.prefix}{next(self._counter)}"
        # What str(uuid.UUID(int=..., version=4)) gives, without building the UUID (one id per MT).
        h = "%032x" % (self.rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def dr_parts(body: str, per_segment: bool) -> int:
    """How many DRs an MT gets: one, or one per segment of a long message (as Acoustic reports)."""
    # More than 255 parts: the DR count falls back to one, the MT itself was accepted.
    return parts_of(body) if per_segment else 1


def dr_fields(mt: MtSubmission, recipient: str, message_id: str, state: DeliveryState, *, subid: int,
              settings: KaleyraSettings) -> dict[str, str]:
    """The form fields of a DR push (an open-source MMX router's test fixture)."""
    dr = settings.dr
    status, code = dr.statuses[state]
    return {"carrier": dr.carrier, "channel": dr.channel, "client_message_id": mt.reporting_key1,
            "device_address": recipient, "inbound_address": mt.reply_to, "message_id": message_id,
            "message_subid": str(subid), "router": dr.router, "smscid": dr.smscid, "status": status,
            "status_code": code}


class DrForm:
    """The form body of a DR push: ``dr_fields`` encoded as ``Push.form`` encodes it, in the same order.

    Every DR of a fake shares its carrier, channel, router and smscid, and one status pair per outcome:
    those parts are encoded once here, so a DR encodes only its five own values (one DR per MT, on the
    loop that serves the MTs: see ``loadtests.bench_fakes``).
    """

    def __init__(self, settings: KaleyraSettings) -> None:
        dr = settings.dr
        self._head = f"carrier={form_value(dr.carrier)}&channel={form_value(dr.channel)}&client_message_id="
        tail = f"&router={form_value(dr.router)}&smscid={form_value(dr.smscid)}&status="
        self._tails = {state: f"{tail}{form_value(status)}&status_code={form_value(code)}"
                       for state, (status, code) in dr.statuses.items()}

    def body(self, mt: MtSubmission, recipient: str, message_id: str, state: DeliveryState, *,
             subid: int) -> bytes:
        """The encoded fields of the DR of ``message_id`` to ``recipient`` reporting ``state``."""
        return "".join((self._head, form_value(mt.reporting_key1), "&device_address=", form_value(recipient),
                        "&inbound_address=", form_value(mt.reply_to), "&message_id=", form_value(message_id),
                        "&message_subid=", str(subid), self._tails[state])).encode("ascii")


def mo_fields(mo: MoRequest, message_id: str, settings: KaleyraSettings) -> dict[str, str]:
    """The form fields of an MO push (Acoustic's help page and the MMX fixture); extras override defaults.

    Raises:
        WireError: an extra field Kaleyra MOs do not carry.
    """
    unknown = sorted(set(mo.extra) - MO_EXTRAS)
    if unknown:
        raise WireError(f"unknown MO fields {unknown}; known: {sorted(MO_EXTRAS)}", WireReason.INVALID,
                        unknown[0])
    m = settings.mo
    message_id = str(mo.extra.get("message_id", message_id))
    fields = {"device_address": mo.sender, "inbound_address": mo.recipient, "carrier": m.carrier,
              "channel": m.channel, "message": mo.text, "message_orig": mo.text, "message_id": message_id,
              "message_subid": "0", "a2w_mo_ref_id": message_id, "router": m.router, "status": m.status,
              "status_code": m.status_code, "country_code": m.country_code}
    fields.update({k: str(v) for k, v in mo.extra.items()})
    if not fields["router"]:
        del fields["router"]  # the Acoustic variant carries no router
    return fields


@dataclass(frozen=True, slots=True)
class Callback:
    """Where and how the status of one REST send is called back."""

    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    ref: str = ""


class PendingDr(NamedTuple):
    """A DR waiting in the scheduler: which MT, which recipient, which outcome, which part."""

    mt: MtSubmission
    recipient: str
    message_id: str
    state: DeliveryState
    subid: int = 0
    callback: Callback | None = None
