"""Tests of sim.brokerdef.cic: the CIC side renders MTs and reads answers, MOs and DRs exactly."""

from __future__ import annotations

import pytest

from sim.brokerdef.cic import Accepted, Rejected, parse_dr, parse_mo, parse_mt_answer, render_mt
from sim.brokerdef.loader import shipped
from sim.brokerdef.wire import Account, HttpRequest
from sim.core.errors import InputError, UsageError
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest

ACCOUNT = Account("acc1", "user", "s3cret")
MT = MtRequest("b1", "acc1", "12345", "5551234567", "Hi & bye €", part=2, parts=3, reference=7,
               correlation="c-9")
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def test_eztexting_mt_is_a_form_post_with_credentials_as_parameters() -> None:
    """EzTexting gets User, Pass, PhoneNumber, Subject, Message and Express, in that order."""
    request = render_mt(shipped("eztexting"), ACCOUNT, MT, "https://app.eztexting.com")
    assert HttpRequest("POST", "https://app.eztexting.com/api/sending", (FORM,),
                       b"User=user&Pass=s3cret&PhoneNumber=5551234567&Subject=&Message=Hi+%26+bye+%E2%82%AC"
                       b"&Express=1") == request


def test_the_outgoing_path_setting_and_the_gateway_path_are_kept() -> None:
    """The Outgoing Path replaces the definition's path and follows the gateway's own path."""
    request = render_mt(shipped("eztexting"), ACCOUNT, MT, "http://gw:8080/prefix/", "/apisendmessage.php")
    assert "http://gw:8080/prefix/apisendmessage.php" == request.url


def test_kaleyra_mt_uses_basic_auth_and_the_reporting_key() -> None:
    """DirectTEXT gets Basic credentials and reply_to, recipient, body, reporting_key1."""
    request = render_mt(shipped("kaleyra-directtext"), ACCOUNT, MT, "https://directtext.mgage.com")
    assert "https://directtext.mgage.com/a2w_preRouter/httpApiRouter" == request.url
    assert "Basic dXNlcjpzM2NyZXQ=" == request.header("authorization")
    assert b"reply_to=12345&recipient=5551234567&body=Hi+%26+bye+%E2%82%AC&reporting_key1=c-9" == request.body


def test_generic_form_sends_the_dr_url_only_when_the_option_is_set() -> None:
    """The ExternalDeliveryStatusURI option becomes the status_callback parameter."""
    definition = shipped("generic-form")
    plain = render_mt(definition, ACCOUNT, MT, "http://gw")
    with_dr = render_mt(definition, ACCOUNT, MT, "http://gw",
                        options={"ExternalDeliveryStatusURI": "https://cic.example/dr?x=1"})
    assert b"to=5551234567&from=12345&body=Hi+%26+bye+%E2%82%AC&client_ref=c-9&segment=2%2F3" == plain.body
    assert plain.body + b"&status_callback=https%3A%2F%2Fcic.example%2Fdr%3Fx%3D1" == with_dr.body


def test_generic_json_nests_fields_sends_options_and_a_bearer_token() -> None:
    """Nested paths build the JSON body; Options default from the definition; the token is the password."""
    request = render_mt(shipped("generic-json"), ACCOUNT, MT, "https://api.example",
                        options={"ExternalDeliveryStatusURI": "https://cic/dr"})
    assert (("Authorization", "Bearer s3cret"), ("Content-Type", "application/json")) == request.headers
    assert ('{"to":["5551234567"],"sender":"12345","message":{"body":"Hi & bye €","type":"TXN",'
            '"encoding":"GSM-7"},"ref":"c-9","callback_url":"https://cic/dr"}').encode() == request.body


def test_options_of_the_mt_request_win_over_the_broker_options() -> None:
    """A per-message option overrides the broker's Options, which override the definition's default."""
    mt = MtRequest("b1", "acc1", "1", "2", "t", options=(("MessageType", "OTP"),))
    request = render_mt(shipped("generic-json"), ACCOUNT, mt, "http://x", options={"MessageType": "MKT"})
    assert b'"type":"OTP"' in request.body


