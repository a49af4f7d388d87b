"""The fake-broker side of a definition, pure: read an MT, check it, answer it, write MO and DR pushes.

``accept_mt`` reads a request the way the definition says a broker reads it and raises ``MtRefused`` with
the failure kind when it cannot; ``answer_for``/``failure_answer`` write the definition's answers, so a
fake turns every refusal into the broker's own status and body in one place.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.brokerdef.definition import AuthScheme, Definition, Failure, Placement, Recipients, TextRules
from sim.brokerdef.locator import read_json
from sim.brokerdef.push import render_push
from sim.brokerdef.wire import FORM_TYPE, Account, HttpRequest, decode_fields, decode_json_object, media_type
from sim.brokerdef.xmlbody import read_xml_body
from sim.core.errors import InputError, UsageError
from sim.core.types import DeliveryState, InboundSms

__all__ = ["MASK", "MtRefused", "ReceivedMt", "accept_mt", "check_auth", "check_text", "render_dr",
           "render_mo"]

_CREDENTIALS = frozenset({"account.login", "account.password"})
#: What a captured MT shows in place of a credential.
MASK = "***"
_XML_TYPES = frozenset({"text/xml", "application/xml"})


class MtRefused(InputError):
    """A fake refuses an MT; ``kind`` picks the definition's failure answer.

    Args:
        kind: the failure kind.
        detail: what was wrong, for logs and the inspection API.
    """

    def __init__(self, kind: Failure, detail: str) -> None:
        super().__init__(detail, status=400)
        self.kind = kind


@dataclass(frozen=True)
class ReceivedMt:
    """An MT as a fake read it.

    Attributes:
        recipients: every number the request names (several with repeated or joined recipients).
        text: the message text.
        values: every other vocabulary field read (``from``, ``account.login``, ``reference`` ...).
        dr_url: the per-message DR URL, when the request carries one.
        fields: the request as received, in the broker's own names (form and query fields by name,
            a JSON body as parsed, an XML body as its text), for the capture store: credentials are
            shown as ``MASK``.
    """

    recipients: tuple[str, ...]
    text: str
    values: tuple[tuple[str, str], ...] = ()
    dr_url: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """The value of vocabulary field ``name``, or ``default`` when the request did not carry it."""
        return dict(self.values).get(name, default)


def accept_mt(definition: Definition, request: HttpRequest) -> ReceivedMt:
    """Read an MT request as the definition's broker does.

    Raises:
        MtRefused: ``bad_request`` for a wrong method, content type or a missing or malformed field;
            ``auth`` when a credential parameter is missing.
    """
    spec = definition.mt
    if request.method.upper() not in {m.value for m in spec.accept_methods}:
        raise MtRefused(Failure.BAD_REQUEST, f"method {request.method} is not accepted")
    try:
        wire, raw = _read_wire(definition, request)
    except MtRefused:
        raise
    except (InputError, ValueError) as exc:
        raise MtRefused(Failure.BAD_REQUEST, str(exc)) from exc
    recipients = _recipients(definition, wire.pop("to", []))
    text = wire.pop("text", [""])[0]
    values = tuple((k, v[0]) for k, v in wire.items() if v and k != "dr_url")
    dr_url = wire.get("dr_url", [""])[0]
    secrets = [v for k, v in values if k in _CREDENTIALS and v]
    return ReceivedMt(recipients, text, values, dr_url, _masked(definition, raw, secrets))


def _masked(definition: Definition, raw: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """``raw`` with every credential the request carried replaced by ``MASK``, as captures show it.

    Form and query fields and JSON members are masked by the parameters that hold ``{account.login}``
    or ``{account.password}``; an XML body (kept as text) by the credential values themselves.
    """
    spec = definition.mt
    if not secrets:
        return raw
    if spec.placement is Placement.XML:
        body = str(raw["body"])
        for secret in secrets:
            body = body.replace(secret, MASK)
        return {"body": body}
    masked = copy.deepcopy(raw)
    for param in spec.params:
        if not _CREDENTIALS & set(param.template.fields):
            continue
        path = param.locator.names if param.locator is not None else (param.name,)
        holder: Any = masked
        for name in path[:-1]:
            holder = holder.get(name) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and path[-1] in holder:
            holder[path[-1]] = MASK
    return masked


def _read_wire(definition: Definition,
               request: HttpRequest) -> tuple[dict[str, list[str]], dict[str, Any]]:
    spec = definition.mt
    kind = media_type(request.header("Content-Type"))
    if spec.placement is Placement.XML:
        if kind not in _XML_TYPES:
            raise InputError(f"the content type must be text/xml (got {kind or 'none'!r})")
        repeat = "to" if spec.recipients is Recipients.REPEAT else None
        values = read_xml_body(request.body, spec.xml_root, spec.xml_slots, repeat)
        return values, {"body": request.body.decode("utf-8")}
    if spec.placement is Placement.JSON:
        if kind != "application/json":
            raise InputError(f"the content type must be application/json (got {kind or 'none'!r})")
        document = decode_json_object(request.body)
        found = {p.name: read_json(document, p.locator) for p in spec.params if p.locator}
        if spec.dr_url_param and isinstance(document.get(spec.dr_url_param), str):
            found[spec.dr_url_param] = [str(document[spec.dr_url_param])]
        raw: dict[str, Any] = document
    else:
        if request.body and kind != FORM_TYPE:
            raise InputError(f"the content type must be {FORM_TYPE} (got {kind!r})")
        found = {}
        for name, value in decode_fields(request.query, kind, request.body):
            found.setdefault(name, []).append(value)
        raw = {k: v[0] if len(v) == 1 else v for k, v in found.items()}
    return _match_params(definition, found), raw


def _match_params(definition: Definition, found: dict[str, list[str]]) -> dict[str, list[str]]:
    spec = definition.mt
    values: dict[str, list[str]] = {}
    for param in spec.params:
        raw = found.get(param.name, [])
        if not raw:
            if param.required:
                kind = Failure.AUTH if _CREDENTIALS & set(param.template.fields) else Failure.BAD_REQUEST
                raise MtRefused(kind, f"missing parameter {param.name}")
            continue
        for item in raw if "to" in param.template.fields else raw[:1]:
            matched = param.template.match(item)
            if matched is None:
                source = param.template.source
                raise InputError(f"parameter {param.name} must match {source!r} (got {item!r})")
            for key, value in matched.items():
                values.setdefault(key, []).append(value)
    if spec.dr_url_param and found.get(spec.dr_url_param):
        values["dr_url"] = found[spec.dr_url_param][:1]
    return values


def _recipients(definition: Definition, raw: list[str]) -> tuple[str, ...]:
    spec = definition.mt
    if spec.recipients is Recipients.JOIN:
        raw = [n for item in raw for n in item.split(spec.separator)]
    if spec.recipients is Recipients.SINGLE and len(raw) != 1:
        raise MtRefused(Failure.BAD_REQUEST, f"exactly one recipient per request (got {len(raw)})")
    if not raw or "" in raw:
        raise MtRefused(Failure.BAD_REQUEST, "a recipient is missing or empty")
    pattern = spec.recipient_pattern
    if pattern is not None:
        bad = [n for n in raw if pattern.fullmatch(n) is None]
        if bad:
            raise MtRefused(Failure.BAD_REQUEST, f"recipient {bad[0]!r} must match {pattern.pattern}")
    return tuple(raw)


def check_auth(definition: Definition, request: HttpRequest, received: ReceivedMt,
               accounts: Sequence[Account]) -> Account | None:
    """The account an MT authenticates as, per the definition's auth scheme.

    With no accounts configured, any non-empty credentials pass (a lab fake open to every client); with
    scheme ``none`` the account is the one named by ``{account.id}`` if the request carries it.

    Raises:
        MtRefused: ``auth`` when the credentials are missing or match no account.
    """
    scheme = definition.mt.auth.scheme
    if scheme is AuthScheme.NONE:
        wanted = received.get("account.id")
        return next((a for a in accounts if a.id == wanted), None)
    login, password = _credentials(definition, request, received)
    if not accounts and (login or password):
        return Account(received.get("account.id") or login, login, password)
    for account in accounts:
        same_login = scheme in (AuthScheme.BEARER, AuthScheme.API_KEY) or _same(account.login, login)
        if same_login and _same(account.password, password):
            return account
    raise MtRefused(Failure.AUTH, "the credentials match no account")


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _credentials(definition: Definition, request: HttpRequest, received: ReceivedMt) -> tuple[str, str]:
    scheme = definition.mt.auth.scheme
    if scheme is AuthScheme.PARAMS:
        return received.get("account.login"), received.get("account.password")
    if scheme is AuthScheme.API_KEY:
        return "", request.header(definition.mt.auth.header)
    kind, _, value = request.header("Authorization").partition(" ")
    if scheme is AuthScheme.BEARER:
        return "", value.strip() if kind.lower() == "bearer" else ""
    if kind.lower() != "basic":
        return "", ""
    try:
        login, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return (login, password) if sep else ("", "")


def check_text(rules: TextRules, text: str, max_length: int | None = None) -> None:
    """Apply a broker's message rules; ``max_length`` overrides the definition's limit.

    Raises:
        MtRefused: ``invalid_message`` for an empty text, a refused character or an overlong text.
    """
    if not text:
        raise MtRefused(Failure.INVALID_MESSAGE, "the message is empty")
    if rules.allowed is not None:
        refused = next((c for c in text if rules.allowed.fullmatch(c) is None), None)
        if refused is not None:
            raise MtRefused(Failure.INVALID_MESSAGE, f"character {refused!r} is not allowed")
    limit = max_length if max_length is not None else rules.max_length
    weight = len(text) + sum(text.count(c) for c in rules.double)
    if limit is not None and weight > limit:
        raise MtRefused(Failure.INVALID_MESSAGE, f"the message weighs {weight} characters (limit {limit})")


def render_mo(definition: Definition, sms: InboundSms, url: str) -> HttpRequest:
    """The MO push of ``sms`` (``ani`` -> ``{from}``, ``dnis`` -> ``{to}``) to ``url``.

    Raises:
        UsageError: the definition has no MO push.
    """
    if definition.mo is None:
        raise UsageError(f"definition {definition.name!r} has no mo section")
    values = {"from": sms.ani, "to": sms.dnis, "text": sms.body, "message_id": sms.message_id}
    return render_push(definition.mo, url, values)


def render_dr(definition: Definition, url: str, message_id: str, state: DeliveryState, *,
              recipient: str = "", correlation: str = "") -> HttpRequest:
    """The DR push for ``message_id`` in the broker's words for ``state`` (its first vocabulary entry).

    Raises:
        UsageError: the definition has no DR push, or no word for ``state``.
    """
    if definition.dr is None:
        raise UsageError(f"definition {definition.name!r} has no dr section")
    entry = definition.dr.entry_for(state)
    if entry is None:
        raise UsageError(f"definition {definition.name!r} has no DR status for {state.value}")
    values: Mapping[str, str] = {"message_id": message_id, "recipient": recipient, "status": entry.status,
                                 "status_code": entry.code, "correlation": correlation}
    return render_push(definition.dr.push, url, values)
