"""Tests for sim.core.validation and sim.core.config: every rule, each error naming path, value and reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sim.core.config import Encryption
from sim.core.errors import ConfigError
from sim.core.segmentation import ParsingMode
from sim.core.validation import load_cic_config

BASE: dict[str, Any] = {
    "sms": {
        "inbound_routes": [{"type": "ANI", "regex": "317.*", "destination": "Queue", "name": "Indy"}],
        "default_route": {"destination": "Chat"},
        "outbound_routes": [{"regex": r"(\d{10})", "formatted_number": "+1$1", "broker": "k", "account": "a",
                             "classifications": ["Local"]}],
    },
    "brokers": [
        {"name": "k", "type": "kaleyra", "accounts": [{"id": "a", "local_address": "8005550100"}],
         "mo": {"incoming_port": 8080, "incoming_path": "/k/mo", "delivery_receipt_url": "/k/dr"},
         "mt": {"gateway": "http://127.0.0.1:9001"}},
        {"name": "e", "type": "eztexting", "accounts": [{"id": "a", "local_address": "313131"}],
         "mo": {"incoming_port": 8080, "incoming_path": "/receivesms.php", "delivery_receipt_url": "/e/dr"},
         "mt": {"gateway": "http://127.0.0.1:9002"}},
    ],
}


def problems_of(data: dict[str, Any]) -> list[tuple[str, object, str]]:
    with pytest.raises(ConfigError) as info:
        load_cic_config(data, "lab.yaml")
    return [(p.path, p.value, p.reason) for p in info.value.problems]


def changed(**edits: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for path, value in edits.items():
        target = data
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        target[int(last) if last.isdigit() else last] = value
    return data


def test_base_config_is_valid() -> None:
    """The base configuration of these tests loads, with its documented defaults."""
    config = load_cic_config(BASE)
    broker = config.broker("k")
    assert broker is not None
    assert (broker.mt.timeout, broker.mt.message_parsing, broker.encryption) == (60.0, ParsingMode.SPLIT,
                                                                                 Encryption.HTTP)
    assert config.server_parameters.sms_interaction_recovery is False


def test_default_route_required_once_inbound_routes_exist() -> None:
    """Removing the default route while inbound routes exist is refused."""
    assert ("sms.default_route", None, "is required once any inbound route exists, and cannot be removed") in \
        problems_of(changed(sms__default_route=None))


def test_no_inbound_routes_needs_no_default() -> None:
    """With no inbound routes at all (email routing), no default route is needed."""
    load_cic_config(changed(sms__inbound_routes=[], sms__default_route=None))


def test_account_ids_unique_per_broker() -> None:
    """Two accounts with one ID on a broker are refused; the same ID on two brokers is fine."""
    data = changed(brokers__0__accounts=[{"id": "a"}, {"id": "a"}])
    assert ("brokers[0].accounts[1].id", "a",
            "must be unique among the account IDs of broker 'k' (also at brokers[0].accounts[0].id)") in \
        problems_of(data)


def test_local_addresses_unique() -> None:
    """A local address used by two accounts is refused."""
    data = changed(brokers__1__accounts=[{"id": "z", "local_address": "8005550100"}])
    assert [p for p in problems_of(data) if p[0] == "brokers[1].accounts[0].local_address"] == [
        ("brokers[1].accounts[0].local_address", "8005550100",
         "must be unique among local addresses (also at brokers[0].accounts[0].local_address)")]


def test_paths_unique_among_brokers_sharing_a_port() -> None:
    """An incoming path equal to another port-sharing broker's DR URL is refused."""
    data = changed(brokers__1__mo={"incoming_port": 8080, "incoming_path": "/k/dr"})
    assert ("brokers[1].mo.incoming_path", "/k/dr",
            "must be unique among brokers sharing port 8080 (also brokers[0].mo.delivery_receipt_url)") in \
        problems_of(data)


def test_same_paths_on_different_ports_are_fine() -> None:
    """Brokers on different ports may use the same paths."""
    load_cic_config(changed(brokers__1__mo={"incoming_port": 8081, "incoming_path": "/k/mo",
                                            "delivery_receipt_url": "/k/dr"}))


def test_outbound_route_needs_a_classification() -> None:
    """An outbound route with no phone-number classification is refused."""
    assert ("sms.outbound_routes[0].classifications", [],
            "must list at least one phone number classification") in \
        problems_of(changed(sms__outbound_routes__0__classifications=[]))


def test_mo_and_mt_must_share_the_scheme() -> None:
    """A broker with HTTPS encryption (MO) and an http:// gateway (MT) is refused (SMS Technical Reference, "Using SSL")."""
    data = changed(brokers__0__encryption="HTTPS")
    assert ("brokers[0].mt.gateway", "http://127.0.0.1:9001",
            "must use https like the broker's encryption HTTPS (MO and MT must both be HTTP or both HTTPS)") in \
        problems_of(data)


@pytest.mark.parametrize("days", [1, 0, -3])
def test_purge_days_greater_than_one(days: int) -> None:
    """Purge days of 1 or less are refused."""
    assert ("sms.purge_days", days, "must be greater than 1") in problems_of(changed(sms__purge_days=days))


