"""Writing a broker's answer to an MT (fake side), per the definition's ``answer`` section."""

from __future__ import annotations

from collections.abc import Sequence

from sim.brokerdef.definition import AnswerFormat, Definition, Failure, Outcome
from sim.brokerdef.locator import build_json, build_xml
from sim.brokerdef.wire import HttpAnswer

__all__ = ["failure_answer", "render_answer", "success_answer"]


def render_answer(definition: Definition, outcome: Outcome, recipients: Sequence[str] = (),
                  message_ids: Sequence[str] = ()) -> HttpAnswer:
    """The answer carrying ``outcome`` and, per recipient, its number and message id.

    A bare answer holds one message id at most (the first); a status answer carries the description as
    plain text for people reading logs (a node reads only the status).
    """
    answer = definition.answer
    headers = (("Content-Type", answer.content_type),)
    if answer.format is AnswerFormat.STATUS:
        return HttpAnswer(outcome.status, headers, outcome.description.encode())
    if answer.format is AnswerFormat.BARE:
        assert answer.body is not None
        values = {"code": outcome.code, "description": outcome.description,
                  "message_id": message_ids[0] if message_ids else ""}
        return HttpAnswer(outcome.status, headers, answer.body.render(values).encode())
    given = {"code": [outcome.code], "description": [outcome.description],
             "recipient": list(recipients), "message_id": list(message_ids)}
    assignments = [(loc, given[name]) for name, loc in answer.fields if given[name]]
    build = build_json if answer.format is AnswerFormat.JSON else build_xml
    return HttpAnswer(outcome.status, headers, build(assignments) if assignments else b"")


def success_answer(definition: Definition, recipients: Sequence[str],
                   message_ids: Sequence[str]) -> HttpAnswer:
    """The success answer for an accepted MT."""
    return render_answer(definition, definition.answer.success, recipients, message_ids)


def failure_answer(definition: Definition, kind: Failure, description: str = "") -> HttpAnswer:
    """The answer for a refusal of ``kind`` (``description`` replaces the definition's, when given)."""
    outcome = definition.answer.failure(kind)
    if description:
        outcome = Outcome(outcome.status, outcome.code, description)
    return render_answer(definition, outcome)
