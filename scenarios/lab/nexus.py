"""Digital Channels ("Nexus") in the lab: started from the lab file's ``nexus:`` section, the fakes it uses
pointed at it.

``Lab`` calls ``start_nexus`` once its fakes listen. A service ``url`` of ``fake:<name>`` becomes that
fake's URL (``PurecloudIDP`` and ``PorticoSMS`` at a Portico fake, which serves the login and the API
host at once; ``mGageSMS`` at a Kaleyra fake; an Async channel's ``webhook.url`` may name an ``asyncgw``
fake too). Then each of those fakes is pointed back at Nexus: a Portico fake's numbers get
``/nexus/v3/sms/message`` and ``/nexus/v3/sms/receipt`` as ``moUrl``/``drUrl`` through its own
provisioning API (as the guide's "Order a toll-free number" sets them), a Kaleyra fake pushes to Nexus's
Kaleyra paths, an asyncgw fake to the Third-Party Messaging API. Nexus runs in the lab's process in both
lab modes (it has no failover of its own to exercise by killing it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp

from scenarios.lab.backends import provision_webhooks
from scenarios.lab.spec import PushTarget
from sim.labfile import LabConfig
from sim.nexus.model import KALEYRA_PATHS, PORTICO_PATHS
from sim.nexus.server import NexusServer
from sim.nexus.settings import FAKE_URL, parse_nexus

__all__ = ["NEXUS_TARGETS", "nexus_endpoints", "nexus_targets", "resolve_fake_urls", "start_nexus"]

#: Per fake kind: where it pushes into Nexus (MO path, DR path; "" = the base URL, the fake adds its own).
NEXUS_TARGETS = {"portico": PORTICO_PATHS, "kaleyra": KALEYRA_PATHS, "asyncgw": ("", "")}


def nexus_endpoints(base: str) -> dict[str, str]:
    """What ``smslab up`` shows of a running Nexus: its doors and its lab routes."""
    return {"provisioning": f"{base}/nexus/v3/provisioning/services/{{ccid}}/{{service}}",
            "Genesys Cloud moUrl / drUrl": f"{base}{PORTICO_PATHS[0]}  {base}{PORTICO_PATHS[1]}",
            "Kaleyra MO / DR": f"{base}{KALEYRA_PATHS[0]}  {base}{KALEYRA_PATHS[1]}",
            "Third-Party Messaging API": f"{base}/nexus/v3/channels/{{channelId}}/messages  .../receipts",
            "interactions": f"{base}/_smslab/interactions"}


def resolve_fake_urls(value: Any, fake_urls: Mapping[str, str], used: set[str]) -> Any:
    """``value`` with every ``fake:<name>`` string replaced by that fake's URL (names noted in ``used``)."""
    if isinstance(value, Mapping):
        return {k: resolve_fake_urls(v, fake_urls, used) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_fake_urls(v, fake_urls, used) for v in value]
    found = FAKE_URL.fullmatch(value) if isinstance(value, str) else None
    if found is not None and found.group(1) in fake_urls:
        used.add(found.group(1))
        return fake_urls[found.group(1)]
    return value


def nexus_targets(url: str, used: set[str], kinds: Mapping[str, str]) -> dict[str, PushTarget]:
    """Per fake Nexus uses: where it must push (``PushTarget``), from its kind."""
    out = {}
    for name in sorted(used):
        paths = NEXUS_TARGETS.get(kinds[name])
        if paths is not None:
            out[name] = PushTarget("nexus", url + paths[0], url + paths[1])
    return out


async def start_nexus(config: LabConfig, fake_urls: Mapping[str, str], kinds: Mapping[str, str], *, host: str,
                      session: aiohttp.ClientSession, point: Any) -> NexusServer | None:
    """Start Nexus when the lab file has a ``nexus`` section, and point the fakes it uses at it.

    Args:
        config: the lab file (checked already).
        fake_urls: fake name -> its URL.
        kinds: fake name -> its kind.
        host: the address to listen on.
        session: the lab's client (Portico's provisioning API).
        point: ``await point(name, target)`` gives a running fake new MO and DR URLs.

    Returns:
        The running server, or ``None`` without a ``nexus`` section.
    """
    if not config.nexus_section:
        return None
    used: set[str] = set()
    section = resolve_fake_urls(config.nexus_section, fake_urls, used)
    settings = parse_nexus(section, "nexus", config.source)
    server = NexusServer(replace(settings, fake_urls={}))
    url = await server.start(host, 0)
    for name, target in nexus_targets(url, used, kinds).items():
        await point(name, target)
        if kinds[name] == "portico":
            await provision_webhooks(session, fake_urls[name], config.fakes[name], target)
    return server
