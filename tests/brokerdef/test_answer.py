"""Tests of sim.brokerdef.answer: the fake writes each broker's success and failure answers exactly."""

from __future__ import annotations

import pytest

from sim.brokerdef.answer import failure_answer, success_answer
from sim.brokerdef.definition import Failure
from sim.brokerdef.loader import parse_definition, shipped
from sim.brokerdef.wire import HttpAnswer

TEXT = (("Content-Type", "text/plain; charset=utf-8"),)
XML = (("Content-Type", "text/xml; charset=utf-8"),)
JSON = (("Content-Type", "application/json"),)


def test_eztexting_success_is_the_bare_integer_one() -> None:
    """A sent message is answered 200 with the body '1' (EzTexting's API docs)."""
    assert HttpAnswer(200, TEXT, b"1") == success_answer(shipped("eztexting"), ["5551234567"], ["x"])


@pytest.mark.parametrize(("kind", "body"), [
    (Failure.AUTH, b"-1"), (Failure.CREDIT, b"-2"), (Failure.OPT_OUT, b"-5"),
    (Failure.INVALID_MESSAGE, b"-7"), (Failure.UNKNOWN, b"-10"),
    (Failure.BAD_REQUEST, b"-10"), (Failure.RATE_LIMITED, b"-10"),
])
def test_eztexting_failures_are_bare_negative_integers(kind: Failure, body: bytes) -> None:
    """Each failure kind has its code; kinds EzTexting has no code for fall back to -10."""
    assert HttpAnswer(200, TEXT, body) == failure_answer(shipped("eztexting"), kind)


def test_kaleyra_success_lists_one_recipient_element_per_number() -> None:
    """The XML answer has code 100 and a recipient with number and id for each number (as DirectTEXT clients read it)."""
    answer = success_answer(shipped("kaleyra-directtext"), ["+1", "+2"], ["m1", "m2"])
    assert HttpAnswer(200, XML, (
        b'<?xml version="1.0" encoding="UTF-8"?><httpApiResponse><code>100</code>'
        b"<description>Message accepted</description><recipients>"
        b"<recipient><mobileNumber>+1</mobileNumber><messageId>m1</messageId></recipient>"
        b"<recipient><mobileNumber>+2</mobileNumber><messageId>m2</messageId></recipient>"
        b"</recipients></httpApiResponse>")) == answer


def test_kaleyra_bad_credentials_are_a_401_with_the_xml_error() -> None:
    """Auth failures answer 401 (our choice) in the same XML shape, without recipients."""
    assert HttpAnswer(401, XML, (
        b'<?xml version="1.0" encoding="UTF-8"?><httpApiResponse><code>401</code>'
        b"<description>Authentication failed</description></httpApiResponse>")) == failure_answer(
        shipped("kaleyra-directtext"), Failure.AUTH)


def test_a_given_description_replaces_the_definition_one() -> None:
    """The fake can say precisely what was wrong in the description field."""
    answer = failure_answer(shipped("generic-form"), Failure.BAD_REQUEST, "missing parameter to")
    assert HttpAnswer(400, JSON, b'{"status":"2","message":"missing parameter to"}') == answer


def test_a_status_answer_carries_the_description_as_text() -> None:
    """With format status only the HTTP status matters; the body is a readable description."""
    definition = parse_definition({
        "name": "s", "mt": {"path": "/s", "params": {"to": "{to}", "t": "{text}"}},
        "answer": {"format": "status", "success": {"status": 204},
                   "failures": {"unknown": {"status": 503, "description": "Try later"}}}})
    assert HttpAnswer(204, TEXT, b"") == success_answer(definition, ["1"], ["m"])
    assert HttpAnswer(503, TEXT, b"Try later") == failure_answer(definition, Failure.CREDIT)


def test_a_bare_template_can_carry_the_message_id() -> None:
    """A bare answer such as 'ID: <id>' writes the first message id."""
    definition = parse_definition({
        "name": "b", "mt": {"path": "/s", "params": {"to": "{to}", "t": "{text}"}},
        "answer": {"format": "bare", "body": "{code}: {message_id}", "success": {"code": "ID"},
                   "failures": {"unknown": {"code": "ERR"}}}})
    assert b"ID: abc" == success_answer(definition, ["1"], ["abc"]).body
    assert b"ERR: " == failure_answer(definition, Failure.AUTH).body
