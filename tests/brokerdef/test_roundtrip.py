"""Round-trip properties: what one end of a definition writes, the other end reads back identically.

For every shipped definition and a few test-only ones covering the other placements and auth schemes:
``accept_mt(render_mt(mt))`` gives back the recipient, text and every field; ``parse_mo(render_mo(sms))``
gives back the MO; ``parse_dr(render_dr(...))`` gives back the receipt; and the fake's answers are read by
``parse_mt_answer`` as what they mean.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.brokerdef.answer import failure_answer, success_answer
from sim.brokerdef.broker import accept_mt, check_auth, render_dr, render_mo
from sim.brokerdef.cic import (
    DR_URI_OPTION,
    Accepted,
    Rejected,
    parse_dr,
    parse_mo,
    parse_mt_answer,
    render_mt,
)
from sim.brokerdef.definition import AuthScheme, Definition, Failure, Placement
from sim.brokerdef.loader import parse_definition, shipped, shipped_names
from sim.brokerdef.push import push_fields
from sim.brokerdef.wire import Account
from sim.core.types import InboundSms, MtRequest

ANSWER = {"format": "status", "success": {"status": 202}, "failures": {"unknown": {"status": 500}}}
EXTRA = [
    parse_definition({  # an XML body with attributes, repeated recipients and an API key
        "name": "test-xml",
        "mt": {"placement": "xml", "path": "/x", "recipients": "repeat",
               "auth": {"scheme": "api-key", "header": "X-Api-Key"},
               "xml_body": '<m ref="{correlation}" dr="{dr_url}"><to>+{to}</to><from>{from}</from>'
                           '<parts n="{part}" of="{parts}"/><body enc="{encoding}">{text}</body></m>'},
        "answer": {"format": "xml", "fields": {"code": "/r/@code", "message_id": "/r/id[]"},
                   "success": {"code": "0"}, "failures": {"unknown": {"code": "1"}, "auth": {"code": "2"}}},
        "mo": {"placement": "json", "fields": {"a": "{from}", "b": "{to}", "t": "{text}", "i": "{message_id}"}},
        "dr": {"method": "GET", "placement": "query", "fields": {"id": "{message_id}", "st": "s:{status}"},
               "states": [{"status": "ok", "state": "delivered"}, {"status": "ko", "state": "failed"}]},
    }),
    parse_definition({  # a GET with every field in the query and the DR URL as a parameter
        "name": "test-get",
        "mt": {"method": "GET", "placement": "query", "path": "/g", "auth": {"scheme": "params"},
               "dr_url_param": "cb",
               "params": {"u": "{account.login}", "p": "{account.password}", "id": "{account.id}",
                          "n": "{to}", "t": "{text}", "ref": "{reference}", "s": "{from}"}},
        "answer": {**ANSWER, "failures": {"auth": {"status": 401}, "unknown": {"status": 500}}},
    }),
]
DEFINITIONS = [shipped(n) for n in shipped_names()] + EXTRA

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
xml_texts = texts.filter(lambda t: _NOT_XML.search(t) is None)
words = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=20)
numbers = st.from_regex(r"\+?[1-9]\d{2,13}", fullmatch=True)
tokens = st.from_regex(r"[!-~](?:[ -~]{0,30}[!-~])?", fullmatch=True)  # what a header value can carry


def recipients_for(definition: Definition) -> st.SearchStrategy[str]:
    """Numbers the definition's fake accepts."""
    pattern = definition.mt.recipient_pattern
    return st.from_regex(pattern, fullmatch=True) if pattern is not None else numbers


