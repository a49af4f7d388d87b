"""The CIC side of a definition, pure: render an MT, read the broker's answer, read MO and DR pushes.

A simulated CIC node calls these around its own sockets (SMS Technical Reference, "Configure Broker
Message Terminated settings" and "Configure Broker Message Originated settings"): ``render_mt`` builds the
request from the Gateway, the Outgoing Path, the account and the broker Options; ``parse_mt_answer``
decides success or failure; ``parse_mo`` and ``parse_dr`` turn pushes into core values.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.brokerdef.definition import AnswerFormat, AuthScheme, Definition, Placement
from sim.brokerdef.locator import build_json, read_json, read_xml
from sim.brokerdef.push import read_push
from sim.brokerdef.wire import JSON_TYPE, XML_TYPE, Account, HttpRequest, body_for, join_url
from sim.brokerdef.xmlbody import render_xml_body
from sim.core.errors import InputError, UsageError
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest

__all__ = [
    "DR_URI_OPTION",
    "Accepted",
    "Rejected",
    "mt_values",
    "parse_dr",
    "parse_mo",
    "parse_mt_answer",
    "render_mt",
]

# The broker option through which CIC passes the DR URL with each MT (SMS Technical Reference, "Configure
# Broker Message Terminated settings" and "Configure Broker Message Originated settings").
DR_URI_OPTION = "ExternalDeliveryStatusURI"
_HEADER_SAFE = re.compile(r"[!-~](?:[ -~]*[!-~])?")


@dataclass(frozen=True)
class Accepted:
    """The broker took the MT; ``message_ids`` (one per recipient, when it gives them) key its DRs."""

    message_ids: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """The broker refused the MT: its own code (or the HTTP status) and the reason."""

    code: str
    reason: str


def mt_values(definition: Definition, account: Account, mt: MtRequest,
              options: Mapping[str, str] | None = None) -> dict[str, str]:
    """The MT vocabulary for one request: the message, the account and the broker options."""
    merged = dict(definition.mt.options) | dict(options or {}) | dict(mt.options)
    values = {
        "to": mt.recipient, "from": mt.sender, "text": mt.text, "account.id": account.id,
        "account.login": account.login, "account.password": account.password,
        "dr_url": merged.get(DR_URI_OPTION, ""),
        "reference": "" if mt.reference is None else str(mt.reference),
        "part": str(mt.part), "parts": str(mt.parts), "correlation": mt.correlation, "encoding": mt.encoding,
    }
    values.update({f"option.{k}": merged.get(k, "") for k, _ in definition.mt.options})
    return values


def render_mt(definition: Definition, account: Account, mt: MtRequest, gateway: str,
              outgoing_path: str | None = None, *,
              options: Mapping[str, str] | None = None) -> HttpRequest:
    """The HTTP request a CIC node sends for ``mt``.

    Args:
        definition: the broker definition.
        account: the broker account chosen by the outbound route.
        mt: one message (one part) from the core.
        gateway: the Gateway setting (scheme, host and any path prefix).
        outgoing_path: the Outgoing Path setting; ``None`` uses the definition's path.
        options: the broker's Options (name to value), e.g. ``ExternalDeliveryStatusURI``.
    """
    spec = definition.mt
    values = mt_values(definition, account, mt, options)
    headers = list(_auth_headers(spec.auth.scheme, spec.auth.header, account))
    if spec.placement is Placement.XML:
        assert spec.xml_template is not None
        query, content_type, body = "", XML_TYPE, render_xml_body(spec.xml_template, values)
    elif spec.placement is Placement.JSON:
        pairs = [(p.locator, [p.template.render(values)]) for p in spec.params if p.locator]
        query, content_type, body = "", JSON_TYPE, build_json(pairs)
    else:
        flat = [(p.name, p.template.render(values)) for p in spec.params]
        query, content_type, body = body_for(spec.placement, flat)
    if spec.dr_url_param and values["dr_url"]:
        query, content_type, body = _add_dr_param(spec.placement, spec.dr_url_param, values["dr_url"],
                                                  (query, content_type, body))
    if content_type:
        headers.append(("Content-Type", content_type))
    url = join_url(gateway, outgoing_path if outgoing_path is not None else spec.path, query)
    return HttpRequest(spec.method.value, url, tuple(headers), body)


def _add_dr_param(placement: Placement, name: str, url: str,
                  parts: tuple[str, str, bytes]) -> tuple[str, str, bytes]:
    query, content_type, body = parts
    if placement is Placement.JSON:
        document = json.loads(body)
        document[name] = url
        return query, content_type, json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    extra, _, extra_body = body_for(placement, [(name, url)])
    if placement is Placement.QUERY:
        return f"{query}&{extra}", content_type, body
    return query, content_type, body + b"&" + extra_body


def _auth_headers(scheme: AuthScheme, header: str, account: Account) -> Sequence[tuple[str, str]]:
    if scheme is AuthScheme.BASIC:
        token = base64.b64encode(f"{account.login}:{account.password}".encode()).decode("ascii")
        return [("Authorization", f"Basic {token}")]
    if scheme in (AuthScheme.BEARER, AuthScheme.API_KEY):
        token = account.password
        if not _HEADER_SAFE.fullmatch(token):
            # A token travels as a header value, which cannot hold line breaks or edge spaces (RFC 9110 §5.5);
            # a password like that is a mistake in the account settings, not something to mangle.
            raise UsageError(f"account {account.id!r}: its password cannot travel as a {scheme.value} token")
        return [("Authorization", f"Bearer {token}")] if scheme is AuthScheme.BEARER else [(header, token)]
    return []


def parse_mt_answer(definition: Definition, status: int, headers: Mapping[str, str],
                    body: bytes) -> Accepted | Rejected:
    """Decide whether the broker accepted an MT, from its answer.

    Success is the success status with, where the answer carries one, the success code; anything else
    is a rejection with the broker's code and description (or the definition's description of the code).
    """
    answer = definition.answer
    fields = _answer_fields(definition, status, body)
    if fields is None:
        return Rejected(str(status), f"unreadable answer (HTTP {status}): {body[:200]!r}")
    code = _first(fields, "code") if answer.format is not AnswerFormat.STATUS else str(status)
    expected = answer.success.code if answer.format is not AnswerFormat.STATUS else str(answer.success.status)
    if status == answer.success.status and code == expected:
        return Accepted(tuple(fields.get("message_id", ())), tuple(fields.get("recipient", ())))
    described = _first(fields, "description")
    known = next((o.description for _, o in answer.failures if o.code == code and o.status == status), "")
    return Rejected(code, described or known or f"the broker answered HTTP {status} with code {code!r}")


def _first(fields: Mapping[str, Sequence[str]], name: str) -> str:
    return next(iter(fields.get(name, ())), "")


def _answer_fields(definition: Definition, status: int, body: bytes) -> dict[str, list[str]] | None:
    answer = definition.answer
    if answer.format is AnswerFormat.STATUS:
        return {}
    try:
        text = body.decode("utf-8")
        if answer.format is AnswerFormat.BARE:
            assert answer.body is not None
            found = answer.body.match(text.strip())
            return None if found is None else {k: [v] for k, v in found.items()}
        if answer.format is AnswerFormat.JSON:
            document = json.loads(text)
            return {name: read_json(document, loc) for name, loc in answer.fields}
        root = ET.fromstring(body)
        return {name: read_xml(root, loc) for name, loc in answer.fields}
    except (UnicodeDecodeError, ValueError, ET.ParseError):
        return None


def parse_mo(definition: Definition, fields: Mapping[str, str] | Sequence[tuple[str, str]],
             broker: str = "", received_at: float = 0.0) -> InboundSms:
    """The ``InboundSms`` in an MO push's fields (already decoded, e.g. with ``push_fields``).

    Raises:
        UsageError: the definition has no MO push.
        InputError: a required field (``from``, ``text``, and ``to`` when the definition places it) is
            missing, empty or malformed (answer 400).
    """
    if definition.mo is None:
        raise UsageError(f"definition {definition.name!r} has no mo section")
    placed = {name for _, template in definition.mo.fields for name in template.fields}
    values = read_push(definition.mo, fields, tuple(n for n in ("from", "to", "text") if n in placed))
    return InboundSms(broker or definition.name, values["from"], values.get("to", ""), values["text"],
                      values.get("message_id", ""), received_at=received_at)


def parse_dr(definition: Definition, fields: Mapping[str, str] | Sequence[tuple[str, str]],
             broker: str = "", at: float = 0.0) -> DeliveryReceipt:
    """The ``DeliveryReceipt`` in a DR push's fields, its status mapped through the definition.

    Raises:
        UsageError: the definition has no DR push.
        InputError: a required field is missing, or the status is not in the definition's vocabulary.
    """
    if definition.dr is None:
        raise UsageError(f"definition {definition.name!r} has no dr section")
    values = read_push(definition.dr.push, fields, ("message_id",))
    status, code = values.get("status", ""), values.get("status_code", "")
    for entry in definition.dr.states:
        if _same_word(entry.status, values, "status") and _same_word(entry.code, values, "status_code"):
            raw = "/".join(v for v in (status, code) if v)
            return DeliveryReceipt(broker or definition.name, values["message_id"], entry.state, raw,
                                   values.get("recipient", ""), at)
    raise InputError(f"unknown delivery status {status!r} with code {code!r}")


def _same_word(expected: str, values: Mapping[str, str], key: str) -> bool:
    """Whether the DR agrees with a vocabulary entry on ``key`` (a part either side leaves out matches)."""
    return not expected or key not in values or values[key] == expected
