"""Tests of fakes.portico.service: request/reply transcripts of the sans-IO Portico service."""



from __future__ import annotations

import base64
import json
import random
import re

import pytest

from fakes.portico.errors import ApiError
from fakes.portico.service import Portico, Reply, Request
from fakes.portico.settings import parse_settings

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
JSON = {"Content-Type": "application/json"}
SMS = "/api/v2/messaging/sms"
TFN = "/api/v2/messaging/sms/provisioning/tollfreenumbers"
GOOD = {"sender": "+18445551212", "destination": "+13125550100", "message": "Hello"}


def make(**extra: object) -> Portico:
    settings = parse_settings({
        "clients": [{"id": "nexus", "secret": "s3cret"},
                    {"id": "viewer", "secret": "v",
                     "permissions": ["messagingProvisioning:phoneNumber:view"]}],
        "numbers": [{"number": "18445551212", "mo_url": "https://n.test/mo", "dr_url": "https://n.test/dr",
                     "webhook_username": "ccid", "webhook_password": "gma-key"}], **extra}, "fakes.portico")
    return Portico(settings, random.Random(11), seed=5, body_limit=4096)


def token(p: Portico, client: str = "nexus", secret: str = "s3cret", now: float = 0.0) -> dict[str, str]:
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
    reply = p.handle(Request("POST", "/oauth/token", {"authorization": f"Basic {basic}",
                                                      "content-type": "application/x-www-form-urlencoded"},
                             body=b"grant_type=client_credentials"), now)
    return {"Authorization": "Bearer " + json.loads(reply.body)["access_token"]}


def call(p: Portico, method: str, path: str, auth: dict[str, str], body: object = None, *,
         now: float = 1.0, **query: str) -> Reply:
    raw = b"" if body is None else json.dumps(body).encode()
    return p.handle(Request(method, path, {**auth, **JSON}, query, raw), now)


def error(reply: Reply) -> tuple[int, str, str]:
    body = json.loads(reply.body)
    assert ["message", "code", "status", "messageParams", "contextId", "details", "errors"] == list(body)
    assert (body["status"], body["contextId"]) == (reply.status, reply.headers["ININ-Correlation-Id"])
    assert UUID4.fullmatch(body["contextId"])
    return reply.status, body["code"], body["message"]


def test_the_token_transcript() -> None:
    """A good grant answers 200 JSON with no-store caching; a non-form body is invalid_request."""
    p = make()
    reply = p.handle(Request("POST", "/oauth/token", {"Authorization": "Basic bmV4dXM6czNjcmV0",
                                                      "Content-Type": "application/x-www-form-urlencoded"},
                             body=b"grant_type=client_credentials"), 0.0)
    assert (200, {"Content-Type": "application/json", "Cache-Control": "no-store"}) == (reply.status,
                                                                                        reply.headers)
    assert {"token_type": "bearer", "expires_in": 86399} == {
        k: v for k, v in json.loads(reply.body).items() if k != "access_token"}
    as_json = p.handle(Request("POST", "/oauth/token", {"Authorization": "Basic bmV4dXM6czNjcmV0", **JSON},
                               body=b'{"grant_type":"client_credentials"}'), 0.0)
    assert (400, b'{"error":"invalid_request","description":"the body must be '
                 b'application/x-www-form-urlencoded","error_description":"the body must be '
                 b'application/x-www-form-urlencoded"}') == (as_json.status, as_json.body)
    stranger = p.handle(Request("POST", "/oauth/token", JSON, body=b"{}"), 0.0)
    assert (401, "invalid_client") == (stranger.status, json.loads(stranger.body)["error"])


def test_the_send_transcript() -> None:
    """A good send answers 200 {messageId}, the rate and correlation headers, and lists the message."""
    p = make()
    reply = call(p, "POST", SMS, token(p), {**GOOD, "requestReceipt": True})
    assert 200 == reply.status
    (sent,) = reply.sent
    assert {"messageId": sent.message_id} == json.loads(reply.body)
    assert UUID4.fullmatch(sent.message_id)
    assert {"Content-Type": "application/json", "inin-ratelimit-count": "1", "inin-ratelimit-allowed": "300",
            "inin-ratelimit-reset": "60"} == {k: v for k, v in reply.headers.items()
                                              if k != "ININ-Correlation-Id"}
    assert UUID4.fullmatch(reply.headers["ININ-Correlation-Id"])
    assert ("18445551212", "+13125550100", "Hello", 1.0) == (sent.sms.sender, sent.sms.destination,
                                                             sent.sms.message, sent.at)
    assert {**GOOD, "requestReceipt": True} == sent.fields