@st.composite
def mt_cases(draw: st.DrawFn, definition: Definition) -> tuple[Account, MtRequest, str]:
    """An account, an MT the definition can carry, and a DR URL option (possibly empty)."""
    text_strategy = xml_texts if definition.mt.placement is Placement.XML else texts
    parts = draw(st.integers(1, 9))
    mt = MtRequest("b", draw(words), draw(text_strategy), draw(recipients_for(definition)), draw(text_strategy),
                   encoding=draw(st.sampled_from(["GSM-7", "UCS-2"])), part=draw(st.integers(1, parts)),
                   parts=parts, reference=draw(st.none() | st.integers(0, 65535)),
                   correlation=draw(text_strategy))
    in_header = definition.mt.auth.scheme in (AuthScheme.BEARER, AuthScheme.API_KEY)
    account = Account(draw(words), draw(words), draw(tokens if in_header else text_strategy.filter(bool)))
    return account, mt, draw(st.sampled_from(["", "https://cic.example:8443/dr?k=v&x=é"]))


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
@SETTINGS
@given(data=st.data())
def test_an_mt_reads_back_identically(definition: Definition, data: st.DataObject) -> None:
    """Everything render_mt puts in a request, accept_mt and check_auth read back unchanged."""
    account, mt, dr_url = data.draw(mt_cases(definition))
    request = render_mt(definition, account, mt, "https://broker.example", options={DR_URI_OPTION: dr_url})
    received = accept_mt(definition, request)
    assert ((mt.recipient,), mt.text) == (received.recipients, received.text)
    expected = {"from": mt.sender, "account.id": account.id, "account.login": account.login,
                "account.password": account.password, "reference": "" if mt.reference is None else str(mt.reference),
                "part": str(mt.part), "parts": str(mt.parts), "correlation": mt.correlation, "encoding": mt.encoding}
    placed = {f for p in definition.mt.params for f in p.template.fields}
    placed |= set(definition.mt.xml_template.fields if definition.mt.xml_template else ())
    assert {k: v for k, v in expected.items() if k in placed} == {k: v for k, v in received.values
                                                                  if k in expected}
    if definition.mt.dr_url_param or "dr_url" in placed:
        assert dr_url == received.dr_url
    decoy = Account("other", "", "")  # generated passwords are never empty, so it never matches
    assert account == check_auth(definition, request, received, [decoy, account])


@pytest.mark.parametrize("definition", [d for d in DEFINITIONS if d.mo], ids=lambda d: d.name)
@SETTINGS
@given(ani=numbers, dnis=numbers, body=texts.filter(bool), message_id=words)
def test_an_mo_reads_back_identically(definition: Definition, ani: str, dnis: str, body: str,
                                      message_id: str) -> None:
    """parse_mo reads back the InboundSms render_mo wrote."""
    assert definition.mo is not None
    sms = InboundSms(definition.name, ani, dnis, body, message_id)
    request = render_mo(definition, sms, "http://cic:8080/in?x=1")
    fields = push_fields(definition.mo, request.query, request.header("Content-Type"), request.body)
    assert sms == parse_mo(definition, [f for f in fields if f[0] != "x"])


@pytest.mark.parametrize("definition", [d for d in DEFINITIONS if d.dr], ids=lambda d: d.name)
@SETTINGS
@given(data=st.data(), message_id=words, recipient=numbers, correlation=texts)
def test_a_dr_reads_back_identically(definition: Definition, data: st.DataObject, message_id: str,
                                     recipient: str, correlation: str) -> None:
    """parse_dr reads back the message id, recipient and state of every word render_dr can write."""
    assert definition.dr is not None
    state = data.draw(st.sampled_from(sorted({e.state for e in definition.dr.states}, key=lambda s: s.value)))
    request = render_dr(definition, "http://cic/dr", message_id, state, recipient=recipient,
                        correlation=correlation)
    receipt = parse_dr(definition, push_fields(definition.dr.push, request.query,
                                               request.header("Content-Type"), request.body))
    assert (message_id, state) == (receipt.message_id, receipt.state)
    placed = {f for _, t in definition.dr.push.fields for f in t.fields}
    assert (recipient if "recipient" in placed else "") == receipt.recipient


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
@SETTINGS
@given(data=st.data())
def test_answers_read_back_as_what_they_mean(definition: Definition, data: st.DataObject) -> None:
    """The fake's success answer is accepted with its ids; each failure answer is a rejection."""
    recipients = data.draw(st.lists(recipients_for(definition), min_size=1, max_size=4))
    ids = data.draw(st.lists(words, min_size=len(recipients), max_size=len(recipients)))
    answer = success_answer(definition, recipients, ids)
    accepted = parse_mt_answer(definition, answer.status, dict(answer.headers), answer.body)
    assert isinstance(accepted, Accepted)
    wanted = {name for name, _ in definition.answer.fields}
    assert (tuple(ids) if "message_id" in wanted and definition.answer.fields else ()) == accepted.message_ids
    for kind in Failure:
        failure = failure_answer(definition, kind)
        assert isinstance(parse_mt_answer(definition, failure.status, {}, failure.body), Rejected)
