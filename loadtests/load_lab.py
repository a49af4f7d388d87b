"""The lab side of ``smslab load``: the lab to load (embedded, or the one at ``--url``), the plan the
locustfiles get of it, and the lab's own counts before and after the run.

The embedded lab runs on its own event loop in a background thread (``scenarios.plugin.LabThread``), so
this process stays synchronous and speaks to it through the control API like any other client. The plan
comes from the lab file (brokers, wires, accounts, Local Addresses) and from the running lab's health
(the proxies' and fakes' real ports). The counts come from the lab's Prometheus metrics, read before and
after the run and subtracted, so a lab that served other traffic before still gives this run's figures:
MTs each fake captured, DLRs by state, the proxy's answers by status. The MOs stored are counted from the
active node's interactions, by this run's message ids.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from loadtests.locustfiles.plan import BrokerPlan
from scenarios.lab.client import LabClient, LabError
from sim.cic.clients import TYPE_DEFINITIONS
from sim.core.config import BrokerConfig
from sim.core.errors import InputError
from sim.labfile import LabConfig

SETTLE_STEP = 0.25  # seconds between two reads of the lab's counters while they settle

__all__ = ["LabTarget", "brokers_of", "dlr_routes", "interactions_since", "lab", "metric_counts",
           "settled_counts"]


@dataclass(frozen=True)
class LabTarget:
    """The lab a run loads: its control API and the configuration that describes it."""

    client: LabClient
    config: LabConfig
    terms: Mapping[str, float]
    """The path's timings a switchover gap is bounded by: the proxy's time-out and probe interval."""
    lab: Any = None
    """The embedded ``scenarios.lab.assembly.Lab`` (``None`` for the lab at ``--url``)."""


@contextlib.contextmanager
def lab(url: str | None, config_path: str | None, *, processes: bool = False) -> Iterator[LabTarget]:
    """The lab at ``url`` (described by ``config_path``, or the default lab's file), or a new embedded one
    (with ``processes``, each of its fakes, nodes and proxies in its own process).

    Raises:
        InputError: ``url`` cannot be reached or is not a smslab control API.
        ConfigError: the lab file has problems.
    """
    from scenarios.lab.check import check_lab, load_lab  # noqa: PLC0415 - the whole lab, only when a run starts
    from scenarios.lab.spec import default_lab_config  # noqa: PLC0415

    if url:
        config = load_lab(config_path) if config_path else default_lab_config()
        client = LabClient(url, timeout=30)
        try:
            client.health()
        except LabError as exc:
            raise InputError(f"--url {url}: {exc.error}") from None
        yield LabTarget(client, config, _terms(check_lab(config).spec))
        return
    from scenarios.plugin import LabThread  # noqa: PLC0415

    runner = LabThread(config_path, processes=processes)
    runner.start()
    try:
        yield LabTarget(LabClient(runner.url, timeout=30), runner.lab.config, _terms(runner.lab.spec),
                        runner.lab)
    finally:
        runner.stop()


def _terms(spec: Any) -> dict[str, float]:
    """A request in flight to a hung node is held until the proxy's time-out answers it (Locust's own
    network time-out, 60 s, is longer): so the proxy's time-out is the hold, as for a broker's push."""
    timeout = float(spec.proxy.timeout)
    return {"proxy_timeout": timeout, "push_timeout": timeout,
            "probe_interval": float(spec.farms[0].health.interval) if spec.farms else 0.0}


def dlr_routes(config: LabConfig) -> tuple[tuple[str, str, str], ...]:
    """(broker, classification, number kind) for the brokers agent sends reach: the outbound route the core
    picks (the highest ranked that matches) for a +1 317 handset and for a UK one, each broker once."""
    samples = (("handset", "+13175550123"), ("international", "+447700900123"))
    found: dict[str, tuple[str, str, str]] = {}
    for kind, number in samples:
        route = next((r for r in config.cic.sms.outbound_routes if r.pattern.fullmatch(number)), None)
        if route is not None and route.broker not in found:
            found[route.broker] = (route.broker, min(route.classifications, default=""), kind)
    return tuple(found.values())


def brokers_of(config: LabConfig, health: Mapping[str, Any]) -> tuple[BrokerPlan, ...]:
    """Each enabled broker of the lab file as the locustfiles reach it in the running lab."""
    proxies = {int(farm["incoming_port"]): str(farm["url"]) for farm in health.get("farm", ())}
    components = {c["name"]: c["url"] for c in health.get("components", ())}
    plans = []
    for broker in config.cic.brokers:
        if not broker.enabled:
            continue
        proxy = proxies.get(broker.mo.incoming_port, "")
        fake = components.get(config.fake_gateways.get(broker.name, ""), "")
        account = broker.accounts[0] if broker.accounts else None
        login, password = _credentials(config, broker)
        plans.append(BrokerPlan(
            name=broker.name, wire=_wire(broker), mo_url=proxy + broker.mo.incoming_path if proxy else "",
            local_address=account.local_address if account else "", fake_url=fake, login=login,
            password=password, mt_path=broker.mt.outgoing_path))
    return tuple(plans)


def _wire(broker: BrokerConfig) -> str:
    kind = broker.type.lower()
    return "portico" if kind == "portico" else TYPE_DEFINITIONS.get(kind, broker.type)


def _credentials(config: LabConfig, broker: BrokerConfig) -> tuple[str, str]:
    """What a push or MT request of the broker carries: Portico's webhook credentials of its number (the
    fake sends them as Basic on its webhooks), else the account's login and password (its MT API)."""
    account = broker.accounts[0] if broker.accounts else None
    if broker.type.lower() != "portico":
        return (account.login, account.password) if account else ("", "")
    fake = config.fakes.get(config.fake_gateways.get(broker.name, ""), {})
    local = (account.local_address if account else "").lstrip("+")
    for number in fake.get("numbers") or ():
        if str(number.get("number", "")).lstrip("+") == local:
            return str(number.get("webhook_username", "")), str(number.get("webhook_password", ""))
    return "", ""


def metric_counts(client: LabClient) -> Counter[tuple[str, ...]]:
    """The lab's counters now: ``(metric, label values...)`` -> value, for messages, pushes and answers."""
    text = client.request("GET", "/metrics")
    counts: Counter[tuple[str, ...]] = Counter()
    key: tuple[str, ...]
    for family in text_string_to_metric_families(str(text)):
        for sample in family.samples:
            if sample.name == "smslab_messages_total":
                key = ("messages", sample.labels["broker"], sample.labels["kind"], sample.labels["state"])
            elif sample.name == "smslab_proxy_responses_total":
                key = ("proxy", sample.labels["substatus"] or sample.labels["status"])  # 502.3, or 200
            else:
                continue
            counts[key] += int(sample.value)
    return counts


def settled_counts(client: LabClient, limit: float) -> Counter[tuple[str, ...]]:
    """The lab's counters once two reads a step apart agree (DLRs and pushes in flight have landed, and
    with a lab in processes its follower has read them), or after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    last = metric_counts(client)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_STEP)
        now = metric_counts(client)
        if now == last:
            return now
        last = now
    return last


def interactions_since(client: LabClient, since: float) -> list[dict[str, Any]]:
    """Every interaction of the active node updated at or after ``since`` (its clock, epoch seconds)."""
    return client.interactions(since=since)
