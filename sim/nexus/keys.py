"""Digital Channels API keys: tenant, name, permissions, enabled or not, an expiry; checked in constant time.

Facts ("API Keys", Digital Channels Administrator guide; "Setting up Integration for Inbound and Outbound
SMS", Option 3): a key has a name and permissions, can be enabled or disabled and expires on a date or
never; the Genesys Cloud side is given a key with ``"tenant": "*"`` and ``"permissions":
["nexus:cluster:*"]``. The request bodies of "Provision API keys" are not public (GAP), so the lab's are
the guide's three fields plus ``enabled`` and ``expires`` (seconds since the epoch, or ``null``: never).

Permissions are ``nexus:<area>:<action>`` with ``*`` matching any part (our reading of the one published
example). The areas: ``provisioning`` (services, keys, sender sections), ``messaging`` (inbound messages
and receipts from providers). ``nexus:cluster:*`` is the cluster-wide permission and allows everything.
A key whose tenant is ``*`` works for every ccid; any other tenant only for its own.

Theory: ``check`` compares the given key with every stored key by ``hmac.compare_digest`` and does not
stop at a match, so the time taken does not tell how many leading characters were right or which key it
was; disabled and expired keys are compared too, then refused.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from sim.core.errors import Problem
from sim.core.schema import Reader
from sim.nexus.errors import NexusError, from_problems

__all__ = ["CLUSTER", "ApiKey", "KeyRing", "permits", "read_key"]

CLUSTER = "nexus:cluster:*"
_AREAS = ("cluster", "provisioning", "messaging", "*")


@dataclass(frozen=True)
class ApiKey:
    """One API key; ``key`` is the secret value sent as ``x-api-key``."""

    id: str
    key: str
    tenant: str
    name: str
    permissions: tuple[str, ...]
    enabled: bool = True
    expires: float | None = None

    def live(self, now: float) -> bool:
        """Enabled and not expired at ``now``."""
        return self.enabled and (self.expires is None or now < self.expires)

    def to_json(self, *, reveal: bool = False) -> dict[str, object]:
        """The key as the API shows it; the secret only when just created (``reveal``)."""
        out: dict[str, object] = {"id": self.id, "tenant": self.tenant, "name": self.name,
                                  "permissions": list(self.permissions), "enabled": self.enabled,
                                  "expires": self.expires}
        out["key"] = self.key if reveal else _masked(self.key)
        return out


def _masked(secret: str) -> str:
    return "****" + secret[-4:] if len(secret) > 8 else "****"


def permits(permissions: Iterable[str], wanted: str) -> bool:
    """Whether one of ``permissions`` allows ``wanted`` (``nexus:<area>:<action>``; ``*`` matches a part)."""
    want = wanted.split(":")
    for held in permissions:
        if held == CLUSTER:
            return True
        parts = held.split(":")
        if len(parts) == len(want) and all(p in ("*", w) for p, w in zip(parts, want, strict=True)):
            return True
    return False


def _permission_ok(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 3 and parts[0] == "nexus" and parts[1] in _AREAS and bool(parts[2])


def read_key(r: Reader, new_id: Callable[[], str], *, key_required: bool = False) -> ApiKey:
    """One key from a mapping (the lab file's ``nexus.api_keys[i]`` or a provisioning body).

    Problems go on ``r``; the caller raises them.
    """
    key = r.text("key") if key_required else r.text("key", "")
    if key_required and not key:
        r.problem("key", key, "must not be empty")
    tenant = r.text("tenant", allow_empty=False)
    name = r.text("name", allow_empty=False)
    permissions = r.strings("permissions")
    if not permissions:
        r.problem("permissions", list(permissions), "must list at least one permission")
    for p in permissions:
        if not _permission_ok(p):
            r.problem("permissions", p, f"must be nexus:<area>:<action> with area one of {', '.join(_AREAS)}")
    enabled = r.boolean("enabled", True)
    expires_raw = r.raw("expires", None)
    expires: float | None = None
    if expires_raw is not None:
        if isinstance(expires_raw, bool) or not isinstance(expires_raw, int | float):
            r.problem("expires", expires_raw, "must be seconds since the epoch, or null for never")
        else:
            expires = float(expires_raw)
    r.done()
    return ApiKey(new_id(), key or str(uuid.uuid4()), tenant, name, permissions, enabled, expires)


class KeyRing:
    """The provisioned API keys.

    Args:
        keys: the keys the lab file gives.
        new_id: the source of key ids (and of key values when a body gives none).
    """

    def __init__(self, keys: Iterable[ApiKey], new_id: Callable[[], str]) -> None:
        self._keys = {k.id: k for k in keys}
        self._new_id = new_id

    def check(self, given: str, ccid: str, permission: str, now: float) -> ApiKey:
        """The key ``given`` if it may do ``permission`` for ``ccid`` at ``now``.

        Raises:
            NexusError: 401 for a missing, unknown, disabled or expired key; 403 for a key of another
                tenant or without the permission.
        """
        if not given:
            raise NexusError("x-api-key is required", 401)
        found: ApiKey | None = None
        raw = given.encode("utf-8", "replace")
        for key in self._keys.values():  # every key compared: the time does not depend on which matched
            if hmac.compare_digest(raw, key.key.encode("utf-8")) and found is None:
                found = key
        if found is None or not found.live(now):
            raise NexusError("x-api-key is not a valid, enabled, unexpired API key", 401)
        if found.tenant not in ("*", ccid):
            raise NexusError(f"the API key is not allowed for tenant {ccid}", 403)
        if not permits(found.permissions, permission):
            raise NexusError(f"the API key lacks the permission {permission}", 403)
        return found

    def add(self, data: object) -> ApiKey:
        """Provision a key from a request body; its value is drawn when the body gives none.

        Raises:
            NexusError: 400 listing every problem; 409 when the value is already a key.
        """
        r = Reader(data, "body")
        key = read_key(r, self._new_id)
        if r.problems:
            raise from_problems(r.problems, "API key")
        if any(hmac.compare_digest(key.key.encode(), k.key.encode()) for k in self._keys.values()):
            raise NexusError("that key value is already provisioned", 409)
        self._keys[key.id] = key
        return key

    def get(self, key_id: str) -> ApiKey:
        """The key with this id.

        Raises:
            NexusError: 404.
        """
        if key_id not in self._keys:
            raise NexusError(f"no API key {key_id}", 404)
        return self._keys[key_id]

    def update(self, key_id: str, data: object) -> ApiKey:
        """Enable, disable or (re)set the expiry of a key; permissions cannot change (Administrator guide).

        Raises:
            NexusError: 404 for an unknown key; 400 for anything but ``enabled`` and ``expires``.
        """
        key = self.get(key_id)
        r = Reader(data, "body")
        enabled = r.boolean("enabled", key.enabled)
        expires = r.raw("expires", key.expires)
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int | float)):
            r.problem("expires", expires, "must be seconds since the epoch, or null for never")
        r.done()
        if r.problems:
            problems = [Problem(p.path, p.value, p.reason + (" (a key's permissions cannot be changed)"
                                                              if p.path == "body.permissions" else ""))
                        for p in r.problems]
            raise from_problems(problems, "API key change")
        new = replace(key, enabled=enabled, expires=None if expires is None else float(expires))
        self._keys[key_id] = new
        return new

    def delete(self, key_id: str) -> None:
        """Remove a key.

        Raises:
            NexusError: 404.
        """
        del self._keys[self.get(key_id).id]

    def listing(self) -> list[dict[str, object]]:
        """Every key, secrets masked."""
        return [k.to_json() for k in self._keys.values()]
