"""Tests for sim.nexus.model: the provisioning door, the five services' bodies, keys, senders, inbound, replies."""

from __future__ import annotations

import base64
import json

import pytest

from sim.nexus.model import Nexus
from sim.nexus.services import Provider
from sim.nexus.wire import Request, sign
from tests.nexus.tenant import ADMIN, CCID, GMA, HEAD, call, nexus, service_path

SECTION = {"channelId": "18445551212", "channelType": "sms", "endpoint": "chat.SMS_Main", "interactionSubtype": "SMS",
           "interactionType": "Inbound", "media": "chat", "cxcOnly": "false", "provider": "Portico"}


def test_provisioning_round_trip_masks_secrets() -> None:
    """POST stores the guide's PurecloudIDP body, GET reads it back with the secret values masked."""
    model = nexus()
    body = {"url": "https://login.mypurecloud.com", "secret": {"clientId": "id", "clientSecret": "s"}, "data": {}}
    status, created = call(model, "POST", service_path("PurecloudIDP"), body)
    assert (status, created["status"]) == (200, {"code": 0, "message": "OK"})
    status, read = call(model, "GET", service_path("PurecloudIDP"))
    assert read["data"] == {"ccid": CCID, "service": "PurecloudIDP", "url": "https://login.mypurecloud.com",
                            "data": {}, "secret": {"clientId": "****", "clientSecret": "****"}}
    assert model.services.get(CCID, "PurecloudIDP").secret == {"clientId": "id", "clientSecret": "s"}


def test_replace_and_delete() -> None:
    """PUT replaces an existing service (404 when absent), DELETE removes it, POST twice is a 409."""
    model = nexus()
    sms = {"url": "N/A", "data": {"provider": "mGage"}, "secret": {}}
    assert call(model, "PUT", service_path("SMS"), sms)[0] == 404
    assert call(model, "POST", service_path("SMS"), sms)[0] == 200
    assert call(model, "POST", service_path("SMS"), sms)[0] == 409
    assert call(model, "PUT", service_path("SMS"), {**sms, "data": {"provider": "Async"}})[0] == 200
    assert model.services.provider(CCID) is Provider.ASYNC
    assert call(model, "DELETE", service_path("SMS"))[0] == 200
    assert model.services.find(CCID, "SMS") is None


@pytest.mark.parametrize(("headers", "status", "text"), [
    ({"Content-Type": "application/json", "x-ccid": CCID}, 401, "x-api-key is required"),
    ({**HEAD, "x-api-key": "nope"}, 401, "not a valid"),
    ({"Content-Type": "application/json", "x-api-key": ADMIN}, 400, "x-ccid is required"),
    ({**HEAD, "x-ccid": "other"}, 400, "does not match"),
    ({**HEAD, "Content-Type": "text/plain"}, 415, "Content-Type must be application/json"),
])
def test_door_refusals_store_nothing(headers: dict[str, str], status: int, text: str) -> None:
    """Each bad header gets the envelope error with its status, and nothing is stored."""
    model = nexus()
    got, body = call(model, "POST", service_path("SMS"), {"url": "N/A", "data": {"provider": "mGage"}, "secret": {}},
                     headers)
    assert (got, body["status"]["code"]) == (status, status)
    assert text in body["status"]["message"]
    assert model.services.find(CCID, "SMS") is None


def test_guide_mgage_body_gets_line_and_column() -> None:
    """The guide's mGageSMS body (no comma after url) is a 400 naming line 3, column 9; nothing stored."""
    raw = b'{\n        "url": "http://directtext.mgage.com"\n        "data": { },\n        "secret": {}}'
    status, body = call(nexus(), "POST", service_path("mGageSMS"), raw=raw)
    assert status == 400
    assert body["status"]["message"] == ("the body is not valid JSON: Expecting ',' delimiter at line 3, "
                                         "column 9")


