"""The CIC SMS configuration as frozen, typed objects: what Interaction Administrator's SMS and Broker
dialogs, the server parameters and the Web Services parameters hold.

The YAML shape mirrors the dialogs (SMS Technical Reference, "Configure SMS" and "Configure SMS Brokers")::

    sms:
      inbound_routes:            # priority order (Move Up / Move Down)
        - {type: ANI, regex: "317.*", destination: Queue, name: Indianapolis}
      default_route: {destination: Chat}
      outbound_routes:           # highest rank first
        - {regex: "1?(\\d{10})", formatted_number: "+1$1", broker: kaleyra, account: main,
           classifications: [Local, National]}
      consolidate_messages: false
      consolidation: {separator: " ", window: 2.0, max_length: 160}
      purge_days: 30
    brokers:
      - name: kaleyra
        type: kaleyra            # the broker definition (shipped name or definition file)
        encryption: HTTP         # HTTP | HTTPS, for MO and MT alike ("Using SSL")
        accounts: [{id: main, local_address: "3175550100", login: u, password: p}]
        mo: {incoming_port: 8080, incoming_path: /kaleyra/mo, delivery_receipt_url: /kaleyra/dr}
        mt: {gateway: "http://127.0.0.1:9001", message_parsing: split}
    server_parameters: {"SMS Interaction Recovery Enabled": 1}
    web_services:
      parameters: {EnableIdleTimeout: 1, PartyIdleTime: 300, PartyIdleGraceTime: 300}
      settings_sms: {"CUSTOM::OPTION:PartyIdleTime": 120}

``parse_cic_config`` reads it with a ``Reader`` and ``sim.core.validation`` applies the cross-field rules;
every problem names its field path, the value and the reason.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from sim.core.consolidation import ConsolidationSettings
from sim.core.numbers import NumberPlan, internationalize
from sim.core.routing import Destination, DestinationKind, FieldType, InboundRoute, OutboundRoute
from sim.core.schema import Problems, Reader
from sim.core.segmentation import ParsingMode, ReferenceSize

__all__ = [
    "Account",
    "BrokerConfig",
    "CicConfig",
    "Encryption",
    "IdleTimeout",
    "MoSettings",
    "MtSettings",
    "ProxySettings",
    "RemoteCoreSettings",
    "ServerParameters",
    "SmsConfig",
    "WebServices",
    "read_cic_config",
]

T = TypeVar("T")

SMS_RECOVERY = "SMS Interaction Recovery Enabled"
CHAT_RECOVERY = "Chat Interaction Recovery Enabled"
# SMS Technical Reference, "Configure Broker Message Terminated settings": the default gateway.
DEFAULT_GATEWAY = "http://www.24x.com"
DEFAULT_TIMEOUT = 60.0  # seconds, same section: "The default is 60 seconds."


class Encryption(Enum):
    """The broker's Encryption choice on the Configuration tab."""

    HTTP = "HTTP"
    HTTPS = "HTTPS"


@dataclass(frozen=True)
class Account:
    """One row of the broker's Accounts tab, with its workgroup and user associations."""

    id: str
    local_address: str = ""
    login: str = ""
    password: str = field(default="", repr=False)
    workgroups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class MoSettings:
    """The Message Originated tab: where the node listens for the broker's pushes."""

    enabled: bool = True
    incoming_port: int = 8080
    incoming_path: str = "/"
    delivery_receipt_url: str = ""


@dataclass(frozen=True)
class MtSettings:
    """The Message Terminated tab: how the node sends to the broker."""

    enabled: bool = True
    gateway: str = DEFAULT_GATEWAY
    outgoing_path: str = ""
    timeout: float = DEFAULT_TIMEOUT
    internationalize: bool = False
    message_parsing: ParsingMode = ParsingMode.SPLIT
    reference_size: ReferenceSize = ReferenceSize.EIGHT_BIT
    number_plan: NumberPlan = field(default_factory=NumberPlan)
    options: Mapping[str, str] = field(default_factory=dict)

    def recipient(self, number: str) -> str:
        """The number handed to the broker: FQTN when Internationalize Telephone Numbers is set.

        Raises:
            NumberError: internationalisation is on and the number plan cannot explain ``number``.
        """
        return internationalize(number, self.number_plan) if self.internationalize else number


@dataclass(frozen=True)
class ProxySettings:
    """The Proxy tab: a corporate HTTP proxy between the node and the broker (Proxy-Authorization: Basic)."""

    address: str = ""
    login: str = ""
    password: str = field(default="", repr=False)
    ssl: bool = False


