"""The guide's bodies and the lab's test tenant, shared by the Nexus tests (one home for them)."""

from __future__ import annotations

import json
import random
from typing import Any

from sim.nexus.model import Nexus
from sim.nexus.settings import DEFAULT_CCID, parse_nexus
from sim.nexus.wire import Request

CCID = DEFAULT_CCID
ADMIN = "admin-key-0001"
GMA = "9b7682b7-cbce-422f-9bbb-ecda85e61695"  # the guide's example Messaging Cluster API Key
KEYS = [{"key": ADMIN, "tenant": "*", "name": "admin", "permissions": ["nexus:cluster:*"]},
        {"key": GMA, "tenant": "*", "name": "Portico Cluster API Key", "permissions": ["nexus:cluster:*"]}]
HEAD = {"Content-Type": "application/json", "x-api-key": ADMIN, "x-ccid": CCID}


def nexus(**section: Any) -> Nexus:
    """A model with the two keys and whatever else ``section`` gives."""
    return Nexus(parse_nexus({"api_keys": KEYS, **section}), random.Random(1))


def call(model: Nexus, method: str, path: str, body: object = None, headers: dict[str, str] | None = None, *,
         raw: bytes | None = None, now: float = 1000.0) -> tuple[int, Any]:
    """One request to the model: status and decoded JSON."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    reply = model.handle(Request(method, path, HEAD if headers is None else headers, data), now)
    return reply.status, json.loads(reply.body)


def service_path(name: str, ccid: str = CCID) -> str:
    """The provisioning path of a service."""
    return f"/nexus/v3/provisioning/services/{ccid}/{name}"
