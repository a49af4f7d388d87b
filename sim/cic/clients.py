"""Broker clients of a node: read MO/DR pushes and send MTs, one ``BrokerWire`` per broker configuration.

A broker's ``type`` names its definition (``sim/brokerdef/definitions``): ``kaleyra`` is
``kaleyra-directtext``, ``eztexting`` is ``eztexting``, any other shipped definition by its own name, or a
path to a definition file; ``portico`` (Genesys Cloud SMS aggregation) has its own client in
``sim.cic.portico_client``.

MTs go out as the definition renders them: Gateway + Outgoing Path, the account, the broker Options plus
``ExternalDeliveryStatusURI`` (the node's public DR URL), within the broker's Timeout (SMS Technical
Reference, "Configure Broker Message Terminated settings": 60 s by default). When the broker's Proxy
tab names an address the request goes through that corporate proxy with ``Proxy-Authorization: Basic``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from sim.brokerdef.cic import DR_URI_OPTION, Accepted, parse_dr, parse_mo, parse_mt_answer, render_mt
from sim.brokerdef.definition import Definition
from sim.brokerdef.loader import load_definition, shipped, shipped_names
from sim.brokerdef.push import push_fields
from sim.brokerdef.wire import Account as WireAccount
from sim.core.config import BrokerConfig, ProxySettings
from sim.core.errors import ConfigError, InputError, Problem
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest

__all__ = ["TYPE_DEFINITIONS", "BrokerWire", "DefinitionWire", "Http", "SendResult", "account_for",
           "basic", "definition_for", "proxy_url", "unanswered"]

# Broker types whose definition has another name than the type.
TYPE_DEFINITIONS = {"kaleyra": "kaleyra-directtext", "eztexting": "eztexting"}


@dataclass(frozen=True)
class SendResult:
    """What happened to one MT request: the broker's verdict, or why no answer came."""

    broker: str
    url: str
    status: int
    accepted: bool
    message_ids: tuple[str, ...] = ()
    reason: str = ""
    correlation: str = ""
    interaction_id: str = ""
    part: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The shape of one entry of the agent send answer's ``requests``."""
        return {"broker": self.broker, "url": self.url, "status": self.status, "accepted": self.accepted,
                "message_ids": list(self.message_ids), "reason": self.reason}


def basic(login: str, password: str) -> str:
    """An HTTP Basic credential (aiohttp 3.14 deprecates its BasicAuth helper)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def proxy_url(proxy: ProxySettings) -> str:
    """The corporate proxy's URL (``host:port`` gets ``http://``), or ``""`` when none is set."""
    if not proxy.address:
        return ""
    return proxy.address if "://" in proxy.address else f"http://{proxy.address}"


