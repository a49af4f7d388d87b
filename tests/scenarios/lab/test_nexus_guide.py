"""The curl commands of "Setting up Integration for Inbound and Outbound SMS", verbatim, with the real ``curl``.

Each command below is copied as the guide prints it (Digital Channels Private Edition Guide,
ProvisionSMS: Options 1, 2 and 3, and "Manage provision sender IDs"), ``$`` variables and all. The test
fills the variables in, as the guide tells its reader to, runs the command with ``curl`` against a running
lab, and checks what it stored. The guide's ``mGageSMS`` body lacks a comma after its ``url`` line: the lab
answers 400 naming line 3, column 9, and stores nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shlex
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scenarios.lab.assembly import Lab
from scenarios.paths import NAMED_LABS
from sim.labfile import parse_lab_config

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary (apt install curl)")

OPTION1_SMS = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/SMS \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
    "url" : "N/A",
    "data" : { "provider": "mGage" },
    "secret": {}
}'"""
# The guide's text has trailing spaces after "secret": { and after the username line, kept as \x20.
OPTION1_MGAGE = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/mGageSMS \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
        "url": "$kaleyraURL"
        "data": { },
        "secret": {         \x20
             "username": "$kaleyraUserName",\x20
             "password": "$kaleyraPassword"         } }'"""
OPTION2_ASYNC = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/Async \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
        "data": {
          "channels": [
            {
              "channelId": "$asyncPhoneNumber",
              "webhook": { "url": "$asyncWebhookURL" }
            },
            {
              "channelId": "$asyncEmailDomain",
              "webhook": { "url": "$asyncWebhookURL" }
            }
          ]
        },
        "secret": {
          "channels": [
            {
              "channelId": "$asyncPhoneNumber",
              "webhook": { "secret": "$asyncWebhookSignatureKey" },
              "api": { "secret": "$asyncAPISignatureKey" }
            },
            {
              "channelId": "$asyncEmailDomain",
              "webhook": { "secret": "$asyncWebhookSignatureKey" },
              "api": { "secret": "$asyncAPISignatureKey" }
            }
          ]
        }
      }'"""
OPTION2_SMS = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/SMS \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
    "url" : "N/A",
    "data" : { "provider": "Async" },
    "secret": {}
}'"""
OPTION3_IDP = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/PurecloudIDP \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
    "url" : "$gcLoginURL",
    "secret": {"clientId": "$clientId", "clientSecret": "$clientSecret"},
    "data" : {}
}'"""
OPTION3_SMS = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/SMS \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
    "url" : "N/A",
    "secret": {},
    "data" : {"tokenProvider": "Purecloud"}
}'"""
OPTION3_PORTICO = """curl -X POST \\
  $nexusURL/nexus/v3/provisioning/services/$ccid/PorticoSMS \\
  -H 'Content-Type: application/json' \\
  -H 'x-api-key: $apiKey' \\
  -H 'x-ccid: $ccid' \\
  -d '{
    "url" : "$gcAPIURL",
    "secret": {},
    "data": {}
}'"""
TOKEN = """curl -X POST \\
  $gcLoginURL/oauth/token \\
  -H 'Authorization: Basic YOUR_BASIC_AUTHENTICATION_SECRETS' \\
  -H 'Content-Type: application/x-www-form-urlencoded' \\
  -d 'grant_type=client_credentials'"""
LIST = """curl -X GET \\
  $gcAPIURL/api/v2/messaging/sms/provisioning/tollfreenumbers/ \\
  -H 'Authorization: Bearer $access_token'"""
AVAILABLE = """curl -X GET \\
  $gcAPIURL/api/v2/messaging/sms/provisioning/tollfreenumbers/available \\
  -H 'Authorization: Bearer $access_token'"""
ORDER = """curl -X POST \\
  $gcAPIURL/api/v2/messaging/sms/provisioning/tollfreenumbers/ \\
  -H 'Authorization: Bearer $access_token' \\
  -H 'Content-Type: application/json' \\
  -d '[
    {
        "tollfreeNumber": "$tfn",
        "comment": "Nexus Premise ACME Corp",
        "moUrl": "$nexusURL/nexus/v3/sms/message",
        "drUrl": "$nexusURL/nexus/v3/sms/receipt",
        "webhookUsername": "$ccid",
        "webhookPassword": "$GMAKey",
        "emailAddress": "sms.admin@acme.test.com"
    }
]'"""

API_KEY = "9b7682b7-cbce-422f-9bbb-ecda85e61695"  # the guide's example Messaging Cluster API Key
CCIDS = {1: "45acae06-6b7c-4f97-9c76-471cb5c21bf7", 2: "5bd0ae14-0000-4000-8000-000000000002",
         3: "6ce1bf25-0000-4000-8000-000000000003"}
LAB: dict[str, Any] = {
    "extends": "default",
    "fakes": {
        "gc": {"kind": "portico", "clients": [{"id": "4da40a9de-b113-4024-8ba9-c9dd89c91f67",
                                               "secret": "aKSXEgLO57cm6FqxD4hrjkcW-iuWiXhd0uF0WOcZUm2"}],
               "orders": {"completion_delay": 0}},
        "kal": {"kind": "kaleyra", "accounts": [{"username": "kuser", "password": "kpass"}]},
        "gw": {"kind": "asyncgw", "channels": [{"channel_id": "16504661149", "webhook_secret": "wh",
                                                "api_secret": "api"}]},
    },
    "nexus": {"api_keys": [{"key": API_KEY, "tenant": "*", "name": "Portico Cluster API Key",
                            "permissions": ["nexus:cluster:*"]}]},
}


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    async with Lab(parse_lab_config(LAB, "test", named=NAMED_LABS)) as running:
        yield running


