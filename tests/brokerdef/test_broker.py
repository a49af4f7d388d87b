"""Tests of sim.brokerdef.broker: how the fake side reads, authenticates and checks an MT, and pushes."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from sim.brokerdef.broker import (
    MtRefused,
    ReceivedMt,
    accept_mt,
    check_auth,
    check_text,
    render_dr,
    render_mo,
)
from sim.brokerdef.definition import Failure
from sim.brokerdef.loader import parse_definition, shipped
from sim.brokerdef.wire import Account, HttpRequest
from sim.core.errors import UsageError
from sim.core.types import DeliveryState, InboundSms

FORM = ("Content-Type", "application/x-www-form-urlencoded")
EZ = shipped("eztexting")
KALEYRA = shipped("kaleyra-directtext")
EZ_BODY = b"User=u&Pass=p&PhoneNumber=5551234567&Message=Hello+there"

XML_DEF = parse_definition({
    "name": "xml-api",
    "mt": {"placement": "xml", "path": "/xml", "recipients": "repeat",
           "auth": {"scheme": "api-key", "header": "X-Key"},
           "xml_body": "<send><from>{from}</from><list><to>{to}</to></list><text>{text}</text></send>"},
    "answer": {"format": "status", "failures": {"unknown": {"status": 500}}},
})


def refusal(definition: object, request: HttpRequest) -> tuple[Failure, str]:
    """The kind and detail of the refusal ``accept_mt`` raises."""
    with pytest.raises(MtRefused) as caught:
        accept_mt(definition, request)  # type: ignore[arg-type]
    return caught.value.kind, str(caught.value)


def test_an_eztexting_post_is_read_with_its_credentials() -> None:
    """The form fields give the recipient, the text and the credentials (masked in the raw fields)."""
    received = accept_mt(EZ, HttpRequest("POST", "/api/sending", (FORM,), EZ_BODY))
    assert ReceivedMt(("5551234567",), "Hello there", (("account.login", "u"), ("account.password", "p")),
                      "", {"User": "***", "Pass": "***", "PhoneNumber": "5551234567", "Message": "Hello there"}
                      ) == received


def test_an_eztexting_get_is_read_from_the_query() -> None:
    """EzTexting takes GET as well as POST."""
    received = accept_mt(EZ, HttpRequest("GET", "/api/sending?" + EZ_BODY.decode()))
    assert ("5551234567", "Hello there") == (received.recipients[0], received.text)


def test_kaleyra_reads_query_and_form_and_both_recipient_styles() -> None:
    """Query fields plus form fields, repeated and comma-joined recipients together (DirectTEXT clients send each form)."""
    request = HttpRequest("POST", "/a2w_preRouter/httpApiRouter?recipient=%2B1&recipient=%2B2,%2B3", (FORM,),
                          b"reply_to=123&body=hi")
    received = accept_mt(KALEYRA, request)
    assert (("+1", "+2", "+3"), "hi", "123") == (received.recipients, received.text, received.get("from"))


def test_an_xml_body_with_repeated_recipients_is_read() -> None:
    """An XML definition reads every repeated recipient element."""
    body = b"<send><from>9</from><list><to>1</to><to>2</to></list><text>a&amp;b</text></send>"
    received = accept_mt(XML_DEF, HttpRequest("POST", "/xml", (("Content-Type", "text/xml"),), body))
    assert (("1", "2"), "a&b", "9") == (received.recipients, received.text, received.get("from"))


@pytest.mark.parametrize(("request_", "expected"), [
    (HttpRequest("PUT", "/api/sending", (FORM,), EZ_BODY),
     (Failure.BAD_REQUEST, "method PUT is not accepted")),
    (HttpRequest("POST", "/api/sending", (("Content-Type", "text/plain"),), EZ_BODY),
     (Failure.BAD_REQUEST, "the content type must be application/x-www-form-urlencoded (got 'text/plain')")),
    (HttpRequest("POST", "/api/sending", (FORM,), b"User=u&Pass=p&Message=x"),
     (Failure.BAD_REQUEST, "missing parameter PhoneNumber")),
    (HttpRequest("POST", "/api/sending", (FORM,), b"Pass=p&PhoneNumber=5551234567&Message=x"),
     (Failure.AUTH, "missing parameter User")),
    (HttpRequest("POST", "/api/sending", (FORM,), b"User=u&Pass=p&PhoneNumber=555&Message=x"),
     (Failure.BAD_REQUEST, "recipient '555' must match (\\+1)?\\d{10}")),
    (HttpRequest("POST", "/api/sending", (FORM,), EZ_BODY + b"&PhoneNumber=5551234568"),
     (Failure.BAD_REQUEST, "exactly one recipient per request (got 2)")),
    (HttpRequest("POST", "/api/sending", (FORM,), b"User=u&Pass=p&PhoneNumber=5551234567&Message=%FF"),
     (Failure.BAD_REQUEST, "a field is not valid UTF-8 once decoded")),
    (HttpRequest("POST", "/api/sending", (FORM,), b"User=u&Pass=p&PhoneNumber=&Message=x"),
     (Failure.BAD_REQUEST, "a recipient is missing or empty")),
])
def test_bad_eztexting_requests_are_refused_with_a_kind(request_: HttpRequest,
                                                        expected: tuple[Failure, str]) -> None:
    """Each malformed request gets its failure kind and a detail saying what was wrong."""
    kind, detail = refusal(EZ, request_)
    assert expected[0] == kind
    assert detail.startswith(expected[1]), detail


def test_an_empty_message_is_read_as_an_empty_text() -> None:
    """An empty Message is present, so it is read; the message rules refuse it later."""
    body = b"User=u&Pass=p&PhoneNumber=5551234567&Message="
    assert "" == accept_mt(EZ, HttpRequest("POST", "/", (FORM,), body)).text


@pytest.mark.parametrize(("headers", "body", "detail"), [
    ((("Content-Type", "application/json"),), b"{}",
     "the content type must be text/xml (got 'application/json')"),
    ((("Content-Type", "text/xml"),), b"<send>", "the body is not well-formed XML"),
    ((("Content-Type", "application/xml"),), b"<other/>", "the root element must be <send> (got <other>)"),
])
def test_bad_xml_requests_are_bad_requests(headers: tuple[tuple[str, str], ...], body: bytes,
                                          detail: str) -> None:
    """An XML broker refuses other content types, broken XML and a foreign document."""
    kind, message = refusal(XML_DEF, HttpRequest("POST", "/xml", headers, body))
    assert Failure.BAD_REQUEST == kind
    assert message.startswith(detail), message


def test_bad_json_requests_are_bad_requests() -> None:
    """A JSON broker refuses a form body, invalid JSON and a JSON array."""
    definition = shipped("generic-json")
    json_type = (("Content-Type", "application/json"),)
    assert Failure.BAD_REQUEST == refusal(definition, HttpRequest("POST", "/", (FORM,), b"a=b"))[0]
    assert "the body is not valid JSON" in refusal(definition, HttpRequest("POST", "/", json_type, b"{"))[1]
    array = HttpRequest("POST", "/", json_type, b"[]")
    assert "the JSON body must be an object" == refusal(definition, array)[1]


def creds(login: str, password: str) -> ReceivedMt:
    return ReceivedMt(("1",), "t", (("account.login", login), ("account.password", password)))


ACCOUNTS = (Account("a1", "u", "p"), Account("a2", "v", "q"))


def test_parameter_credentials_pick_their_account() -> None:
    """EzTexting's User and Pass select the matching account."""
    assert ACCOUNTS[1] == check_auth(EZ, HttpRequest("POST", "/"), creds("v", "q"), ACCOUNTS)