@pytest.mark.parametrize(("service", "body", "fragment"), [
    ("SMS", {"url": "N/A", "data": {"provider": "Twilio"}, "secret": {}}, "body.data.provider: must be one of"),
    ("SMS", {"url": "N/A", "data": {}, "secret": {}}, "tokenProvider: Purecloud"),
    ("mGageSMS", {"url": "directtext", "data": {}, "secret": {"username": "u"}}, "body.secret.password: is required"),
    ("Async", {"data": {"channels": [{"channelId": "1", "webhook": {"url": "https://h"}}]}, "secret": {"channels": []}},
     "must give webhook.secret and api.secret"),
    ("PurecloudIDP", {"url": "https://login", "secret": {"clientId": "x"}, "data": {}}, "clientSecret: is required"),
    ("PorticoSMS", {"secret": {}, "data": {}}, "body.url: is required"),
    ("Nope", {}, "unknown service 'Nope'"),
])
def test_service_checks(service: str, body: dict[str, object], fragment: str) -> None:
    """Each service's body is checked and a problem names its field; an unknown service is a 404."""
    status, answer = call(nexus(), "POST", service_path(service), body)
    assert status == (404 if service == "Nope" else 400)
    assert fragment in answer["status"]["message"]


def test_api_keys_enable_disable_expire() -> None:
    """A provisioned key works until disabled, again when enabled, and not after it expires."""
    model = nexus()
    status, made = call(model, "POST", "/nexus/v3/provisioning/apikeys",
                        {"tenant": CCID, "name": "svc", "permissions": ["nexus:provisioning:*"]})
    assert status == 200
    key, key_id = made["data"]["key"], made["data"]["id"]
    own = {**HEAD, "x-api-key": key}
    assert call(model, "GET", f"/nexus/v3/provisioning/services/{CCID}", headers=own)[0] == 200
    assert call(model, "PUT", f"/nexus/v3/provisioning/apikeys/{key_id}", {"enabled": False})[0] == 200
    assert call(model, "GET", f"/nexus/v3/provisioning/services/{CCID}", headers=own)[0] == 401
    call(model, "PUT", f"/nexus/v3/provisioning/apikeys/{key_id}", {"enabled": True, "expires": 2000})
    assert call(model, "GET", f"/nexus/v3/provisioning/services/{CCID}", headers=own, now=1999)[0] == 200
    assert call(model, "GET", f"/nexus/v3/provisioning/services/{CCID}", headers=own, now=2000)[0] == 401
    other = {**own, "x-ccid": "another"}
    assert call(model, "GET", "/nexus/v3/provisioning/services/another", headers=other, now=1)[0] == 403
    listed = call(model, "GET", "/nexus/v3/provisioning/apikeys")[1]["data"]
    assert all(k["key"].startswith("****") for k in listed)


def test_key_permissions_decide() -> None:
    """A messaging-only key cannot provision; the permissions of a key cannot be changed."""
    model = nexus()
    _, made = call(model, "POST", "/nexus/v3/provisioning/apikeys",
                   {"tenant": "*", "name": "m", "permissions": ["nexus:messaging:*"]})
    own = {**HEAD, "x-api-key": made["data"]["key"]}
    assert call(model, "GET", f"/nexus/v3/provisioning/services/{CCID}", headers=own)[0] == 403
    status, body = call(model, "PUT", f"/nexus/v3/provisioning/apikeys/{made['data']['id']}",
                        {"permissions": ["nexus:cluster:*"]})
    assert status == 400
    assert "cannot be changed" in body["status"]["message"]


@pytest.mark.parametrize(("section", "reason"), [
    ("SMS_Main", "must start with 'chat.'"), ("chat.SMS Main", "must not hold spaces"),
    ("chat.SMS*", "letters, digits, underscores or dashes"),
])
def test_bad_section_names_refused(section: str, reason: str) -> None:
    """A sender section that does not start with chat. or holds a space is refused with the reason."""
    model = nexus()
    status, body = call(model, "PUT", f"/nexus/v3/provisioning/senders/{CCID}/{section}", SECTION)
    assert status == 400
    assert reason in body["status"]["message"]
    assert model.senders.listing() == []


