"""Tests of fakes.portico.messages: SmsMessageRequest validation and the webhook payloads."""



from __future__ import annotations

import pytest

from fakes.portico.errors import ApiError
from fakes.portico.messages import SmsRequest, Webhook, dr_webhook, mo_webhook, parse_sms, wants_receipt
from fakes.portico.numbers import NumberRecord
from fakes.portico.settings import NumberKind, PorticoSettings, parse_settings

NOW = 1_700_000_000.0


def settings(**extra: object) -> PorticoSettings:
    return parse_settings({"clients": [{"id": "c", "secret": "s"}], **extra}, "fakes.portico")


def record(username: str = "ccid") -> NumberRecord:
    return NumberRecord("id-1", NumberKind.TOLLFREE, "18445551212", "c", 0.0, 0.0, {
        "moUrl": "https://n.test/nexus/v3/sms/message", "drUrl": "https://n.test/nexus/v3/sms/receipt",
        "webhookUsername": username, "webhookPassword": "gma-key"})


def refusal(data: object, path: str = "", **extra: object) -> tuple[str, str]:
    with pytest.raises(ApiError) as caught:
        parse_sms(data, settings(**extra), path)
    assert (400, "invalid.value") == (caught.value.status, caught.value.code)
    return caught.value.details[0].field_name, caught.value.message


def test_a_full_request_is_read() -> None:
    """Every SmsMessageRequest member is read; the sender loses its '+'."""
    assert SmsRequest("18445551212", "+447700900123", "Hello", "m-1", True, {"ticket": "42"}, "att") == \
        parse_sms({"sender": "+18445551212", "destination": "+447700900123", "message": "Hello",
                   "messageId": "m-1", "requestReceipt": True, "correlationInfo": {"ticket": "42"},
                   "carrier": "att"}, settings())


def test_each_bad_member_is_named() -> None:
    """Missing, empty, malformed or wrongly typed members each name the field, with the bulk prefix."""
    ok = {"sender": "18445551212", "destination": "+13125550100", "message": "hi"}
    assert ("body", "The message request must be a JSON object.") == refusal(["x"])
    assert ("[3]", "The message request must be a JSON object.") == refusal(7, "[3].")
    assert ("[3].sender", "[3].sender is required") == refusal({**ok, "sender": None}, "[3].")
    assert ("sender", "sender must be a number of this organization such as +18445551212 (got '844')") == \
        refusal({**ok, "sender": "844"})
    assert ("destination", "destination must be an E.164 number such as +13125551212 (got '3125550100')") == \
        refusal({**ok, "destination": "3125550100"})
    assert ("destination", "destination must be a string (got 13125550100)") == \
        refusal({**ok, "destination": 13125550100})
    assert ("message", "message is required") == refusal({**ok, "message": ""})
    assert ("message", "message is 6 characters; the limit is 5") == refusal({**ok, "message": "é" * 6},
                                                                             sms={"max_length": 5})
    assert ("requestReceipt", "requestReceipt must be true or false (got 'yes')") == \
        refusal({**ok, "requestReceipt": "yes"})
    assert ("correlationInfo", "correlationInfo must be an object of string values (got {'n': 1})") == \
        refusal({**ok, "correlationInfo": {"n": 1}})


def test_the_mo_webhook_has_the_default_schema_and_basic_auth() -> None:
    """An MO is JSON with messageId, sender (handset), destination (the number), message, timestamp."""
    hook = mo_webhook(record(), "mo-1", "+13125550100", "Salut ☺", now=NOW, settings=settings())
    assert Webhook("https://n.test/nexus/v3/sms/message",
                   {"messageId": "mo-1", "sender": "+13125550100", "destination": "+18445551212",
                    "message": "Salut ☺", "timestamp": "2023-11-14T22:13:20.000Z"},
                   '{"messageId":"mo-1","sender":"+13125550100","destination":"+18445551212",'
                   '"message":"Salut ☺","timestamp":"2023-11-14T22:13:20.000Z"}'.encode(),
                   ("ccid", "gma-key")) == hook


def test_webhook_fields_can_be_renamed_or_dropped() -> None:
    """webhooks.mo_fields renames members and drops those mapped to an empty name."""
    s = settings(webhooks={"mo_fields": {"sender": "from", "destination": "to", "timestamp": ""}})
    hook = mo_webhook(record(), "mo-1", "+13125550100", "x", now=NOW, settings=s)
    assert {"messageId": "mo-1", "from": "+13125550100", "to": "+18445551212", "message": "x"} == hook.payload


def test_the_dr_webhook_reports_the_state_and_echoes_correlation() -> None:
    """A DR names the state as configured and carries correlationInfo when the send had one."""
    sms = SmsRequest("18445551212", "+13125550100", "hi", request_receipt=True, correlation={"k": "v"})
    hook = dr_webhook(record(), "m-1", sms, "failed", now=NOW, settings=settings())
    assert (b'{"messageId":"m-1","status":"FAILED","sender":"+18445551212","destination":"+13125550100",'
            b'"timestamp":"2023-11-14T22:13:20.000Z","correlationInfo":{"k":"v"}}') == hook.body
    assert ("https://n.test/nexus/v3/sms/receipt", ("ccid", "gma-key")) == (hook.url, hook.auth)
    renamed = dr_webhook(record(""), "m-1", SmsRequest("18445551212", "+1312", "hi"), "delivered", now=NOW,
                         settings=settings(webhooks={"dr_status": {"delivered": "DELIVRD"},
                                                     "dr_fields": {"status": "state"}}))
    assert ({"messageId": "m-1", "state": "DELIVRD", "sender": "+18445551212", "destination": "+1312",
             "timestamp": "2023-11-14T22:13:20.000Z"}, None) == (renamed.payload, renamed.auth)


def test_receipts_follow_request_receipt_unless_always() -> None:
    """A DR is due for requestReceipt: true, or for every message with sms.receipts: always."""
    plain = SmsRequest("18445551212", "+13125550100", "hi")
    asked = SmsRequest("18445551212", "+13125550100", "hi", request_receipt=True)
    assert (False, True) == (wants_receipt(plain, settings()), wants_receipt(asked, settings()))
    assert wants_receipt(plain, settings(sms={"receipts": "always"}))