def test_wrong_parameter_credentials_are_refused() -> None:
    """A right login with a wrong password is an auth failure."""
    with pytest.raises(MtRefused) as caught:
        check_auth(EZ, HttpRequest("POST", "/"), creds("u", "q"), ACCOUNTS)
    assert Failure.AUTH == caught.value.kind


def basic(value: str) -> HttpRequest:
    return HttpRequest("POST", "/", (("Authorization", value),))


def test_basic_credentials_pick_their_account_and_bad_headers_fail() -> None:
    """Basic auth matches login and password; a missing, foreign or undecodable header is refused."""
    good = "Basic " + base64.b64encode(b"u:p").decode()
    assert ACCOUNTS[0] == check_auth(KALEYRA, basic(good), creds("", ""), ACCOUNTS)
    for value in ("", "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
        with pytest.raises(MtRefused):
            check_auth(KALEYRA, basic(value), creds("", ""), ACCOUNTS)


def test_token_schemes_compare_the_password() -> None:
    """A bearer token or an API key is the account password."""
    assert ACCOUNTS[1] == check_auth(shipped("generic-json"), basic("Bearer q"), creds("", ""), ACCOUNTS)
    key = HttpRequest("POST", "/", (("x-key", "p"),))
    assert ACCOUNTS[0] == check_auth(XML_DEF, key, creds("", ""), ACCOUNTS)
    with pytest.raises(MtRefused):
        check_auth(XML_DEF, HttpRequest("POST", "/"), creds("", ""), ACCOUNTS)


def test_without_accounts_any_credentials_pass_but_none_do_not() -> None:
    """A fake with no accounts configured is open to any non-empty credentials."""
    assert Account("u", "u", "p") == check_auth(EZ, HttpRequest("POST", "/"), creds("u", "p"), ())
    with pytest.raises(MtRefused):
        check_auth(KALEYRA, basic(""), creds("", ""), ())


@pytest.mark.parametrize(("text", "limit", "detail"), [
    ("", None, "the message is empty"),
    ('say "hi"', None, "character '\"' is not allowed"),
    ("é", None, "character 'é' is not allowed"),
    ("a" * 161, None, "the message weighs 161 characters (limit 160)"),
    ("#" * 81, None, "the message weighs 162 characters (limit 160)"),
    ("a" * 131, 130, "the message weighs 131 characters (limit 130)"),
])
def test_eztexting_message_rules(text: str, limit: int | None, detail: str) -> None:
    """Empty texts, refused characters and overlong texts (double-weight characters) are invalid (EzTexting's rules, after the Zabbix alerter)."""
    with pytest.raises(MtRefused) as caught:
        check_text(EZ.text_rules, text, limit)
    assert (Failure.INVALID_MESSAGE, detail) == (caught.value.kind, str(caught.value))


def test_eztexting_message_rules_accept_the_limit_exactly() -> None:
    """160 plain characters, or 80 double-weight ones, are within the default limit."""
    check_text(EZ.text_rules, "a" * 160)
    check_text(EZ.text_rules, "%" * 80)


def test_mo_and_dr_pushes_are_written_exactly() -> None:
    """The fake writes Kaleyra's MO and DR form fields in the definition's order."""
    mo = render_mo(KALEYRA, InboundSms("k", "+1555", "12345", "Hi!", "MO9"), "http://cic/mo")
    assert HttpRequest("POST", "http://cic/mo", (FORM,), (
        b"device_address=%2B1555&inbound_address=12345&router=MMX&carrier=tmobile&channel=sms&message_orig=Hi%21"
        b"&message=Hi%21&message_id=MO9&message_subid=0&status=MO+Success&status_code=100&a2w_mo_ref_id=MO9"
        b"&country_code=1")) == mo
    dr = render_dr(KALEYRA, "http://cic/dr", "M1", DeliveryState.DELIVERED, recipient="+1555",
                   correlation="k1")
    assert (b"carrier=tmobile&channel=sms&client_message_id=k1&device_address=%2B1555&message_id=M1"
            b"&message_subid=0&router=MMX&smscid=0&status=Carrier+Success&status_code=200") == dr.body


def test_a_dr_state_outside_the_vocabulary_is_a_usage_error() -> None:
    """A definition that knows only Carrier Success has no failure word: asking for one is a mistake."""
    assert KALEYRA.dr is not None
    delivered_only = replace(KALEYRA, dr=replace(KALEYRA.dr, states=KALEYRA.dr.states[:1]))
    with pytest.raises(UsageError, match="has no DR status for failed"):
        render_dr(delivered_only, "http://x", "M1", DeliveryState.FAILED)


def test_a_json_push_goes_as_a_json_object() -> None:
    """generic-json pushes its MO as a JSON object with the definition's names."""
    mo = render_mo(shipped("generic-json"), InboundSms("g", "+1", "+2", "é", "m"), "http://cic/in")
    assert (("Content-Type", "application/json"),) == mo.headers
    assert '{"from": "+1", "to": "+2", "body": "é", "id": "m"}'.encode() == mo.body


@pytest.mark.parametrize(("mt", "content_type", "body", "raw"), [
    ({"placement": "json", "auth": {"scheme": "params"},
      "params": {"/auth/key": "{account.password}", "/to": "{to}", "/text": "{text}"}},
     "application/json", b'{"auth": {"key": "k-1"}, "to": "5551234567", "text": "hi k-1"}',
     {"auth": {"key": "***"}, "to": "5551234567", "text": "hi k-1"}),
    ({"placement": "xml", "auth": {"scheme": "params"},
      "xml_body": "<send><key>{account.password}</key><to>{to}</to><text>{text}</text></send>"},
     "text/xml", b"<send><key>k-1</key><to>5551234567</to><text>hi</text></send>",
     {"body": "<send><key>***</key><to>5551234567</to><text>hi</text></send>"}),
], ids=["json", "xml"])
def test_credentials_are_masked_in_the_raw_fields_of_every_placement(mt: dict, content_type: str, body: bytes,
                                                                     raw: dict) -> None:
    """A JSON member or XML element holding a credential is shown as MASK; the values still authenticate."""
    definition = parse_definition({"name": "secret-api", "mt": {"path": "/send", **mt},
                                   "answer": {"format": "status", "failures": {"unknown": {"status": 500}}}})
    received = accept_mt(definition, HttpRequest("POST", "/send", (("Content-Type", content_type),), body))
    assert (raw, "k-1") == (received.fields, received.get("account.password"))
