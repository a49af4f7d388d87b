"""Small readers shared by the parts of the definition loader."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sim.brokerdef.definition import Method, Placement
from sim.brokerdef.template import Template, TemplateError, parse_template
from sim.core.schema import MISSING, Reader

__all__ = ["check_body_method", "read_path", "template", "templates"]


def template(r: Reader, key: str, source: object, vocabulary: Collection[str]) -> Template | None:
    """Parse ``source`` (the value at ``key``) as a template; record a problem and return ``None`` if bad."""
    if isinstance(source, int) and not isinstance(source, bool):
        source = str(source)  # YAML reads a literal such as 1 as a number; its text is what was meant
    if not isinstance(source, str):
        r.problem(key, source, "must be a string template")
        return None
    try:
        return parse_template(source, vocabulary)
    except TemplateError as exc:
        r.problem(key, source, str(exc))
        return None


def templates(r: Reader, key: str, vocabulary: Collection[str]) -> tuple[tuple[str, Template], ...]:
    """The mapping at ``key`` of wire names to templates, in file order."""
    fields = r.child(key)
    out: list[tuple[str, Template]] = []
    for name in fields.data:
        parsed = template(fields, str(name), fields.raw(str(name)), vocabulary)
        if parsed is not None:
            out.append((str(name), parsed))
    if not fields.data and r.has(key):
        r.problem(key, fields.data, "must name at least one field")
    return tuple(out)


def read_path(r: Reader, key: str, default: Any = MISSING) -> str:
    """A URL path: it must start with ``/`` and hold no space."""
    return r.text(key, default, allow_empty=False, pattern=r"/\S*")


def check_body_method(r: Reader, method: Method, placement: Placement) -> None:
    """A GET carries no body, so its fields must travel in the query string."""
    if method is Method.GET and placement is not Placement.QUERY:
        r.problem("placement", placement.value, "must be query when method is GET (a GET has no body)")