def test_a_client_message_id_is_echoed() -> None:
    """A messageId given in the request is the id of the message."""
    p = make()
    reply = call(p, "POST", SMS, token(p), {**GOOD, "messageId": "mine-1"})
    assert (b'{"messageId":"mine-1"}', "mine-1") == (reply.body, reply.sent[0].message_id)


def test_a_refused_send_lists_nothing_and_still_counts() -> None:
    """A sender that is not an active number is 400 invalid.value; nothing is sent; rate headers stay."""
    p = make()
    auth = token(p)
    reply = call(p, "POST", SMS, auth, {**GOOD, "sender": "+18005550100"})
    assert (400, "invalid.value", "sender +18005550100 is not an active number of this organization") == \
        error(reply)
    assert ((), "1") == (reply.sent, reply.headers["inin-ratelimit-count"])
    assert [{"errorCode": "invalid.value", "fieldName": "sender"}] == json.loads(reply.body)["details"]


def test_a_number_cannot_send_before_its_order_completes() -> None:
    """A number ordered a moment ago is pending and refused as a sender until the order completes."""
    p = make(orders={"completion_delay": 10})
    auth = token(p)
    assert 200 == call(p, "POST", TFN, auth, [{"tollfreeNumber": "18005550100"}], now=0.0).status
    early = call(p, "POST", SMS, auth, {**GOOD, "sender": "18005550100"}, now=9.0)
    assert (400, "invalid.value") == error(early)[:2]
    assert 200 == call(p, "POST", SMS, auth, {**GOOD, "sender": "18005550100"}, now=10.0).status


def test_bulk_answers_one_element_per_request() -> None:
    """Good elements get messageId, count 1 and OK; a bad one gets count 0 and its error text."""
    p = make()
    reply = call(p, "POST", SMS + "/bulk", token(p), [GOOD, {**GOOD, "destination": "nope"}, GOOD])
    first, third = reply.sent
    assert [{"messageId": first.message_id, "count": 1, "statusMessage": "OK"},
            {"count": 0, "statusMessage": "[1].destination must be an E.164 number such as +13125551212 "
                                          "(got 'nope')"},
            {"messageId": third.message_id, "count": 1, "statusMessage": "OK"}] == json.loads(reply.body)
    assert 200 == reply.status


def test_bulk_refuses_a_body_that_is_not_a_bounded_array() -> None:
    """An object, an empty array or too many elements are refused whole."""
    p = make(sms={"max_bulk": 2})
    auth = token(p)
    message = "The body must be an array of 1 to 2 message requests."
    for body in (GOOD, [], [GOOD, GOOD, GOOD]):
        reply = call(p, "POST", SMS + "/bulk", auth, body)
        assert ((400, "invalid.value", message), ()) == (error(reply), reply.sent)


def test_routing_errors_come_before_authentication() -> None:
    """An unknown path is 404, a wrong method 405 with Allow, both in ErrorBody form."""
    p = make()
    missing = call(p, "GET", "/api/v2/nothing", {})
    assert (404, "not.found", "No resource at /api/v2/nothing.") == error(missing)
    wrong = call(p, "GET", SMS, {})
    assert (405, "method.not.allowed", "GET is not allowed on /api/v2/messaging/sms.") == error(wrong)
    assert "POST" == wrong.headers["Allow"]
    assert "PATCH, DELETE" == call(p, "GET", TFN + "/18445551212", {}).headers["Allow"]


def test_authentication_comes_before_permissions_and_the_rate_limit() -> None:
    """No token is 401; a client without the permission is 403; the request over the limit is 429."""
    p = make(rate_limit={"requests": 2})
    assert (401, "authentication.required") == error(call(p, "POST", SMS, {}, GOOD))[:2]
    viewer = token(p, "viewer", "v")
    assert (403, "missing.permissions") == error(call(p, "POST", SMS, viewer, GOOD))[:2]
    assert 200 == call(p, "GET", TFN, viewer).status
    limited = call(p, "GET", TFN, viewer, now=30.0)
    assert (429, "too.many.requests", "Rate limit exceeded the maximum. Retry the request in [31] seconds") \
        == error(limited)
    assert ("31", "3", "2") == (limited.headers["Retry-After"], limited.headers["inin-ratelimit-count"],
                                limited.headers["inin-ratelimit-allowed"])