def test_every_regex_compiles() -> None:
    """A bad regex in an inbound or outbound route is reported with the compiler's reason."""
    data = changed(sms__inbound_routes__0__regex="(317", sms__outbound_routes__0__regex="[0-")
    found = {p[0]: p for p in problems_of(data)}
    assert found["sms.inbound_routes[0].regex"][1] == "(317"
    assert found["sms.inbound_routes[0].regex"][2].startswith("is not a valid regular expression: missing )")
    assert found["sms.outbound_routes[0].regex"][2].startswith("is not a valid regular expression")


def test_formatted_number_cannot_refer_to_missing_groups() -> None:
    """$2 in a formatted number whose regex has one group is refused."""
    assert ("sms.outbound_routes[0].formatted_number", "+1$1$2", "refers to $2 but the regex has 1 group(s)") in \
        problems_of(changed(sms__outbound_routes__0__formatted_number="+1$1$2"))


def test_outbound_route_must_name_a_broker_and_its_account() -> None:
    """Unknown broker, or an account not on the named broker, are refused."""
    assert ("sms.outbound_routes[0].broker", "nope", "must name a configured broker") in \
        problems_of(changed(sms__outbound_routes__0__broker="nope"))
    assert ("sms.outbound_routes[0].account", "zz", "must name an account of broker 'k'") in \
        problems_of(changed(sms__outbound_routes__0__account="zz"))


def test_unknown_fields_and_bad_types_are_reported_together() -> None:
    """A misspelt field, a bad enum and a port out of range are all reported in one error."""
    data = changed(brokers__0__encryptoin="HTTPS", brokers__1__mo={"incoming_port": 70000},
                   sms__inbound_routes__0__destination="Desk")
    paths = [p[0] for p in problems_of(data)]
    assert {"brokers[0].encryptoin", "brokers[1].mo.incoming_port",
            "sms.inbound_routes[0].destination"} <= set(paths)


def test_error_message_names_file_path_value_and_reason() -> None:
    """The ConfigError text has one line per problem: file, path, reason and value."""
    with pytest.raises(ConfigError) as info:
        load_cic_config(changed(sms__purge_days=1), "lab.yaml")
    assert str(info.value) == "lab.yaml: sms.purge_days: must be greater than 1 (got 1)"


def test_handler_and_queue_destinations_need_a_name() -> None:
    """Handler and Queue destinations must name the handler or queue; Chat must not."""
    assert ("sms.default_route.name", "", "must name the queue when the destination is Queue") in \
        problems_of(changed(sms__default_route={"destination": "Queue"}))
    assert ("sms.default_route.name", "x", "must be empty when the destination is Chat (the field is unavailable)") \
        in problems_of(changed(sms__default_route={"destination": "Chat", "name": "x"}))


def test_idle_timeout_overrides_for_sms() -> None:
    """CUSTOM::OPTION attributes of Settings: SMS override the Web Services parameters for SMS chats."""
    data = changed(web_services={"parameters": {"EnableIdleTimeout": 0, "PartyIdleTime": 300},
                                 "settings_sms": {"CUSTOM::OPTION:EnableIdleTimeout": 1,
                                                  "CUSTOM::OPTION:PartyIdleTime": 45}})
    idle = load_cic_config(data).web_services.for_sms()
    assert (idle.enabled, idle.party_idle_time, idle.party_idle_grace_time) == (True, 45.0, 300.0)


def test_bad_sms_override_is_refused() -> None:
    """A Settings: SMS attribute that is not CUSTOM::OPTION:<name>, or not a number, is refused."""
    data = changed(web_services={"settings_sms": {"PartyIdleTime": 5, "CUSTOM::OPTION:PartyIdleTime": "soon"}})
    paths = {p[0]: p[2] for p in problems_of(data)}
    assert paths["web_services.settings_sms.PartyIdleTime"].startswith("must be a custom attribute")
    assert paths["web_services.settings_sms.CUSTOM::OPTION:PartyIdleTime"] == "must be a number"


def test_recovery_server_parameter() -> None:
    """SMS Interaction Recovery Enabled reads 0/1 and refuses anything else."""
    on = changed(server_parameters={"SMS Interaction Recovery Enabled": 1})
    assert load_cic_config(on).server_parameters.sms_interaction_recovery is True
    bad = changed(server_parameters={"SMS Interaction Recovery Enabled": "yes"})
    assert ("server_parameters.SMS Interaction Recovery Enabled", "yes", "must be 0 or 1") in problems_of(bad)


def test_mt_recipient_is_fqtn_only_when_asked() -> None:
    """MtSettings.recipient internationalises under the broker's number plan only when the MT tab asks."""
    on = load_cic_config(changed(brokers__0__mt={"gateway": "http://127.0.0.1:9001", "internationalize": True}))
    off = load_cic_config(BASE)
    assert ("+13175550123", "3175550123") == (on.brokers[0].mt.recipient("3175550123"),
                                              off.brokers[0].mt.recipient("3175550123"))
