"""Each tenant's provisioned services: ``{url, data, secret}`` per ``(ccid, service)``, each body checked.

The five services and their bodies are the guide's ("Setting up Integration for Inbound and Outbound SMS",
Options 1 to 3, "Create Digital Channels services definitions"):

* ``SMS``: enables SMS for the tenant and selects its provider: ``data.provider`` ``mGage``, ``Async`` or
  ``Portico``, or ``data.tokenProvider: Purecloud`` (Option 3, which means Portico); ``url`` is ``N/A``.
* ``mGageSMS``: ``url`` the Kaleyra API URL, ``secret.username`` and ``secret.password``.
* ``Async``: ``data.channels[]`` of ``{channelId, webhook: {url}}`` and ``secret.channels[]`` of
  ``{channelId, webhook: {secret}, api: {secret}}`` for the same channel ids (no ``url``). A channel id
  with ``@`` or ``.`` is an email domain (the guide's ``$asyncEmailDomain``), any other an SMS sender id.
* ``PurecloudIDP``: ``url`` the Genesys Cloud login URL, ``secret.clientId`` and ``secret.clientSecret``.
* ``PorticoSMS``: ``url`` the Genesys Cloud API URL.

The provisioning API's answers, and its read, replace and delete, are not public (GAP): POST creates
(409 when the service exists), PUT replaces (404 when it does not), GET reads with every secret value
masked, DELETE removes; each answers the Digital Channels envelope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sim.core.schema import Reader
from sim.nexus.errors import NexusError, from_problems

__all__ = ["PROVIDERS", "SERVICES", "AsyncChannel", "ChannelKind", "Provider", "Service", "ServiceStore",
           "channel_kind", "check_service", "masked"]

SERVICES = ("SMS", "mGageSMS", "Async", "PurecloudIDP", "PorticoSMS")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
MASK = "****"


class Provider(Enum):
    """The SMS providers of the ``SMS`` service and of a sender section (Option 3, ``$nexusProvider``)."""

    MGAGE = "mGage"
    ASYNC = "Async"
    PORTICO = "Portico"


PROVIDERS = tuple(p.value for p in Provider)


class ChannelKind(Enum):
    """What an Async channel carries: SMS (a sender id) or email (a domain)."""

    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class AsyncChannel:
    """One channel of the ``Async`` service, its data and secrets joined by ``channelId``."""

    channel_id: str
    webhook_url: str
    webhook_secret: str
    api_secret: str
    kind: ChannelKind


@dataclass(frozen=True)
class Service:
    """One provisioned service: the body as given (``url``, ``data``, ``secret``)."""

    ccid: str
    name: str
    url: str
    data: Mapping[str, Any]
    secret: Mapping[str, Any]

    def to_json(self) -> dict[str, object]:
        """The service as read back: secrets masked."""
        return {"ccid": self.ccid, "service": self.name, "url": self.url, "data": self.data,
                "secret": masked(self.secret)}


def masked(value: object) -> object:
    """``value`` with every string replaced by ``****``, ``channelId`` kept (it is not a secret)."""
    if isinstance(value, Mapping):
        return {k: (v if k == "channelId" else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return MASK if isinstance(value, str) else value


def _url(r: Reader, key: str, what: str) -> str:
    value = r.text(key)
    if value and _URL.fullmatch(value) is None:
        r.problem(key, value, f"must be the {what} as an http:// or https:// URL")
    return value


def _sms(r: Reader) -> None:
    r.text("url", "N/A")
    data = r.child("data")
    provider = data.text("provider", "")
    token = data.text("tokenProvider", "")
    if provider and provider not in PROVIDERS:
        data.problem("provider", provider, f"must be one of {', '.join(PROVIDERS)}")
    if token and token != "Purecloud":
        data.problem("tokenProvider", token, "must be Purecloud")
    if not provider and not token:
        data.problem("provider", None, "is required (mGage, Async or Portico), or tokenProvider: Purecloud")
    data.done()
    r.child("secret").done()


def _mgage(r: Reader) -> None:
    _url(r, "url", "Kaleyra API URL")
    r.child("data").done()
    secret = r.child("secret")
    secret.text("username", allow_empty=False)
    secret.text("password", allow_empty=False)
    secret.done()


def _purecloud(r: Reader) -> None:
    _url(r, "url", "Genesys Cloud login URL")
    r.child("data").done()
    secret = r.child("secret")
    secret.text("clientId", allow_empty=False)
    secret.text("clientSecret", allow_empty=False)
    secret.done()


def _portico(r: Reader) -> None:
    _url(r, "url", "Genesys Cloud API URL")
    r.child("data").done()
    r.child("secret").done()


def _channel_ids(readers: list[Reader], what: str) -> dict[str, Reader]:
    out: dict[str, Reader] = {}
    for c in readers:
        cid = c.text("channelId", allow_empty=False)
        if cid in out:
            c.problem("channelId", cid, f"is given twice in {what}")
        out[cid] = c
    return out


def _async(r: Reader) -> None:
    if r.has("url"):
        r.text("url")
    data, secret = r.child("data"), r.child("secret")
    channels = _channel_ids(data.children("channels"), "data.channels")
    secrets = _channel_ids(secret.children("channels"), "secret.channels")
    if not channels:
        data.problem("channels", data.raw("channels", None), "must list at least one channel")
    for cid, c in channels.items():
        hook = c.child("webhook")
        _url(hook, "url", "third-party messaging webhook URL")
        hook.done()
        c.done()
        if cid and cid not in secrets:
            secret.problem("channels", cid, "must give webhook.secret and api.secret for this channelId")
    for cid, s in secrets.items():
        for part in ("webhook", "api"):
            sub = s.child(part)
            sub.text("secret", allow_empty=False)
            sub.done()
        s.done()
        if cid and cid not in channels:
            s.problem("channelId", cid, "has no channel in data.channels")
    data.done()
    secret.done()


_CHECKS = {"SMS": _sms, "mGageSMS": _mgage, "Async": _async, "PurecloudIDP": _purecloud,
           "PorticoSMS": _portico}


def check_service(name: str, body: object, path: str = "body") -> Reader:
    """Read ``body`` as the service ``name``; the reader holds every problem (the caller raises them)."""
    r = Reader(body, path)
    if r.problems:
        return r
    _CHECKS[name](r)
    r.done()
    return r


def channel_kind(channel_id: str) -> ChannelKind:
    """An email domain (``@`` or ``.`` in it) or an SMS sender id."""
    return ChannelKind.EMAIL if ("@" in channel_id or "." in channel_id) else ChannelKind.SMS


class ServiceStore:
    """Every tenant's services."""

    def __init__(self) -> None:
        self._services: dict[tuple[str, str], Service] = {}

    @staticmethod
    def _checked(ccid: str, name: str, body: object) -> Service:
        if name not in SERVICES:
            raise NexusError(f"unknown service {name!r}: must be one of {', '.join(SERVICES)}", 404)
        r = check_service(name, body)
        if r.problems:
            raise from_problems(r.problems, f"{name} service")
        assert isinstance(body, Mapping)
        return Service(ccid, name, str(body.get("url", "")), dict(body.get("data") or {}),
                       dict(body.get("secret") or {}))

    def create(self, ccid: str, name: str, body: object) -> Service:
        """Provision a service (POST).

        Raises:
            NexusError: 404 for an unknown service name, 400 listing every problem of the body, 409 when
                the tenant has the service already (nothing is changed).
        """
        service = self._checked(ccid, name, body)
        if (ccid, name) in self._services:
            raise NexusError(f"service {name} exists for tenant {ccid}; replace it with PUT", 409)
        self._services[(ccid, name)] = service
        return service

    def replace(self, ccid: str, name: str, body: object) -> Service:
        """Replace a service (PUT).

        Raises:
            NexusError: 404 for an unknown name or a service not provisioned, 400 for a bad body.
        """
        service = self._checked(ccid, name, body)
        self.get(ccid, name)
        self._services[(ccid, name)] = service
        return service

    def get(self, ccid: str, name: str) -> Service:
        """The tenant's service.

        Raises:
            NexusError: 404.
        """
        if name not in SERVICES:
            raise NexusError(f"unknown service {name!r}: must be one of {', '.join(SERVICES)}", 404)
        found = self._services.get((ccid, name))
        if found is None:
            raise NexusError(f"service {name} is not provisioned for tenant {ccid}", 404)
        return found

    def find(self, ccid: str, name: str) -> Service | None:
        """The tenant's service, or ``None``."""
        return self._services.get((ccid, name))

    def delete(self, ccid: str, name: str) -> None:
        """Remove a service.

        Raises:
            NexusError: 404.
        """
        del self._services[(self.get(ccid, name).ccid, name)]

    def listing(self, ccid: str) -> list[dict[str, object]]:
        """The tenant's services, secrets masked."""
        return [s.to_json() for (c, _), s in self._services.items() if c == ccid]

    def provider(self, ccid: str) -> Provider | None:
        """The tenant's default provider, from its ``SMS`` service (``tokenProvider: Purecloud``: Portico)."""
        sms = self._services.get((ccid, "SMS"))
        if sms is None:
            return None
        given = str(sms.data.get("provider", "") or "")
        return Provider(given) if given else Provider.PORTICO

    def async_channel(self, ccid: str, channel_id: str) -> AsyncChannel | None:
        """The ``Async`` channel with this id, data and secrets joined."""
        svc = self._services.get((ccid, "Async"))
        if svc is None:
            return None
        data = next((c for c in svc.data.get("channels", []) if c.get("channelId") == channel_id), None)
        sec = next((c for c in svc.secret.get("channels", []) if c.get("channelId") == channel_id), None)
        if data is None or sec is None:
            return None
        return AsyncChannel(channel_id, data["webhook"]["url"], sec["webhook"]["secret"],
                            sec["api"]["secret"], channel_kind(channel_id))