def test_success_answers_are_accepted_with_their_ids() -> None:
    """Each shipped success answer is read as accepted, with ids where the broker gives them."""
    kaleyra = (b'<httpApiResponse><code>100</code><description>ok</description><recipients><recipient>'
               b'<mobileNumber>1</mobileNumber><messageId>m1</messageId></recipient><recipient>'
               b'<mobileNumber>2</mobileNumber><messageId>m2</messageId></recipient></recipients></httpApiResponse>')
    answer = parse_mt_answer(shipped("kaleyra-directtext"), 200, {}, kaleyra)
    assert Accepted(("m1", "m2"), ("1", "2")) == answer
    assert Accepted() == parse_mt_answer(shipped("eztexting"), 200, {}, b"1\r\n")
    assert Accepted(("x",), ()) == parse_mt_answer(shipped("generic-json"), 202, {},
                                                   b'{"code":"ACCEPTED","data":[{"id":"x"}]}')


@pytest.mark.parametrize(("body", "expected"), [
    (b"-1", Rejected("-1", "Invalid user or password, or API not enabled")),
    (b"-2", Rejected("-2", "Credit limit reached")),
    (b"-5", Rejected("-5", "Local opt-out")),
    (b"-7", Rejected("-7", "Invalid message (length or characters)")),
    (b"-10", Rejected("-10", "Unknown error")),
    (b"-99", Rejected("-99", "the broker answered HTTP 200 with code '-99'")),
])
def test_eztexting_codes_are_rejections_with_their_meaning(body: bytes, expected: Rejected) -> None:
    """Each EzTexting failure code is read with the definition's description of it."""
    assert expected == parse_mt_answer(shipped("eztexting"), 200, {}, body)


def test_the_broker_description_wins_over_the_definition() -> None:
    """When the answer carries a description, that is the reason."""
    body = b"<httpApiResponse><code>104</code><description>Bad sender</description></httpApiResponse>"
    assert Rejected("104", "Bad sender") == parse_mt_answer(shipped("kaleyra-directtext"), 200, {}, body)


def test_the_success_code_with_an_error_status_is_a_rejection() -> None:
    """Code 100 under HTTP 500 is not a success."""
    body = b"<httpApiResponse><code>100</code></httpApiResponse>"
    assert Rejected("100", "the broker answered HTTP 500 with code '100'") == parse_mt_answer(
        shipped("kaleyra-directtext"), 500, {}, body)


@pytest.mark.parametrize(("name", "body"), [
    ("kaleyra-directtext", b"<httpApiResponse><code>100"),
    ("generic-form", b'{"status": "0"'),
    ("eztexting", b"\xff"),
])
def test_unreadable_answers_are_rejections(name: str, body: bytes) -> None:
    """Truncated XML or JSON, or a body the bare template does not match, is never a success."""
    answer = parse_mt_answer(shipped(name), 200, {}, body)
    assert isinstance(answer, Rejected)
    assert answer.reason.startswith("unreadable answer (HTTP 200)")


def test_mo_fields_become_an_inbound_sms() -> None:
    """Kaleyra's MO fields map to ani, dnis, body and message id."""
    fields = {"device_address": "+15551230000", "inbound_address": "12345", "message": "Hello",
              "message_orig": "Hello", "message_id": "MO1", "status": "MO Success"}
    sms = parse_mo(shipped("kaleyra-directtext"), fields, broker="k1", received_at=5.0)
    assert InboundSms("k1", "+15551230000", "12345", "Hello", "MO1", received_at=5.0) == sms


def test_an_mo_without_its_text_field_is_refused() -> None:
    """A missing required field is an input error (answered 400) naming the wire field."""
    with pytest.raises(InputError, match=r"missing field\(s\) ShortCode, Message"):
        parse_mo(shipped("eztexting"), {"PhoneNumber": "5551234567"})


def test_dr_fields_become_a_delivery_receipt() -> None:
    """The status and its code are mapped through the definition's vocabulary."""
    fields = [("message_id", "M1"), ("device_address", "+1555"), ("status", "Carrier Success"),
              ("status_code", "200")]
    receipt = parse_dr(shipped("kaleyra-directtext"), fields, broker="k1", at=3.0)
    expected = DeliveryReceipt("k1", "M1", DeliveryState.DELIVERED, "Carrier Success/200", "+1555", 3.0)
    assert expected == receipt


def test_a_dr_with_an_unknown_status_is_refused() -> None:
    """A status word outside the definition's vocabulary is an input error, not a guess."""
    with pytest.raises(InputError, match="unknown delivery status 'Carrier Failure' with code '500'"):
        parse_dr(shipped("kaleyra-directtext"), {"message_id": "M1", "status": "Carrier Failure",
                                                 "status_code": "500"})


def test_a_definition_without_a_dr_section_cannot_parse_drs() -> None:
    """Asking EzTexting (no DR push) to parse a DR is the caller's mistake."""
    with pytest.raises(UsageError, match="has no dr section"):
        parse_dr(shipped("eztexting"), {})
