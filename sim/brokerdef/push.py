"""MO and DR pushes, both ends: writing one from values, reading values back from one."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sim.brokerdef.definition import Placement, Push
from sim.brokerdef.wire import HttpRequest, body_for, decode_fields, decode_json_object, join_url
from sim.core.errors import InputError
from sim.core.fields import check_address, check_id

__all__ = ["push_fields", "read_push", "render_push"]


def render_push(push: Push, url: str, values: Mapping[str, str]) -> HttpRequest:
    """The push request to ``url`` carrying ``values`` through the push's field templates."""
    pairs = [(wire, template.render(values)) for wire, template in push.fields]
    query, content_type, body = body_for(push.placement, pairs)
    headers = (("Content-Type", content_type),) if content_type else ()
    return HttpRequest(push.method.value, join_url(url, "", query), headers, body)


def push_fields(push: Push, query: str, content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The wire fields of a received push, decoded per its placement.

    Raises:
        InputError: the body is not valid UTF-8, form or JSON.
    """
    if push.placement is Placement.JSON and body:
        document = decode_json_object(body)
        return [(k, v if isinstance(v, str) else str(v)) for k, v in document.items()
                if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return decode_fields(query, content_type, body)


def read_push(push: Push, fields: Mapping[str, str] | Sequence[tuple[str, str]],
              required: Collection[str]) -> dict[str, str]:
    """The vocabulary values carried by the wire ``fields`` of a push.

    A field named twice on the wire (e.g. the ``message`` and ``message_orig`` of a Kaleyra MO)
    is read from its first wire name present.

    A number (``from``, ``to``, ``recipient``) or an id (``message_id``) must be what
    ``sim.core.fields`` allows, when given or required.

    Raises:
        InputError: a wire field needed for a ``required`` value is absent or empty, a field does not
            match its template, or a number or id is not one (``FieldError``).
    """
    wire = dict(reversed(list(fields.items() if isinstance(fields, Mapping) else fields)))
    values: dict[str, str] = {}
    for name, template in push.fields:
        if template.is_literal or name not in wire:
            continue
        found = template.match(wire[name])
        if found is None:
            raise InputError(f"field {name!r} must match {template.source!r} (got {wire[name][:80]!r})")
        for key, value in found.items():
            check = _CHECKS.get(key)
            if key not in values and check is not None and (value or key in required):
                check(value, name)
            values.setdefault(key, value)
    missing = [n for n in required if not values.get(n)]
    if missing:
        wanted = [w for w, t in push.fields if set(t.fields) & set(missing)]
        raise InputError(f"missing field(s) {', '.join(wanted)}")
    return values


_CHECKS = {"from": check_address, "to": check_address, "recipient": check_address, "message_id": check_id}
