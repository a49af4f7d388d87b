"""Reading the ``answer`` section: how a broker answers an MT, for success and for each failure."""

from __future__ import annotations

from sim.brokerdef.definition import Answer, AnswerFormat, Failure, Outcome
from sim.brokerdef.load_util import template
from sim.brokerdef.locator import Locator, parse_locator
from sim.core.schema import Reader

__all__ = ["ANSWER_FIELDS", "read_answer"]

# What an answer can say: the broker's code, a description, and per recipient its number and message id
# (DirectTEXT's answer has one <recipient> with <mobileNumber> and <messageId> per number).
ANSWER_FIELDS = ("code", "description", "recipient", "message_id")
_DEFAULT_TYPES = {
    AnswerFormat.BARE: "text/plain; charset=utf-8",
    AnswerFormat.JSON: "application/json",
    AnswerFormat.XML: "text/xml; charset=utf-8",
    AnswerFormat.STATUS: "text/plain; charset=utf-8",
}


def read_answer(r: Reader) -> Answer | None:
    """Read and check the ``answer`` section; ``None`` when it is too broken to build."""
    kind = r.choice("format", AnswerFormat, AnswerFormat.STATUS)
    content_type = r.text("content_type", _DEFAULT_TYPES[kind], allow_empty=False)
    body = None
    if kind is AnswerFormat.BARE:
        body = template(r, "body", r.raw("body", "{code}"), ("code", "description", "message_id"))
        if body is not None and "code" not in body.fields:
            r.problem("body", body.source, "must contain {code}")
    elif r.has("body"):
        r.problem("body", r.raw("body"), "is only read with format bare")
    fields = _read_fields(r, kind)
    has_code = kind is AnswerFormat.BARE or any(name == "code" for name, _ in fields)
    success = _read_outcome(r.child("success"), has_code, kind)
    failures = _read_failures(r, has_code, kind, success)
    r.done()
    if kind is AnswerFormat.BARE and body is None:
        return None
    return Answer(kind, content_type, body, fields, success, failures)


def _read_fields(r: Reader, kind: AnswerFormat) -> tuple[tuple[str, Locator], ...]:
    if kind not in (AnswerFormat.JSON, AnswerFormat.XML):
        if r.has("fields"):
            r.problem("fields", r.raw("fields"), "is only read with format json or xml")
        return ()
    block = r.child("fields")
    out: list[tuple[str, Locator]] = []
    for name in map(str, block.data):
        source = block.text(name, allow_empty=False)
        if name not in ANSWER_FIELDS:
            block.problem(name, source, f"is not an answer field (known: {', '.join(ANSWER_FIELDS)})")
            continue
        try:
            locator = parse_locator(source)
        except ValueError as exc:
            block.problem(name, source, str(exc))
            continue
        if kind is AnswerFormat.XML and locator.repeat == 0:
            block.problem(name, source, "cannot repeat the root element")
        out.append((name, locator))
    roots = {loc.names[0] for _, loc in out}
    if kind is AnswerFormat.XML and len(roots) > 1:
        r.problem("fields", sorted(roots), "must share one root element")
    return tuple(out)


def _read_outcome(r: Reader, has_code: bool, kind: AnswerFormat) -> Outcome:
    status = r.integer("status", 200, minimum=100, maximum=599)
    code = r.text("code", "")
    if has_code and not code:
        r.problem("code", code, "is required when the answer carries a code")
    if not has_code and code:
        r.problem("code", code, f"cannot be given: a {kind.value} answer here carries no code field")
    description = r.text("description", "")
    r.done()
    return Outcome(status, code, description)


def _read_failures(r: Reader, has_code: bool, kind: AnswerFormat,
                   success: Outcome) -> tuple[tuple[Failure, Outcome], ...]:
    block = r.child("failures")
    out: list[tuple[Failure, Outcome]] = []
    for name in map(str, block.data):
        failure = next((f for f in Failure if f.value == name), None)
        if failure is None:
            known = ", ".join(f.value for f in Failure)
            block.problem(name, block.raw(name), f"is not a failure kind (known: {known})")
            continue
        outcome = _read_outcome(block.child(name), has_code, kind)
        if _same(outcome, success, has_code):
            block.problem(name, block.raw(name), "must differ from the success answer")
        out.append((failure, outcome))
    if "unknown" not in block.data:
        r.problem("failures.unknown", None, "is required (other failure kinds fall back to it)")
    return tuple(out)


def _same(failure: Outcome, success: Outcome, has_code: bool) -> bool:
    if has_code:
        return failure.code == success.code and failure.status == success.status
    return failure.status == success.status