def test_provisioning_transcript() -> None:
    """List (with the trailing slash of Digital Channels SMS set-up's curl too), search, order, read the order, patch and delete."""
    p = make(orders={"completion_delay": 0})
    auth = token(p)
    listed = json.loads(call(p, "GET", TFN + "/", auth).body)
    assert ["18445551212"] == [e["tollfreeNumber"] for e in listed["entities"]]
    found = json.loads(call(p, "GET", TFN + "/available", auth, numberOfResults="3").body)["entities"]
    assert 3 == len(found)
    order = json.loads(call(p, "POST", TFN, auth, [{"tollfreeNumber": found[0]}]).body)
    assert (found, "Complete") == (found[:1] + found[1:], json.loads(call(
        p, "GET", f"/api/v2/messaging/sms/provisioning/orders/{order['id']}", auth).body)["orderStatus"])
    assert found[0] not in json.loads(call(p, "GET", TFN + "/available", auth, numberOfResults="3").body)[
        "entities"]
    patched = call(p, "PATCH", f"{TFN}/{found[0]}", auth, {"comment": "ACME"})
    assert (200, "ACME") == (patched.status, json.loads(patched.body)["comment"])
    deleted = call(p, "DELETE", f"{TFN}/{found[0]}", auth)
    assert (204, b"", "Content-Type" in deleted.headers) == (deleted.status, deleted.body, False)
    assert (404, "not.found") == error(call(p, "DELETE", f"{TFN}/{found[0]}", auth))[:2]


def test_long_codes_are_served_on_their_own_paths() -> None:
    """Long codes are ordered and listed under /longcodes with the longcode member."""
    p = make(orders={"completion_delay": 0})
    auth = token(p)
    base = "/api/v2/messaging/sms/provisioning/longcodes"
    found = json.loads(call(p, "GET", base + "/available", auth, areaCode="312").body)["entities"]
    assert 10 == len(found)
    assert "longcodes" in json.loads(call(p, "POST", base, auth, [{"longcode": found[0]}]).body)
    assert [found[0]] == [e["longcode"] for e in json.loads(call(p, "GET", base, auth).body)["entities"]]
    assert 200 == call(p, "POST", SMS, auth, {**GOOD, "sender": "+" + found[0]}).status


def test_a_receipt_is_built_only_when_due() -> None:
    """No receipt without requestReceipt, one with it, none once the number is deleted."""
    p = make()
    auth = token(p)
    plain = call(p, "POST", SMS, auth, GOOD).sent[0]
    asked = call(p, "POST", SMS, auth, {**GOOD, "requestReceipt": True}).sent[0]
    assert p.receipt(plain, "delivered", 2.0) is None
    hook = p.receipt(asked, "delivered", 2.0)
    assert hook is not None
    assert ("https://n.test/dr", "DELIVERED", asked.message_id) == (hook.url, hook.payload["status"],
                                                                    hook.payload["messageId"])
    call(p, "DELETE", TFN + "/18445551212", auth)
    assert p.receipt(asked, "delivered", 3.0) is None


def test_an_inbound_message_goes_to_the_numbers_mo_url() -> None:
    """An MO to an active number gives a new id and its webhook; others are refused."""
    p = make()
    message_id, hook = p.inbound("+18445551212", "+13125550100", "Hi", 5.0)
    assert UUID4.fullmatch(message_id)
    assert ("https://n.test/mo", message_id, ("ccid", "gma-key")) == (hook.url, hook.payload["messageId"],
                                                                      hook.auth)
    with pytest.raises(ApiError) as caught:
        p.inbound("+18005550100", "+13125550100", "Hi", 5.0)
    assert (404, "Number +18005550100 is not an active number of this organization.") == (
        caught.value.status, caught.value.message)
    with pytest.raises(ApiError) as caught:
        p.inbound("+18445551212", "3125550100", "Hi", 5.0)
    assert (400, "from must be an E.164 number (got '3125550100')") == (caught.value.status,
                                                                        caught.value.message)