def _portico_tenant() -> Nexus:
    return nexus(services={"SMS": {"url": "N/A", "secret": {}, "data": {"tokenProvider": "Purecloud"}},
                           "PurecloudIDP": {"url": "https://login.test", "secret": {"clientId": "c", "clientSecret": "s"},
                                            "data": {}},
                           "PorticoSMS": {"url": "https://api.test", "secret": {}, "data": {}}},
                 senders={"chat.SMS_Main": SECTION})


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Content-Type": "application/json", "Authorization": f"Basic {token}"}


def test_portico_mo_becomes_chat_and_reply_goes_out() -> None:
    """An MO with Basic ccid:GMA key becomes a chat on the section's endpoint; a reply is an Outbound."""
    model = _portico_tenant()
    mo = {"messageId": "m1", "sender": "+13125550100", "destination": "+18445551212", "message": "hi"}
    status, body = call(model, "POST", "/nexus/v3/sms/message", mo, _basic(CCID, GMA))
    assert status == 200
    interaction = model.interactions.get(body["data"]["interactionId"])
    assert (interaction.endpoint, interaction.kind, interaction.customer) == ("chat.SMS_Main", "chat", "+13125550100")
    message, out = model.reply(interaction.id, "hello back", 1001.0)
    assert (out.provider, out.channel_id, out.to, out.text) == (Provider.PORTICO, "18445551212", "+13125550100",
                                                                "hello back")
    model.interactions.accepted(message.id, "p-1")
    dr = {"messageId": "p-1", "status": "DELIVERED"}
    assert call(model, "POST", "/nexus/v3/sms/receipt", dr, _basic(CCID, GMA))[0] == 200
    assert message.state == "delivered"


@pytest.mark.parametrize(("auth", "wildcard"), [({"Content-Type": "application/json"}, 401),
                                               (_basic(CCID, "wrong"), 401), (_basic("other", GMA), 403)])
def test_portico_webhook_credentials_checked(auth: dict[str, str], wildcard: int) -> None:
    """Missing or wrong credentials are a 401 (403: a tenant-* key for another tenant's sender); nothing stored."""
    model = _portico_tenant()
    mo = {"messageId": "m1", "sender": "+13125550100", "destination": "+18445551212", "message": "hi"}
    gma_other = nexus(api_keys=[{"key": GMA, "tenant": CCID, "name": "g", "permissions": ["nexus:messaging:*"]}])
    for m, wanted in ((model, wildcard), (gma_other, 401)):
        status, _ = call(m, "POST", "/nexus/v3/sms/message", mo, auth)
        assert status == wanted
        assert m.interactions.listing() == []


def test_unprovisioned_channel_refused_or_parked() -> None:
    """An MO for a channel no section names is a 404 by default, and parked with unprovisioned: keep."""
    mo = {"messageId": "m1", "sender": "+13125550100", "destination": "+18005550000", "message": "hi"}
    assert call(_portico_tenant(), "POST", "/nexus/v3/sms/message", mo, _basic(CCID, GMA))[0] == 404
    keep = nexus(unprovisioned="keep")
    status, _ = call(keep, "POST", "/nexus/v3/sms/message", mo, _basic(CCID, GMA))
    assert status == 202
    assert keep.parked[0]["text"] == "hi"


def test_cxc_only_is_campaign_response() -> None:
    """With cxcOnly true the MO is a campaign response, and no agent may reply."""
    model = nexus(senders={"chat.CXC": {**SECTION, "cxcOnly": True}},
                  services={"PurecloudIDP": {"url": "https://l", "secret": {"clientId": "c", "clientSecret": "s"}},
                            "PorticoSMS": {"url": "https://a"}})
    mo = {"messageId": "m1", "sender": "+13125550100", "destination": "+18445551212", "message": "STOP"}
    _, body = call(model, "POST", "/nexus/v3/sms/message", mo, _basic(CCID, GMA))
    interaction = model.interactions.get(body["data"]["interactionId"])
    assert interaction.kind == "campaign_response"
    with pytest.raises(Exception, match="CX Contact"):
        model.reply(interaction.id, "x", 1.0)


