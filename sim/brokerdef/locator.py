"""Locators: where a value sits in a JSON or XML document, for reading it and for writing it.

A locator is a JSON-pointer-like path (RFC 6901 segments, ``~0``/``~1`` escapes) that works for both
formats: ``/code`` or ``/data[]/id`` in JSON; ``/httpApiResponse/code`` or
``/httpApiResponse/recipients/recipient[]/messageId`` in XML, where the first segment is the root element
and a last segment ``@name`` is an attribute. At most one segment carries ``[]``: it marks the array (JSON)
or the repeated element (XML) that holds one item per recipient. The same locators let the CIC side read a
broker's answer and the fake side write it, so both ends agree by construction.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Locator", "build_json", "build_xml", "parse_locator", "read_json", "read_xml", "serialize", "xml_escape",
]


@dataclass(frozen=True)
class Locator:
    """A parsed path.

    Attributes:
        source: the locator as written.
        names: the segment names, unescaped, without the ``[]`` marker.
        repeat: the index of the repeated segment, or ``None``.
    """

    source: str
    names: tuple[str, ...]
    repeat: int | None

    @property
    def attribute(self) -> str | None:
        """The XML attribute name when the last segment is ``@name``."""
        last = self.names[-1]
        return last[1:] if last.startswith("@") else None


def parse_locator(source: str) -> Locator:
    """Parse ``source``.

    Raises:
        ValueError: no leading ``/``, an empty segment, or more than one ``[]``.
    """
    if not source.startswith("/") or source == "/":
        raise ValueError("must be a path such as /code or /data[]/id")
    names: list[str] = []
    repeat: int | None = None
    for i, segment in enumerate(source[1:].split("/")):
        name = segment
        if segment.endswith("[]"):
            if repeat is not None:
                raise ValueError("may mark only one segment with []")
            repeat, name = i, segment[:-2]
        if not name:
            raise ValueError(f"has an empty segment at position {i + 1}")
        names.append(name.replace("~1", "/").replace("~0", "~"))
    if any(n.startswith("@") for n in names[:-1]):
        raise ValueError("may name an attribute (@name) only in its last segment")
    return Locator(source, tuple(names), repeat)


# -- JSON ----------------------------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def read_json(document: Any, locator: Locator) -> list[str]:
    """Every scalar value at ``locator``: at most one unless the path repeats; absent paths give ``[]``."""
    nodes = [document]
    for i, name in enumerate(locator.names):
        step = [n[name] for n in nodes if isinstance(n, dict) and name in n]
        if i == locator.repeat:
            step = [item for n in step if isinstance(n, list) for item in n]
        nodes = step
    return [s for s in map(_scalar, nodes) if s is not None]


def build_json(assignments: Sequence[tuple[Locator, Sequence[str]]]) -> bytes:
    """A JSON object holding each value at its locator, keys in assignment order.

    For a repeated locator, ``values[i]`` goes to item ``i``; otherwise the first value is used.
    """
    document: dict[str, Any] = {}
    for locator, values in assignments:
        for index, value in enumerate(values if locator.repeat is not None else values[:1]):
            _put_json(document, locator, index, value)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _put_json(node: dict[str, Any], locator: Locator, index: int, value: str) -> None:
    last = len(locator.names) - 1
    for i, name in enumerate(locator.names):
        if i == locator.repeat:
            items = node.setdefault(name, [])
            while len(items) <= index:
                items.append({} if i < last else "")
            if i == last:
                items[index] = value
                return
            node = items[index]
        elif i == last:
            node[name] = value
        else:
            node = node.setdefault(name, {})


# -- XML -----------------------------------------------------------------------------------------------


def read_xml(root: ET.Element, locator: Locator) -> list[str]:
    """Every text (or attribute) at ``locator`` under ``root``; ``[]`` when the path is absent."""
    if root.tag != locator.names[0]:
        return []
    attribute = locator.attribute
    names = locator.names[1:-1] if attribute else locator.names[1:]
    nodes = [root]
    for i, name in enumerate(names, start=1):
        step: list[ET.Element] = []
        for node in nodes:
            same = [c for c in node if c.tag == name]
            step += same if i == locator.repeat else same[:1]
        nodes = step
    if attribute is not None:
        return [n.attrib[attribute] for n in nodes if attribute in n.attrib]
    return [n.text or "" for n in nodes]


def build_xml(assignments: Sequence[tuple[Locator, Sequence[str]]]) -> bytes:
    """An XML document holding each value at its locator, elements created in assignment order.

    Raises:
        ValueError: when the locators do not share one root element.
    """
    roots = {loc.names[0] for loc, _ in assignments}
    if len(roots) != 1:
        raise ValueError(f"locators must share one root element (got {sorted(roots)})")
    root = ET.Element(roots.pop())
    for locator, values in assignments:
        for index, value in enumerate(values if locator.repeat is not None else values[:1]):
            _put_xml(root, locator, index, value)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + serialize(root)).encode()


def xml_escape(text: str, quote: bool = False) -> str:
    """``text`` escaped for XML content (or an attribute value with ``quote``).

    CR is written as a character reference because an XML parser turns a literal CR (or CR LF) into LF
    (XML 1.0 §2.11), which would change an SMS text on its way through.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if quote:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


def serialize(element: ET.Element) -> str:
    """``element`` as XML text, with the escaping of :func:`xml_escape`."""
    attrs = "".join(f' {k}="{xml_escape(v, quote=True)}"' for k, v in element.attrib.items())
    inner = xml_escape(element.text or "") + "".join(serialize(c) for c in element)
    return f"<{element.tag}{attrs}>{inner}</{element.tag}>"


def _put_xml(root: ET.Element, locator: Locator, index: int, value: str) -> None:
    attribute = locator.attribute
    names = locator.names[1:-1] if attribute else locator.names[1:]
    node = root
    for i, name in enumerate(names, start=1):
        same = [c for c in node if c.tag == name]
        wanted = index if i == locator.repeat else 0
        while len(same) <= wanted:
            same.append(ET.SubElement(node, name))
        node = same[wanted]
    if attribute is not None:
        node.set(attribute, value)
    else:
        node.text = value
