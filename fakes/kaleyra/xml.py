"""DirectTEXT XML: the ``<httpApiResponse>`` answer and the older XML API request.

The element order of ``<httpApiResponse>`` is not confirmed; the fake writes code, description, then
recipients, as the public clients' samples show it. The older API's request body is read into the same
parameters the HTTP API takes, so both go through one ``parse_mt``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.sax.saxutils import escape

from multidict import MultiDict

from fakes.common import WireError, WireReason

__all__ = ["parse_router_api", "render_response"]


_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def render_response(code: str, description: str, recipients: Iterable[tuple[str, str]] = ()) -> bytes:
    """An ``<httpApiResponse>`` document, UTF-8, with one ``<recipient>`` per ``(number, message_id)``.

    Written from strings with every text escaped (the same bytes ``ElementTree.tostring`` gives, at a
    tenth of its cost: this is on the MT hot path, see ``loadtests.bench_fakes``).
    """
    parts = [_DECLARATION, "<httpApiResponse><code>", escape(code), "</code><description>",
             escape(description), "</description>"]
    listed = [f"<recipient><mobileNumber>{escape(n)}</mobileNumber><messageId>{escape(m)}</messageId>"
              "</recipient>" for n, m in recipients]
    if listed:
        parts += ["<recipients>", *listed, "</recipients>"]
    parts.append("</httpApiResponse>")
    return "".join(parts).encode("utf-8")


def _text(node: ET.Element | None) -> str:
    return "" if node is None else "".join(node.itertext()).strip()


def parse_router_api(text: str) -> MultiDict[str]:
    """Read a ``<router-api>`` send request into HTTP API parameters.

    Raises:
        WireError: MALFORMED when the XML does not parse or is not a ``router-api`` send request.
    """
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise WireError("DTDs are not accepted", WireReason.MALFORMED)  # no entity expansion, ever
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise WireError(f"XML does not parse: {exc}", WireReason.MALFORMED) from exc
    send = root.find("./request/send_message")
    if root.tag != "router-api" or send is None:
        raise WireError("expected <router-api><request><send_message>", WireReason.MALFORMED)
    carrier = send.find("carrier_message")
    params: MultiDict[str] = MultiDict()
    if carrier is not None:
        params.add("body", _text(carrier.find("message_content/body")))
        params.add("reply_to", _text(carrier.find("message_content/reply_to")))
        for key in ("reporting_key1", "reporting_key2"):
            value = _text(carrier.find(f"client_data/{key}"))
            if value:
                params.add(key, value)
    for recipient in send.findall("recipient_list/recipient"):
        params.add("recipient", _text(recipient))
    for key, value in root.attrib.items():
        params.add(key, value)
    return params
