"""XML body templates: an MT written as literal XML with ``{field}`` placeholders (DirectTEXT's XML API).

At load the template is parsed as XML with each placeholder replaced by a marker, which proves it is
well-formed and records where every field sits (element text or attribute value, by element path). The
sending end renders the template text with the values XML-escaped; the receiving end parses the request
body as XML and reads each recorded place, so whitespace, attribute order or character references a client
chooses do not matter.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping

from sim.brokerdef.definition import XmlSlot
from sim.brokerdef.locator import xml_escape
from sim.brokerdef.template import Template, TemplateError, parse_template
from sim.core.errors import InputError

__all__ = ["XmlTemplate", "parse_xml_template", "read_xml_body", "render_xml_body"]

# Private-use code points never appear in a sensible template, and are legal XML characters.
_MARKER = re.compile("\ue000(\\d+)\ue001")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

XmlTemplate = tuple[Template, str, tuple[XmlSlot, ...]]


def parse_xml_template(source: str, vocabulary: Collection[str]) -> XmlTemplate:
    """Parse an XML body template: the text template, the root tag and the field places.

    Raises:
        TemplateError: a bad placeholder, XML that is not well-formed, or a field outside element text
            and attribute values (in a tail, comment or CDATA section it could not be read back).
    """
    whole = parse_template(source, vocabulary)
    names = whole.fields
    marked = "".join(p if i % 2 == 0 else f"\ue000{i // 2}\ue001" for i, p in enumerate(whole.pieces))
    try:
        root = ET.fromstring(marked.encode("utf-8"))
    except ET.ParseError as exc:
        raise TemplateError(f"is not well-formed XML: {exc}") from exc
    slots: list[XmlSlot] = []
    _walk(root, (), names, slots)
    placed = sum(len(s.template.fields) for s in slots)
    if placed != len(names):
        raise TemplateError("a field stands outside element text and attribute values")
    return whole, root.tag, tuple(slots)


def _walk(node: ET.Element, path: tuple[tuple[str, int], ...], names: tuple[str, ...],
          slots: list[XmlSlot]) -> None:
    if node.text and _MARKER.search(node.text):
        slots.append(XmlSlot(path, None, _slot_template(node.text, names)))
    for attribute, value in node.attrib.items():
        if _MARKER.search(value):
            slots.append(XmlSlot(path, attribute, _slot_template(value, names)))
    seen: dict[str, int] = {}
    for child in node:
        index = seen.get(child.tag, 0)
        seen[child.tag] = index + 1
        _walk(child, (*path, (child.tag, index)), names, slots)


def _slot_template(marked: str, names: tuple[str, ...]) -> Template:
    parts = _MARKER.split(marked)  # literal, index, literal, index, ..., literal
    pieces = tuple(p if i % 2 == 0 else names[int(p)] for i, p in enumerate(parts))
    source = "".join(p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                     for i, p in enumerate(pieces))
    return Template(source, pieces)


def render_xml_body(template: Template, values: Mapping[str, str]) -> bytes:
    """The template with each value XML-escaped in place.

    Raises:
        InputError: a value used by the template holds a character XML 1.0 cannot carry at all (most C0
            controls, U+FFFE, U+FFFF; XML 1.0 §2.2), so the broker could not read the message.
    """
    for name in template.fields:
        bad = _NOT_XML.search(values[name])
        if bad is not None:
            raise InputError(f"{{{name}}} holds {bad.group()!r}, which an XML body cannot carry")
    return template.render({k: xml_escape(v, quote=True) for k, v in values.items()}).encode("utf-8")


def read_xml_body(body: bytes, root_tag: str, slots: tuple[XmlSlot, ...],
                  repeat_field: str | None = None) -> dict[str, list[str]]:
    """Read every field's values from an XML request body.

    Args:
        body: the request body.
        root_tag: the root element the template has.
        slots: the field places recorded at load.
        repeat_field: a field whose element may repeat (several recipients); all siblings are read.

    Raises:
        ValueError: the body is not XML, has another root, lacks a place, or a place does not match.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"the body is not well-formed XML: {exc}") from exc
    if root.tag != root_tag:
        raise ValueError(f"the root element must be <{root_tag}> (got <{root.tag}>)")
    values: dict[str, list[str]] = {}
    for slot in slots:
        repeat = repeat_field is not None and repeat_field in slot.template.fields
        for text in _slot_texts(root, slot, repeat):
            found = slot.template.match(text)
            if found is None:
                raise ValueError(f"{_describe(slot)} must match {slot.template.source!r} (got {text!r})")
            for name, value in found.items():
                values.setdefault(name, []).append(value)
    return values


def _slot_texts(root: ET.Element, slot: XmlSlot, repeat: bool) -> list[str]:
    nodes = [root]
    for depth, (tag, index) in enumerate(slot.path, start=1):
        same = [c for c in nodes[0] if c.tag == tag]
        last = depth == len(slot.path)
        nodes = same[index:] if repeat and last else same[index:index + 1]
        if not nodes:
            raise ValueError(f"element <{'/'.join(t for t, _ in slot.path[:depth])}> is missing")
    if slot.attribute is None:
        return [n.text or "" for n in nodes]
    if any(slot.attribute not in n.attrib for n in nodes):
        raise ValueError(f"{_describe(slot)} is missing")
    return [n.attrib[slot.attribute] for n in nodes]


def _describe(slot: XmlSlot) -> str:
    where = "/".join(tag for tag, _ in slot.path) or "(root)"
    return f"<{where}> attribute {slot.attribute}" if slot.attribute else f"the text of <{where}>"
