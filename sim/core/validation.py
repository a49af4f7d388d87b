"""Cross-field rules of the CIC SMS configuration, each quoting where it comes from.

The per-field checks happen while reading (``sim.core.config``); these rules look across fields and
brokers. Each adds a ``Problem`` naming the field path, the value and the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sim.core.config import BrokerConfig, CicConfig, read_cic_config
from sim.core.errors import ConfigError
from sim.core.routing import formatted_number_groups
from sim.core.schema import Problems, unique

__all__ = ["check_cic_config", "load_cic_config"]


def load_cic_config(data: Mapping[str, Any], source: str = "",
                    sections: tuple[str, ...] = ()) -> CicConfig:
    """Read and check the CIC sections of a lab configuration.

    Args:
        data: the parsed YAML or JSON mapping.
        source: the file name, for error messages.
        sections: other top-level keys the caller reads itself (so they are not reported as unknown).

    Raises:
        ConfigError: with every problem found.
    """
    config, problems = read_cic_config(data, sections=sections)
    check_cic_config(config, problems)
    if problems:
        raise ConfigError(list(problems), source)
    return config


def check_cic_config(config: CicConfig, problems: Problems) -> None:
    """Apply every cross-field rule to ``config``, recording problems."""
    _default_route(config, problems)
    _purge_days(config, problems)
    _outbound_routes(config, problems)
    _accounts(config, problems)
    _shared_ports(config, problems)
    for i, broker in enumerate(config.brokers):
        _same_scheme(broker, f"brokers[{i}]", problems)
    unique(problems, [(f"brokers[{i}].name", b.name) for i, b in enumerate(config.brokers)], "brokers")


def _default_route(config: CicConfig, problems: Problems) -> None:
    # SMS Technical Reference, "Configure Inbound Routing": "If you configure one or more inbound routes, you
    # must also configure a default inbound route." ("Note: You cannot delete the default route.")
    if config.sms.inbound_routes and config.sms.default_route is None:
        problems.add("sms.default_route", None,
                     "is required once any inbound route exists, and cannot be removed")


def _purge_days(config: CicConfig, problems: Problems) -> None:
    # SMS Technical Reference, "Configure SMS Purge Data setting": "type a number greater than 1".
    if config.sms.purge_days <= 1:
        problems.add("sms.purge_days", config.sms.purge_days, "must be greater than 1")


def _outbound_routes(config: CicConfig, problems: Problems) -> None:
    for i, route in enumerate(config.sms.outbound_routes):
        path = f"sms.outbound_routes[{i}]"
        # SMS Technical Reference, "Configure Outbound Routing", note to step 6.
        if not route.classifications:
            problems.add(f"{path}.classifications", [],
                         "must list at least one phone number classification")
        groups = route.pattern.groups
        for n in formatted_number_groups(route.formatted_number):
            if n > groups:
                problems.add(f"{path}.formatted_number", route.formatted_number,
                             f"refers to ${n} but the regex has {groups} group(s)")
        broker = config.broker(route.broker)
        if broker is None:
            problems.add(f"{path}.broker", route.broker, "must name a configured broker")
        elif broker.account(route.account) is None:
            problems.add(f"{path}.account", route.account,
                         f"must name an account of broker {route.broker!r}")


def _accounts(config: CicConfig, problems: Problems) -> None:
    # SMS Technical Reference, "Configure Broker Accounts": the Account ID "must be unique among all other
    # account IDs on this broker"; a Local Address, when given, must be unique too (it pairs inbound messages
    # with an account, so the lab keeps it unique across every broker).
    addresses = []
    for i, broker in enumerate(config.brokers):
        unique(problems, [(f"brokers[{i}].accounts[{j}].id", a.id) for j, a in enumerate(broker.accounts)],
               f"the account IDs of broker {broker.name!r}")
        addresses += [(f"brokers[{i}].accounts[{j}].local_address", a.local_address)
                      for j, a in enumerate(broker.accounts)]
    unique(problems, addresses, "local addresses")


def _shared_ports(config: CicConfig, problems: Problems) -> None:
    # SMS Technical Reference, "Configure Broker Message Originated settings": brokers sharing an Incoming
    # HTTP Port must have Incoming Path and Delivery Receipt URL values unique among them. A path used by one
    # broker as its incoming path and by another as its DR URL would be just as ambiguous, so both kinds share
    # one pool.
    by_port: dict[int, list[tuple[int, BrokerConfig]]] = defaultdict(list)
    for i, broker in enumerate(config.brokers):
        if broker.mo.enabled and broker.mo.incoming_port:
            by_port[broker.mo.incoming_port].append((i, broker))
    for sharing in by_port.values():
        if len(sharing) < 2:
            continue
        seen: dict[str, tuple[int, str]] = {}
        for i, broker in sharing:
            own = {broker.mo.incoming_path: "incoming_path"}
            if broker.mo.delivery_receipt_url:
                own.setdefault(broker.mo.delivery_receipt_url, "delivery_receipt_url")
            for value, key in own.items():
                if value in seen:
                    j, other_key = seen[value]
                    problems.add(f"brokers[{i}].mo.{key}", value,
                                 f"must be unique among brokers sharing port {broker.mo.incoming_port} "
                                 f"(also brokers[{j}].mo.{other_key})")
                else:
                    seen[value] = (i, key)


def _same_scheme(broker: BrokerConfig, path: str, problems: Problems) -> None:
    # SMS Technical Reference, "Using SSL": "both MO and MT from the CIC server can use either HTTP or HTTPS,
    # but you must use the same for both." The Encryption choice sets the MO listener; the MT gateway's scheme
    # must match.
    if not (broker.mo.enabled and broker.mt.enabled):
        return
    scheme = urlsplit(broker.mt.gateway).scheme.upper()
    if scheme in ("HTTP", "HTTPS") and scheme != broker.encryption.value:
        problems.add(f"{path}.mt.gateway", broker.mt.gateway,
                     f"must use {broker.encryption.value.lower()} like the broker's encryption "
                     f"{broker.encryption.value} (MO and MT must both be HTTP or both HTTPS)")