@dataclass
class Http:
    """The node's one HTTP client session, sending through a broker's proxy when it has one."""

    session: aiohttp.ClientSession
    sent: int = field(default=0)

    async def request(self, broker: BrokerConfig, method: str, url: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request within the broker's MT timeout.

        Raises:
            aiohttp.ClientError, TimeoutError: the request got no answer.
        """
        kwargs: dict[str, Any] = {}
        if broker.proxy.address:
            kwargs["proxy"] = proxy_url(broker.proxy)
            if broker.proxy.login:
                credential = {"Proxy-Authorization": basic(broker.proxy.login, broker.proxy.password)}
                # aiohttp sends proxy_headers only on the CONNECT of an https target; a plain http request
                # through the proxy carries the header itself (RFC 9110 §11.7.1).
                if url.startswith("https:"):
                    kwargs["proxy_headers"] = credential
                else:
                    headers = {**headers, **credential}
        timeout = aiohttp.ClientTimeout(total=broker.mt.timeout)
        self.sent += 1
        async with self.session.request(method, url, headers=headers, data=body or None, timeout=timeout,
                                        **kwargs) as response:
            return response.status, dict(response.headers), await response.read()


class BrokerWire(Protocol):
    """The broker-specific half of a node: reading pushes and sending MTs."""

    broker: BrokerConfig

    def parse_mo(self, query: str, content_type: str, body: bytes, now: float) -> InboundSms:
        """The MO in a push (raises ``InputError`` for a malformed one)."""

    def parse_dr(self, query: str, content_type: str, body: bytes, now: float) -> DeliveryReceipt:
        """The DR in a push (raises ``InputError`` for a malformed one)."""

    async def send(self, http: Http, mt: MtRequest, dr_url: str) -> SendResult:
        """Send one MT request and read the broker's answer."""


def definition_for(broker: BrokerConfig, path: str = "type") -> Definition:
    """The definition a broker ``type`` names.

    Raises:
        ConfigError: the type names no shipped definition and no definition file.
    """
    name = TYPE_DEFINITIONS.get(broker.type.lower(), broker.type)
    if name in shipped_names():
        return shipped(name)
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_definition(name)
    known = ", ".join(sorted({*TYPE_DEFINITIONS, *shipped_names(), "portico"}))
    raise ConfigError([Problem(path, broker.type, f"must be a broker type the node speaks ({known}) "
                                                  "or a definition file")])


def account_for(broker: BrokerConfig, dnis: str) -> str:
    """The account whose Local Address is ``dnis`` (digits compared, so +1 and FQTN forms match)."""
    digits = "".join(c for c in dnis if c.isdigit())
    for account in broker.accounts:
        local = "".join(c for c in account.local_address if c.isdigit())
        if local and digits and (local == digits or local.endswith(digits) or digits.endswith(local)):
            return account.id
    return ""


class DefinitionWire:
    """A broker spoken through its definition (``sim.brokerdef.cic``)."""

    def __init__(self, broker: BrokerConfig, definition: Definition) -> None:
        self.broker = broker
        self.definition = definition

    def parse_mo(self, query: str, content_type: str, body: bytes, now: float) -> InboundSms:
        """The MO in a push, with the account its DNIS belongs to."""
        push = self.definition.mo
        if push is None:
            raise InputError(f"broker {self.broker.name!r} ({self.definition.name}) pushes no MOs", 404)
        sms = parse_mo(self.definition, push_fields(push, query, content_type, body), self.broker.name, now)
        return InboundSms(sms.broker, sms.ani, sms.dnis, sms.body, sms.message_id,
                          account_for(self.broker, sms.dnis), now)

    def parse_dr(self, query: str, content_type: str, body: bytes, now: float) -> DeliveryReceipt:
        """The DR in a push."""
        dr = self.definition.dr
        if dr is None:
            raise InputError(f"broker {self.broker.name!r} ({self.definition.name}) pushes no DRs", 404)
        fields = push_fields(dr.push, query, content_type, body)
        return parse_dr(self.definition, fields, self.broker.name, now)

    async def send(self, http: Http, mt: MtRequest, dr_url: str) -> SendResult:
        """Render ``mt`` with the broker's settings and send it."""
        cfg = self.broker
        account = cfg.account(mt.account)
        wire_account = WireAccount(mt.account, account.login if account else "",
                                   account.password if account else "")
        options = {**cfg.mt.options, DR_URI_OPTION: dr_url} if dr_url else dict(cfg.mt.options)
        request = render_mt(self.definition, wire_account, mt, cfg.mt.gateway, cfg.mt.outgoing_path or None,
                            options=options)
        base = SendResult(cfg.name, request.url, 0, False, correlation=mt.correlation,
                          interaction_id=mt.interaction_id, part=mt.part)
        try:
            status, headers, body = await http.request(cfg, request.method, request.url,
                                                       dict(request.headers), request.body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return unanswered(base, exc, cfg.mt.timeout)
        verdict = parse_mt_answer(self.definition, status, headers, body)
        if isinstance(verdict, Accepted):
            return replace(base, status=status, accepted=True, message_ids=verdict.message_ids)
        return replace(base, status=status, reason=f"{verdict.code}: {verdict.reason}")


def unanswered(base: SendResult, exc: BaseException, timeout: float) -> SendResult:
    """``base`` for a request that got no answer (a timeout, a refused or reset connection)."""
    reason = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else \
        f"{type(exc).__name__}: {exc}"
    return replace(base, status=0, accepted=False, reason=reason)