def _async_tenant() -> Nexus:
    data = {"channels": [{"channelId": "16504661149", "webhook": {"url": "https://gw.test/hook"}},
                         {"channelId": "mail.acme.test", "webhook": {"url": "https://gw.test/hook"}}]}
    secret = {"channels": [{"channelId": c, "webhook": {"secret": "wh"}, "api": {"secret": "api"}}
                           for c in ("16504661149", "mail.acme.test")]}
    return nexus(services={"Async": {"data": data, "secret": secret}},
                 senders={"chat.Async": {**SECTION, "channelId": "16504661149", "provider": "Async",
                                         "header:custom-header-for-async-1": "12345"}})


def test_async_inbound_signature_checked() -> None:
    """A signed inbound message with x-ccid is stored; a bad or missing signature is refused, nothing stored."""
    model = _async_tenant()
    raw = json.dumps({"messages": [{"messageId": "g1", "from": "+13125550100", "text": "hi"}]}).encode()
    path = "/nexus/v3/channels/16504661149/messages"
    base = {"Content-Type": "application/json", "x-ccid": CCID}
    bad = model.handle(Request("POST", path, {**base, "X-Hub-Signature": sign("wrong", raw)}, raw), 1.0)
    none = model.handle(Request("POST", path, base, raw), 1.0)
    assert (bad.status, none.status) == (403, 401)
    assert model.interactions.listing() == []
    good = model.handle(Request("POST", path, {**base, "X-Hub-Signature": sign("api", raw)}, raw), 1.0)
    assert good.status == 200
    (interaction,) = model.interactions.listing()
    assert interaction["provider"] == "Async"
    _, out = model.reply(str(interaction["id"]), "yo", 2.0)
    assert out.headers == {"custom-header-for-async-1": "12345"}


def test_wrong_method_and_size() -> None:
    """A wrong method is a 405 with Allow; a body over max_body a 413; both in the envelope."""
    model = nexus(max_body=1024)
    status, body = call(model, "PATCH", service_path("SMS"), {})
    assert status == 405
    assert body["status"]["code"] == 405
    assert call(model, "POST", service_path("SMS"), raw=b"x" * 2000)[0] == 413


def test_async_email_domain_channel() -> None:
    """The email-domain channel of the Async service is a second channel kind: signed mail in, replies out."""
    model = _async_tenant()
    model.senders.put(CCID, "chat.Mail", {"channelId": "mail.acme.test", "channelType": "email",
                                          "endpoint": "chat.Mail", "provider": "Async"})
    raw = json.dumps({"messages": [{"from": "ann@example.com", "text": "Order?"}]}).encode()
    headers = {"Content-Type": "application/json", "x-ccid": CCID, "X-Hub-Signature": sign("api", raw)}
    assert model.handle(Request("POST", "/nexus/v3/channels/mail.acme.test/messages", headers, raw), 1.0).status == 200
    (mail,) = model.interactions.listing(section="chat.Mail")
    assert mail["customer"] == "ann@example.com"
    _, out = model.reply(str(mail["id"]), "Shipped", 2.0)
    channel = model.services.async_channel(CCID, out.channel_id)
    assert channel is not None
    assert (out.to, channel.kind.value) == ("ann@example.com", "email")


@pytest.mark.parametrize(("auth", "status"), [("none", 200), ("basic", 401)])
def test_kaleyra_push_auth_by_setting(auth: str, status: int) -> None:
    """Kaleyra's MO push needs no credentials by default; with inbound_auth basic, the mGageSMS ones."""
    model = nexus(kaleyra={"inbound_auth": auth},
                  services={"mGageSMS": {"url": "http://k.test", "secret": {"username": "u", "password": "p"}}},
                  senders={"chat.K": {**SECTION, "channelId": "1650466114", "provider": "mGage"}})
    form = b"device_address=%2B13125550100&inbound_address=1650466114&message=hi&message_id=k1&status=MO+Success"
    head = {"Content-Type": "application/x-www-form-urlencoded"}
    assert model.handle(Request("POST", "/nexus/v3/mgage/message", head, form), 1.0).status == status
    good = {**head, "Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    assert model.handle(Request("POST", "/nexus/v3/mgage/message", good, form), 1.0).status == 200
    (chat,) = model.interactions.listing()
    assert (chat["customer"], chat["provider"]) == ("+13125550100", "mGage")
