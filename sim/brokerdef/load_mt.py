"""Reading the ``mt`` section of a broker definition."""

from __future__ import annotations

import re

from sim.brokerdef.definition import (
    Auth,
    AuthScheme,
    Method,
    MtSpec,
    Param,
    Placement,
    Recipients,
)
from sim.brokerdef.load_util import check_body_method, read_path, template
from sim.brokerdef.locator import parse_locator
from sim.brokerdef.template import MT_FIELDS, TemplateError
from sim.brokerdef.xmlbody import XmlTemplate, parse_xml_template
from sim.core.schema import Reader

__all__ = ["read_mt"]

_CREDENTIALS = {"account.login", "account.password"}


def read_mt(r: Reader) -> MtSpec | None:
    """Read and check the ``mt`` section; ``None`` when it is too broken to build."""
    method = r.choice("method", Method, Method.POST)
    placement = r.choice("placement", Placement, Placement.FORM)
    check_body_method(r, method, placement)
    accept = _read_methods(r, method)
    options = r.mapping("options", {})
    for option in options:
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", option) is None:
            r.problem(f"options.{option}", option, "must be a name of letters, digits and _")
    vocabulary = MT_FIELDS | {f"option.{o}" for o in options}
    auth = _read_auth(r.child("auth", None))
    recipients = r.choice("recipients", Recipients, Recipients.SINGLE)
    separator = r.text("separator", ",", allow_empty=recipients is not Recipients.JOIN)
    pattern = r.regex("recipient_pattern") if r.raw("recipient_pattern", None) is not None else None
    dr_param = r.text("dr_url_param", "")
    params, xml = _read_body(r, placement, vocabulary, recipients)
    fields = [f for p in params for f in p.template.fields] + list(xml[0].fields if xml else ())
    declared = r.raw("params", None)
    if xml is not None or (isinstance(declared, dict) and len(params) == len(declared)):
        _check_fields(r, fields, auth, params, recipients)  # only once every template parsed
    if xml is not None and recipients is Recipients.REPEAT:
        holder = next((slot for slot in xml[2] if "to" in slot.template.fields), None)
        if holder is not None and set(holder.template.fields) != {"to"}:
            r.problem("xml_body", holder.template.source, "the place of {to} must hold no other field")
    if dr_param and placement is Placement.XML:
        r.problem("dr_url_param", dr_param, "cannot be used with an XML body (put {dr_url} in xml_body)")
    if dr_param and dr_param in {p.name for p in params}:
        r.problem("dr_url_param", dr_param, "must differ from every parameter name")
    path = read_path(r, "path")
    r.done()
    return MtSpec(method, accept, path, placement, params, xml[0] if xml else None, xml[1] if xml else "",
                  xml[2] if xml else (), auth, recipients, separator, pattern, dr_param,
                  tuple(options.items()))


def _read_methods(r: Reader, method: Method) -> frozenset[Method]:
    """The methods the fake accepts (some brokers, DirectTEXT and EzTexting, take GET and POST alike)."""
    out = {method}
    for path, value in r.items("accept_methods", None):
        found = next((m for m in Method if isinstance(value, str) and value.upper() == m.value), None)
        if found is None:
            r.problems.add(path, value, "must be GET or POST")
        else:
            out.add(found)
    return frozenset(out)


def _read_auth(r: Reader) -> Auth:
    scheme = r.choice("scheme", AuthScheme, AuthScheme.NONE)
    header = r.text("header", "api-key", allow_empty=False, pattern=r"[A-Za-z0-9-]+")
    r.done()
    return Auth(scheme, header)


def _read_body(r: Reader, placement: Placement, vocabulary: frozenset[str],
               recipients: Recipients) -> tuple[tuple[Param, ...], XmlTemplate | None]:
    if placement is Placement.XML:
        if r.has("params"):
            r.problem("params", r.raw("params"), "must be absent with an XML body (use xml_body)")
        source = r.text("xml_body", allow_empty=False)
        try:
            return (), parse_xml_template(source, vocabulary) if source else None
        except TemplateError as exc:
            r.problem("xml_body", source, str(exc))
            return (), None
    if r.has("xml_body"):
        r.problem("xml_body", r.raw("xml_body"), "is only read with placement xml")
    return _read_params(r, placement, vocabulary, recipients), None


def _read_params(r: Reader, placement: Placement, vocabulary: frozenset[str],
                 recipients: Recipients) -> tuple[Param, ...]:
    block = r.child("params")
    out: list[Param] = []
    for name in map(str, block.data):
        spec = block.raw(name)
        sub = Reader(spec, block.at(name), r.problems) if isinstance(spec, dict) else None
        value = sub.raw("value") if sub else spec
        parsed = template(sub or block, "value" if sub else name, value, vocabulary)
        required = sub.boolean("required", bool(parsed and parsed.fields)) if sub else None
        if sub:
            sub.done()
        if parsed is None:
            continue
        locator = None
        if placement is Placement.JSON:
            try:
                locator = parse_locator(name if name.startswith("/") else "/" + name)
            except ValueError as exc:
                block.problem(name, name, str(exc))
                continue
        wants_list = "to" in parsed.fields and recipients is Recipients.REPEAT and placement is Placement.JSON
        if locator is not None and (locator.repeat is not None) != wants_list:
            block.problem(name, name, "must end with [] exactly when it holds {to} and recipients is repeat")
        out.append(Param(name, parsed, required if required is not None else bool(parsed.fields), locator))
    if not block.data:
        r.problem("params", block.data, "must name at least one parameter")
    return tuple(out)


def _check_fields(r: Reader, fields: list[str], auth: Auth, params: tuple[Param, ...],
                  recipients: Recipients) -> None:
    for needed in ("to", "text"):
        count = fields.count(needed)
        if count != 1:
            where = "params" if params else "xml_body"
            r.problem(where, sorted(set(fields)), f"must place {{{needed}}} exactly once (found {count})")
    holder = next((p for p in params if "to" in p.template.fields), None)
    if holder is not None and set(holder.template.fields) != {"to"}:
        r.problem(f"params.{holder.name}", holder.template.source, "must hold no field besides {to}")
    if auth.scheme is AuthScheme.PARAMS and not _CREDENTIALS & set(fields):
        r.problem("auth.scheme", "params", "needs {account.login} or {account.password} in a parameter")
    if recipients is Recipients.JOIN and holder is None and params == ():
        r.problem("recipients", "join", "needs the recipient in a parameter, not an XML body")
