"""A blocking HTTP transport for a core served over HTTP (``sim.core.remote.RemoteSmsCore``).

``smslab conformance --core-url`` runs the conformance checks through it: a command that may block, unlike a
CIC node (which uses ``sim.cic.remote_core``). Every failure is a ``CoreCallError`` naming the URL.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from sim.core.config import CicConfig
from sim.core.protocol import CoreContext, CoreFactory
from sim.core.remote import CoreCallError, RemoteSmsCore, Transport

__all__ = ["http_transport", "reach", "remote_factory"]


def http_transport(url: str, timeout: float) -> Transport:
    """A transport to the served core at ``url``; each exchange waits at most ``timeout`` seconds."""
    base = url.rstrip("/")

    def exchange(method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except TimeoutError:
            raise CoreCallError(f"core at {base} did not answer {path} within {timeout:g} s") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise CoreCallError(f"core at {base} cannot be reached: {exc}") from exc
        try:
            return status, json.loads(raw)
        except ValueError:
            raise CoreCallError(f"core at {base} answered {path} with HTTP {status} and a body that is not "
                                f"JSON: {raw[:80]!r}") from None

    return exchange


def remote_factory(url: str, timeout: float = 5.0) -> CoreFactory:
    """``Core(config, context)`` for the core served at ``url``: each core made is one made on the server."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL (got {url!r})")
    transport = http_transport(url, timeout)

    def make(config: CicConfig, context: CoreContext) -> RemoteSmsCore:
        return RemoteSmsCore(config, context, url, transport)

    return make


def reach(url: str, timeout: float = 5.0) -> None:
    """Make a core on the server at ``url`` and let it go again: whether it serves the protocol at all.

    Raises:
        CoreCallError: it cannot be reached, or does not make a core (its answer says why).
    """
    transport = http_transport(url, timeout)
    status, data = transport("POST", "/cores", {"config": {}})
    core = data.get("core") if isinstance(data, dict) else None
    if status != 201 or not isinstance(core, str):
        raise CoreCallError(f"core at {url} does not make a core (POST /cores answered HTTP {status}: "
                            f"{json.dumps(data)[:200]})")
    transport("DELETE", f"/cores/{core}", None)