def variables(lab: Lab, option: int) -> dict[str, str]:
    """The guide's variables, filled in for this lab."""
    gc = lab.fake_urls["gc"]
    return {"nexusURL": lab.nexus.url, "baseURL": lab.nexus.url, "ccid": CCIDS[option], "apiKey": API_KEY,
            "GMAKey": API_KEY, "kaleyraURL": lab.fake_urls["kal"], "kaleyraUserName": "kuser",
            "kaleyraPassword": "kpass", "asyncPhoneNumber": "16504661149", "asyncEmailDomain": "mail.acme.test",
            "asyncWebhookURL": lab.fake_urls["gw"], "asyncWebhookSignatureKey": "wh",
            "asyncAPISignatureKey": "api", "gcLoginURL": gc, "gcAPIURL": gc,
            "clientId": "4da40a9de-b113-4024-8ba9-c9dd89c91f67",
            "clientSecret": "aKSXEgLO57cm6FqxD4hrjkcW-iuWiXhd0uF0WOcZUm2"}


def fill(command: str, values: dict[str, str]) -> str:
    """The command with each ``$name`` replaced, longest names first (``$ccid`` is not ``$ccidX``)."""
    for name in sorted(values, key=len, reverse=True):
        command = command.replace(f"${name}", values[name])
    assert "$" not in command, command
    return command


async def curl(command: str) -> tuple[int, Any]:
    """Run a filled-in command with the real curl; its HTTP status and decoded JSON body."""
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[0] == "curl"
    process = await asyncio.create_subprocess_exec(*argv, "-s", "-w", "\n%{http_code}",
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body) if body else None


async def test_option1_kaleyra(lab: Lab) -> None:
    """Option 1: SMS is stored; the guide's mGageSMS body is a 400 with line and column, and is not stored."""
    values = variables(lab, 1)
    status, body = await curl(fill(OPTION1_SMS, values))
    assert (status, body["status"]) == (200, {"code": 0, "message": "OK"})
    status, body = await curl(fill(OPTION1_MGAGE, values))
    assert (status, body["status"]["code"]) == (400, 400)
    assert body["status"]["message"] == "the body is not valid JSON: Expecting ',' delimiter at line 3, column 9"
    services = lab.nexus.model.services
    assert services.get(CCIDS[1], "SMS").data == {"provider": "mGage"}
    assert services.find(CCIDS[1], "mGageSMS") is None


async def test_option2_custom_gateway(lab: Lab) -> None:
    """Option 2: the Async service with an SMS and an email-domain channel, then SMS with provider Async."""
    values = variables(lab, 2)
    assert (await curl(fill(OPTION2_ASYNC, values)))[0] == 200
    assert (await curl(fill(OPTION2_SMS, values)))[0] == 200
    services = lab.nexus.model.services
    sms = services.async_channel(CCIDS[2], "16504661149")
    email = services.async_channel(CCIDS[2], "mail.acme.test")
    assert sms is not None
    assert email is not None
    assert (sms.kind.value, email.kind.value, sms.webhook_url, sms.api_secret) == (
        "sms", "email", lab.fake_urls["gw"], "api")
    assert services.provider(CCIDS[2]).value == "Async"


async def test_option3_genesys_cloud_and_numbers(lab: Lab) -> None:
    """Option 3: the three services, the token, list, search and order against the fake Portico, then an MO."""
    values = variables(lab, 3)
    for command in (OPTION3_IDP, OPTION3_SMS, OPTION3_PORTICO):
        assert (await curl(fill(command, values)))[0] == 200
    client = f"{values['clientId']}:{values['clientSecret']}"
    token_command = TOKEN.replace("YOUR_BASIC_AUTHENTICATION_SECRETS", base64.b64encode(client.encode()).decode())
    status, token = await curl(fill(token_command, values))
    assert (status, token["token_type"]) == (200, "bearer")
    values["access_token"] = token["access_token"]
    status, listed = await curl(fill(LIST, values))
    assert (status, listed) == (200, {"entities": []})
    status, available = await curl(fill(AVAILABLE, values))
    assert status == 200
    values["tfn"] = available["entities"][0]
    status, order = await curl(fill(ORDER, values))
    assert (status, order["numbers"]) == (200, [values["tfn"]])
    status, listed = await curl(fill(LIST, values))
    (number,) = listed["entities"]
    assert (number["moUrl"], number["drUrl"], number["webhookUsername"]) == (
        f"{lab.nexus.url}/nexus/v3/sms/message", f"{lab.nexus.url}/nexus/v3/sms/receipt", CCIDS[3])
    assert "webhookPassword" not in number
    nexus = lab.nexus.model
    assert nexus.services.get(CCIDS[3], "SMS").data == {"tokenProvider": "Purecloud"}
    nexus.senders.put(CCIDS[3], "chat.SMS_Main_Corporate", {
        "channelId": values["tfn"], "channelType": "sms", "endpoint": "chat.Main", "interactionSubtype": "SMS",
        "interactionType": "Inbound", "media": "chat", "cxcOnly": "false"})
    mo = {"from": "+13125550100", "to": values["tfn"], "text": "hello"}
    mo_command = (f"curl -X POST {lab.fake_urls['gc']}/_smslab/mo -H 'Content-Type: application/json' "
                  f"-d '{json.dumps(mo)}'")
    assert (await curl(mo_command))[0] == 202
    for _ in range(200):
        if nexus.interactions.listing():
            break
        await asyncio.sleep(0.01)
    (chat,) = nexus.interactions.listing()
    assert (chat["ccid"], chat["endpoint"], chat["provider"]) == (CCIDS[3], "chat.Main", "Portico")
