"""Tests of fakes.portico.settings: defaults, every problem reported with its path, renames."""



from __future__ import annotations

import pytest

from fakes.portico.settings import (
    ALL_PERMISSIONS,
    DEFAULT_ENUMS,
    Client,
    NumberKind,
    NumberSetting,
    RateMessage,
    Receipts,
    parse_settings,
)
from sim.core.errors import ConfigError

CLIENT = {"id": "nexus", "secret": "s3cret"}


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, "fakes.portico")
    return [str(p) for p in caught.value.problems]


def test_minimal_settings_take_the_documented_defaults() -> None:
    """Only a client given: every other field has the default the reference or the docstring names."""
    s = parse_settings({"clients": [CLIENT]}, "fakes.portico")
    assert (Client("nexus", "s3cret", ALL_PERMISSIONS, frozenset({"client_credentials"})),) == s.clients
    assert (86399, 401, 300, 60) == (s.token_lifetime, s.invalid_client_status, s.rate_requests,
                                     s.rate_window)
    assert (RateMessage.RETRY_IN, Receipts.REQUESTED, 1600, 100) == (s.rate_message, s.receipts, s.max_length,
                                                                      s.max_bulk)
    assert DEFAULT_ENUMS == dict(s.enums)
    assert {"delivered": "DELIVERED", "failed": "FAILED"}.items() <= dict(s.dr_status).items()


def test_numbers_are_read_with_their_webhooks() -> None:
    """A provisioned number keeps its kind, URLs and webhook credentials."""
    s = parse_settings({"clients": [CLIENT], "numbers": [
        {"number": "18445551212", "mo_url": "https://n.test/mo", "webhook_username": "u",
         "webhook_password": "p"},
        {"number": 13125551212, "kind": "longcode"}]}, "fakes.portico")
    assert (NumberSetting("18445551212", NumberKind.TOLLFREE, "https://n.test/mo", "", "u", "p"),
            NumberSetting("13125551212", NumberKind.LONGCODE)) == s.numbers


def test_every_problem_is_reported_with_path_value_and_reason() -> None:
    """Several mistakes in one mapping are all reported in one error."""
    found = problems({
        "clients": [{"id": "a"}, {"id": "a", "secret": "x", "permissions": ["messaging:sms:fly"]}],
        "numbers": [{"number": "12125551212"}, {"number": "1844555"}],
        "token": {"invalid_client_status": 403}, "rate_limit": {"message": "loud"},
        "sms": {"max_len": 3}, "bogus": 1})
    assert [
        "fakes.portico.clients[0].secret: is required (got None)",
        "fakes.portico.clients[1].permissions: must be one of messaging:sms:send, "
        "messagingProvisioning:phoneNumber:add, messagingProvisioning:phoneNumber:delete, "
        "messagingProvisioning:phoneNumber:edit, messagingProvisioning:phoneNumber:view "
        "(got 'messaging:sms:fly')",
        "fakes.portico.numbers[0].number: must start 1 then one of 800, 833, 844, 855, 866, 877, 888 "
        "(got '12125551212')",
        "fakes.portico.numbers[1].number: must match 1\\d{10} (got '1844555')",
        "fakes.portico.token.invalid_client_status: must be at most 401 (got 403)",
        "fakes.portico.rate_limit.message: must be one of retry_in, within (got 'loud')",
        "fakes.portico.sms.max_len: is not a known field (got 3)",
        "fakes.portico.clients[1].id: must be unique among clients (also at fakes.portico.clients[0].id) "
        "(got 'a')",
        "fakes.portico.bogus: is not a known field (got 1)",
    ] == found


def test_clients_are_required() -> None:
    """A Portico fake without an OAuth client could never be used, so it is refused."""
    assert ["fakes.portico.clients: must list at least one OAuth client (got None)"] == problems({})


def test_webhook_renames_overlay_the_defaults_and_unknown_names_are_refused() -> None:
    """Renaming one field keeps the others; an empty name drops a field; an unknown key is a problem."""
    s = parse_settings({"clients": [CLIENT], "webhooks": {
        "mo_fields": {"sender": "from", "timestamp": ""}, "dr_status": {"delivered": "DELIVRD"}}},
        "fakes.portico")
    assert {"messageId": "messageId", "sender": "from", "destination": "destination", "message": "message",
            "timestamp": ""} == dict(s.mo_fields)
    assert "DELIVRD" == s.dr_status["delivered"]
    assert ["fakes.portico.webhooks.dr_fields.state: must be one of messageId, status, sender, destination, "
            "timestamp, correlationInfo (got 'x')"] == problems(
        {"clients": [CLIENT], "webhooks": {"dr_fields": {"state": "x"}}})


def test_ignored_keys_belong_to_someone_else() -> None:
    """Keys named as ignored (the shared settings) are not reported as unknown."""
    s = parse_settings({"clients": [CLIENT], "seed": 4, "dlr": {}}, "fakes.portico", "seed", "dlr")
    assert "nexus" == s.clients[0].client_id