@dataclass(frozen=True)
class BrokerConfig:
    """One broker configuration (an entry of System Configuration > SMS > Brokers)."""

    name: str
    type: str
    enabled: bool = True
    profile: str = "default"
    encryption: Encryption = Encryption.HTTP
    accounts: tuple[Account, ...] = ()
    mo: MoSettings = field(default_factory=MoSettings)
    mt: MtSettings = field(default_factory=MtSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    custom_attributes: Mapping[str, str] = field(default_factory=dict)

    def account(self, account_id: str) -> Account | None:
        """The account with that ID, if any."""
        return self._accounts.get(account_id)

    @functools.cached_property
    def _accounts(self) -> dict[str, Account]:
        """The accounts by ID, built once."""
        return _first_by(self.accounts, lambda a: a.id)


@dataclass(frozen=True)
class SmsConfig:
    """The SMS Configuration dialog: inbound and outbound routing, consolidation, purge."""

    inbound_routes: tuple[InboundRoute, ...] = ()
    default_route: Destination | None = None
    outbound_routes: tuple[OutboundRoute, ...] = ()
    consolidation: ConsolidationSettings = field(default_factory=ConsolidationSettings)
    purge_days: int = 30


@dataclass(frozen=True)
class ServerParameters:
    """The server parameters the lab reads, by their CIC names; the rest kept as given."""

    sms_interaction_recovery: bool = False
    chat_interaction_recovery: bool = False
    other: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdleTimeout:
    """Effective idle handling for SMS chats (SMS Technical Reference, "Set Web Services Parameters ...")."""

    enabled: bool
    party_idle_time: float
    party_idle_grace_time: float


@dataclass(frozen=True)
class WebServices:
    """The Web Services parameters, and the Settings: SMS custom attributes that override them for SMS."""

    enable_idle_timeout: bool = False
    party_idle_time: float = 300.0
    party_idle_grace_time: float = 300.0
    sms_overrides: Mapping[str, str] = field(default_factory=dict)

    def for_sms(self) -> IdleTimeout:
        """The idle settings for SMS chats: a ``CUSTOM::OPTION:<name>`` attribute wins over the global one."""
        def pick(name: str, default: float) -> float:
            raw = self.sms_overrides.get(f"CUSTOM::OPTION:{name}")
            return float(raw) if raw not in (None, "") else default

        enabled = pick("EnableIdleTimeout", 1.0 if self.enable_idle_timeout else 0.0) == 1.0
        return IdleTimeout(enabled, pick("PartyIdleTime", self.party_idle_time),
                           pick("PartyIdleGraceTime", self.party_idle_grace_time))


@dataclass(frozen=True)
class RemoteCoreSettings:
    """``core: {url: ..., timeout: ...}``: the SMS core is served over HTTP (README, "Your own core over
    HTTP"); the node calls it for every decision.

    Attributes:
        url: the base URL of the served core (``smslab serve core`` prints it).
        timeout: seconds a node waits for one answer before it gives up on that decision (default 5 s).
    """

    url: str
    timeout: float = 5.0


REMOTE_CORE_TIMEOUT = 5.0
CIC_SECTIONS = ("sms", "brokers", "server_parameters", "web_services")


@dataclass(frozen=True)
class CicConfig:
    """Everything the CIC side of the lab is configured with."""

    sms: SmsConfig = field(default_factory=SmsConfig)
    brokers: tuple[BrokerConfig, ...] = ()
    server_parameters: ServerParameters = field(default_factory=ServerParameters)
    web_services: WebServices = field(default_factory=WebServices)
    core: str = "reference"
    remote_core: RemoteCoreSettings | None = None
    #: the CIC sections as read (``sms``, ``brokers``, ``server_parameters``, ``web_services``): what a
    #: core served over HTTP is configured with (``sim.core.remote``); empty for a config built in code.
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def broker(self, name: str) -> BrokerConfig | None:
        """The broker configuration with that name, if any."""
        return self._brokers.get(name)

    @functools.cached_property
    def _brokers(self) -> dict[str, BrokerConfig]:
        """The brokers by name, built once: every MT and every push looks one up."""
        return _first_by(self.brokers, lambda b: b.name)


def _first_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """``items`` by ``key``; the first of a repeated key wins, as a scan in order finds it."""
    out: dict[str, T] = {}
    for item in items:
        out.setdefault(key(item), item)
    return out


# -- reading ----------------------------------------------------------------------------------------


def read_cic_config(data: Mapping[str, Any], problems: Problems | None = None,
                    sections: tuple[str, ...] = ()) -> tuple[CicConfig, Problems]:
    """Read the CIC sections of a lab configuration; other top-level keys must be named in ``sections``.

    Returns the config (built from whatever was valid) and the problems found; the caller raises. Use
    ``sim.core.validation.load_cic_config`` for the checked, raising version.
    """
    r = Reader(data, "", problems)
    sms = _read_sms(r.child("sms"))
    brokers = tuple(_read_broker(b) for b in r.children("brokers"))
    params = _read_server_parameters(r, "server_parameters")
    web = _read_web_services(r.child("web_services"))
    core, remote = _read_core(r)
    r.done(*sections)
    source = {key: data[key] for key in CIC_SECTIONS if isinstance(data, Mapping) and key in data}
    return CicConfig(sms, brokers, params, web, core, remote, source), r.problems


def _read_core(r: Reader) -> tuple[str, RemoteCoreSettings | None]:
    """``core: <name or module:Class>`` (in process) or ``core: {url, timeout}`` (served over HTTP)."""
    if not isinstance(r.data.get("core"), Mapping):
        return r.text("core", "reference", allow_empty=False), None
    c = r.child("core")
    url = c.text("url", allow_empty=False)
    if url and re.fullmatch(r"https?://[^\s/]+(/\S*)?", url) is None:
        c.problem("url", url, "must be an http:// or https:// URL of the served core (smslab serve core)")
    timeout = c.number("timeout", REMOTE_CORE_TIMEOUT, maximum=600.0)
    if timeout <= 0:
        c.problem("timeout", timeout, "must be more than 0 seconds")
    c.done()
    return "remote", RemoteCoreSettings(url.rstrip("/"), timeout)


def _read_destination(r: Reader) -> Destination:
    kind = r.choice("destination", DestinationKind)
    if kind is DestinationKind.EMAIL:
        r.problem("destination", kind.value, "must be Chat, Handler or Queue (email routing is implicit)")
    name = r.text("name", "")
    if kind in (DestinationKind.HANDLER, DestinationKind.QUEUE) and not name:
        r.problem("name", name, f"must name the {kind.value.lower()} when the destination is {kind.value}")
    if kind is DestinationKind.CHAT and name:
        r.problem("name", name, "must be empty when the destination is Chat (the field is unavailable)")
    return Destination(kind, name)


def _read_inbound(r: Reader) -> InboundRoute:
    ftype = r.choice("type", FieldType)
    # Body is matched with DOTALL so a filter such as "(?i).*refund.*" sees every line of the text.
    pattern = r.regex("regex", flags=re.DOTALL if ftype is FieldType.BODY else 0)
    route = InboundRoute(ftype, pattern, _read_destination(r))
    r.done()
    return route


def _read_outbound(r: Reader) -> OutboundRoute:
    r.raw("type", "DNIS")  # "Skip Type. Currently, DNIS is the only option."
    if r.has("type") and str(r.data["type"]).upper() != "DNIS":
        r.problem("type", r.data["type"], "must be DNIS, the only outbound route type")
    route = OutboundRoute(
        pattern=r.regex("regex"),
        formatted_number=r.text("formatted_number", "$0"),
        broker=r.text("broker", allow_empty=False),
        account=r.text("account", allow_empty=False),
        classifications=frozenset(r.strings("classifications", [])),
    )
    r.done()
    return route


def _read_sms(r: Reader) -> SmsConfig:
    inbound = tuple(_read_inbound(c) for c in r.children("inbound_routes"))
    default = None
    if r.has("default_route") and r.data["default_route"] is not None:
        d = r.child("default_route")
        default = _read_destination(d)
        d.done()
    else:
        r.raw("default_route", None)
    outbound = tuple(_read_outbound(c) for c in r.children("outbound_routes"))
    c = r.child("consolidation")
    consolidation = ConsolidationSettings(
        enabled=r.boolean("consolidate_messages", False),
        separator=c.text("separator", " "),
        window=c.number("window", 2.0, minimum=0),
        max_length=c.integer("max_length", 160, minimum=1),
    )
    c.done()
    purge = r.integer("purge_days", 30)
    r.done()
    return SmsConfig(inbound, default, outbound, consolidation, purge)


def _read_broker(r: Reader) -> BrokerConfig:
    accounts = []
    for a in r.children("accounts"):
        accounts.append(Account(
            id=a.text("id", allow_empty=False), local_address=a.text("local_address", ""),
            login=a.text("login", ""), password=a.text("password", ""),
            workgroups=a.strings("workgroups", []), users=a.strings("users", []),
        ))
        a.done()
    mo_r, mt_r, px = r.child("mo"), r.child("mt"), r.child("proxy")
    mo = MoSettings(
        enabled=mo_r.boolean("enabled", True),
        incoming_port=mo_r.integer("incoming_port", 8080, minimum=0, maximum=65535),
        incoming_path=mo_r.text("incoming_path", "/", pattern=r"/\S*"),
        delivery_receipt_url=mo_r.text("delivery_receipt_url", "", pattern=r"/\S*"),
    )
    mt = _read_mt(mt_r)
    proxy = ProxySettings(px.text("address", ""), px.text("login", ""), px.text("password", ""),
                          px.boolean("ssl", False))
    for sub in (mo_r, px):
        sub.done()
    broker = BrokerConfig(
        name=r.text("name", allow_empty=False, pattern=r"[A-Za-z0-9_.\-]+"),
        type=r.text("type", allow_empty=False),
        enabled=r.boolean("enabled", True), profile=r.text("profile", "default"),
        encryption=r.choice("encryption", Encryption, Encryption.HTTP),
        accounts=tuple(accounts), mo=mo, mt=mt, proxy=proxy,
        custom_attributes=r.mapping("custom_attributes", {}),
    )
    r.done()
    return broker


def _read_mt(r: Reader) -> MtSettings:
    plan_r = r.child("number_plan")
    plan = NumberPlan(
        country_code=plan_r.text("country_code", "1", pattern=r"\d{1,3}"),
        national_length=plan_r.integer("national_length", 10, minimum=4, maximum=15),
        trunk_prefix=plan_r.text("trunk_prefix", "", pattern=r"\d*"),
        international_prefix=plan_r.text("international_prefix", "011", pattern=r"\d*"),
    )
    plan_r.done()
    bits = r.integer("reference_bits", 8)
    if bits not in (8, 16):
        r.problem("reference_bits", bits, "must be 8 or 16 (the concatenation reference size)")
    mt = MtSettings(
        enabled=r.boolean("enabled", True),
        gateway=r.text("gateway", DEFAULT_GATEWAY, pattern=r"https?://\S+"),
        outgoing_path=r.text("outgoing_path", ""),
        timeout=r.number("timeout", DEFAULT_TIMEOUT, minimum=0.001),
        internationalize=r.boolean("internationalize", False),
        message_parsing=r.choice("message_parsing", ParsingMode, ParsingMode.SPLIT),
        reference_size=ReferenceSize.SIXTEEN_BIT if bits == 16 else ReferenceSize.EIGHT_BIT,
        number_plan=plan, options=r.mapping("options", {}),
    )
    r.done()
    return mt


def _read_server_parameters(parent: Reader, key: str) -> ServerParameters:
    raw = parent.mapping(key, {})
    flags = {}
    for name in (SMS_RECOVERY, CHAT_RECOVERY):
        value = raw.get(name, "0")
        if value not in ("0", "1", "True", "False", "true", "false"):
            parent.problems.add(f"{key}.{name}", value, "must be 0 or 1")
        flags[name] = value in ("1", "True", "true")
    return ServerParameters(flags[SMS_RECOVERY], flags[CHAT_RECOVERY], raw)


def _read_web_services(r: Reader) -> WebServices:
    p = r.child("parameters")
    web = WebServices(
        enable_idle_timeout=p.boolean("EnableIdleTimeout", False),
        party_idle_time=p.number("PartyIdleTime", 300.0, minimum=0),
        party_idle_grace_time=p.number("PartyIdleGraceTime", 300.0, minimum=0),
        sms_overrides=r.mapping("settings_sms", {}),
    )
    p.done()
    for name, value in web.sms_overrides.items():
        path = f"{r.at('settings_sms')}.{name}"
        if not name.startswith("CUSTOM::OPTION:"):
            r.problems.add(path, value, "must be a custom attribute named CUSTOM::OPTION:<parameter>")
        elif value and not _is_number(value):
            r.problems.add(path, value, "must be a number")
    r.done()
    return web


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
