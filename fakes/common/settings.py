"""The settings every fake shares, read from its mapping (``fakes.<name>`` in a lab file).

``read_common`` reads the shared keys from a ``Reader`` and leaves the broker's own keys to the caller,
which then calls ``reader.done()`` and ``reader.raise_if_problems()`` once, so every problem in a fake's
settings (shared or its own) is reported together with its path, e.g. ``fakes.k1.dlr.delay.mean``.

Shared keys and their defaults::

    seed: 0                        # random.Random(seed): ids, outcomes, delays, fault probabilities
    time_scale: 1.0                # multiplies DLR delays and push retry delays (0.001: 60 s -> 60 ms)
    client_max_size: 1048576       # request body limit in bytes (413 in the broker's format beyond it)
    mo_url: ""                     # where MOs are pushed ("" = nowhere)
    dr_url: ""                     # where DRs are pushed ("" = captured only)
    capture: {limit: 10000}
    tls: {cert: "", key: ""}       # PEM files: serve HTTPS instead of HTTP
    push:
      auth: {username: "", password: ""}   # Basic auth on MO/DR pushes (none when username is empty)
      timeout: 10.0                # seconds per attempt
      concurrency: 16              # pushes in flight at once
      max_pending: 10000           # pushes queued or waiting for a retry
      attempts_limit: 10000        # attempts kept in the log
      verify: true                 # verify https targets (false: accept any certificate)
      ca: ""                       # PEM bundle to verify https targets with
      method: <broker>             # POST (fields in the body) or GET (fields in the query string, for
                                   # gateways that read only the query); default: the broker's own format
    retry: {interval: <broker>, total: <broker>}   # or {backoff: [1, 5, 30]}; the broker gives defaults
    dlr:
      enabled: true
      limit: 100000                # DLRs waiting at most (more are counted as overflow, not scheduled)
      delay: {distribution: fixed, seconds: 1.0}  # uniform: low/high; exponential: mean;
                                                  # lognormal: median/sigma; all: optional maximum
      outcomes: {delivered: 1.0}   # weights of delivered / failed / undeliverable / expired
      triggers: [{pattern: "^\\+1555", outcome: failed}]   # re.search on the destination, checked first
    faults: []                     # see fakes.common.faults.read_fault
    carriers: []                   # the carrier model (sim.carrier.settings) in place of dlr.delay and
                                   # dlr.outcomes; a lab file's top-level carriers reach every fake
    populations: []                # handsets sending MOs through this fake (sim.carrier.population)

With ``carriers``, each accepted MT goes through the carrier model (``fakes.common.carrier``) and
``time_scale`` must be above 0; ``dlr.enabled`` and ``dlr.limit`` still apply.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fakes.common.capture import DEFAULT_CAPTURE_LIMIT
from fakes.common.dlr import (
    DlrPlanner,
    FixedDelay,
    TriggeredOutcomes,
)
from fakes.common.faults import Fault, read_faults
from fakes.common.push import PushMethod, RetryPolicy
from sim.carrier.distributions import read_delay
from sim.carrier.population import PopulationSettings, read_populations
from sim.carrier.settings import CarrierSettings, read_carriers
from sim.core.errors import ConfigError
from sim.core.schema import Reader
from sim.core.types import DeliveryState

__all__ = ["CommonSettings", "PushSettings", "client_tls", "read_common", "server_tls"]

T = TypeVar("T")
_OUTCOMES = ("delivered", "failed", "undeliverable", "expired")


@dataclass(frozen=True)
class PushSettings:
    """How pushes are sent (``push:``)."""

    auth: tuple[str, str] | None = None
    timeout: float = 10.0
    concurrency: int = 16
    max_pending: int = 10_000
    attempts_limit: int = 10_000
    verify: bool = True
    ca: str = ""
    method: PushMethod | None = None  # None: the broker's own format


@dataclass(frozen=True)
class CommonSettings:
    """The shared part of every fake's settings (see the module docstring for keys and defaults)."""

    seed: int = 0
    time_scale: float = 1.0
    client_max_size: int = 1024 * 1024
    mo_url: str = ""
    dr_url: str = ""
    capture_limit: int = DEFAULT_CAPTURE_LIMIT
    tls_cert: str = ""
    tls_key: str = ""
    push: PushSettings = field(default_factory=PushSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    dlr_enabled: bool = True
    dlr_limit: int = 100_000
    dlr: DlrPlanner = field(default_factory=lambda: DlrPlanner(TriggeredOutcomes(), FixedDelay(1.0)))
    faults: tuple[Fault, ...] = ()
    carriers: tuple[CarrierSettings, ...] = ()
    populations: tuple[PopulationSettings, ...] = ()


def read_common(r: Reader, *, retry: RetryPolicy | None = None, dlr_delay: float = 1.0) -> CommonSettings:
    """Read the shared keys from ``r``; problems are recorded on ``r`` (the caller raises them).

    Args:
        r: the reader over the fake's mapping.
        retry: the broker's default retry policy (e.g. Kaleyra: 60 s for 48 h).
        dlr_delay: the broker's default fixed DLR delay in seconds.
    """
    time_scale = r.number("time_scale", 1.0, minimum=0.0)
    tls = r.child("tls", None)
    tls_cert, tls_key = tls.text("cert", ""), tls.text("key", "")
    if bool(tls_cert) != bool(tls_key):
        tls.problem("key" if tls_cert else "cert", "", "must be given together with the other TLS file")
    tls.done()
    dlr = r.child("dlr", None)
    settings = CommonSettings(
        seed=r.integer("seed", 0), time_scale=time_scale,
        client_max_size=r.integer("client_max_size", 1024 * 1024, minimum=1024),
        mo_url=_url(r, "mo_url"), dr_url=_url(r, "dr_url"),
        capture_limit=_capture_limit(r), tls_cert=tls_cert, tls_key=tls_key,
        push=_push(r.child("push", None)), retry=_retry(r.child("retry", None), retry or RetryPolicy()),
        dlr_enabled=dlr.boolean("enabled", True), dlr_limit=dlr.integer("limit", 100_000, minimum=1),
        dlr=DlrPlanner(_outcomes(dlr), read_delay(dlr.child("delay", None), dlr_delay), time_scale),
        faults=tuple(read_faults(r.raw("faults", []), r.at("faults"), r)),
        carriers=_listed(r, "carriers", read_carriers),
        populations=_listed(r, "populations", read_populations),
    )
    dlr.done()
    if settings.carriers and time_scale <= 0:
        r.problem("time_scale", time_scale, "must be above 0 with carriers (simulated time cannot advance)")
    if settings.populations and not r.has("carriers"):
        r.problem("populations", "", "need carriers: a population's handsets are reached through them")
    return settings


def _listed(r: Reader, key: str, read: Callable[[Any, str], tuple[T, ...]]) -> tuple[T, ...]:
    """A list section read by its own reader, its problems recorded on ``r`` under the right path."""
    try:
        return read(r.raw(key, None), r.at(key))
    except ConfigError as exc:
        for problem in exc.problems:
            r.problems.add(problem.path, problem.value, problem.reason)
        return ()


def _url(r: Reader, key: str) -> str:
    return r.text(key, "", pattern=r"https?://\S+")


def _capture_limit(r: Reader) -> int:
    capture = r.child("capture", None)
    limit = capture.integer("limit", DEFAULT_CAPTURE_LIMIT, minimum=1)
    capture.done()
    return limit


def _push(r: Reader) -> PushSettings:
    auth = r.child("auth", None)
    user, password = auth.text("username", ""), auth.text("password", "")
    auth.done()
    out = PushSettings(
        auth=(user, password) if user else None, timeout=r.number("timeout", 10.0, minimum=0.001),
        concurrency=r.integer("concurrency", 16, minimum=1, maximum=1024),
        max_pending=r.integer("max_pending", 10_000, minimum=1),
        attempts_limit=r.integer("attempts_limit", 10_000, minimum=1),
        verify=r.boolean("verify", True), ca=r.text("ca", ""),
        method=None if r.raw("method", None) is None else r.choice("method", PushMethod),
    )
    r.done()
    if out.ca:
        try:  # now, so that a missing or broken bundle is a problem with its path, not a traceback later
            ssl.create_default_context(cafile=out.ca)
        except (OSError, ssl.SSLError) as exc:
            r.problem("ca", out.ca, f"cannot be loaded as a PEM bundle: {exc}")
    return out


def _retry(r: Reader, default: RetryPolicy) -> RetryPolicy:
    if r.has("backoff"):
        delays = []
        for path, value in r.items("backoff"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                r.problems.add(path, value, "must be a number of seconds, at least 0")
            else:
                delays.append(float(value))
        out = RetryPolicy(backoff=tuple(delays)) if delays else RetryPolicy(total=0)
    else:
        out = RetryPolicy(interval=r.number("interval", default.interval, minimum=0.0),
                          total=r.number("total", default.total, minimum=0.0), backoff=default.backoff)
    r.done()
    return out


def _outcomes(dlr: Reader) -> TriggeredOutcomes:
    weights_r = dlr.child("outcomes", None)
    weights = tuple((DeliveryState(name), weights_r.number(name, minimum=0.0))
                    for name in _OUTCOMES if weights_r.has(name))
    weights_r.done()
    if weights and sum(w for _, w in weights) <= 0:
        weights_r.problem("delivered", dict(weights_r.data), "at least one outcome weight must be above 0")
    triggers = []
    for t in dlr.children("triggers"):
        pattern = t.regex("pattern")
        outcome = t.text("outcome")
        if outcome not in _OUTCOMES:
            t.problem("outcome", outcome, f"must be one of {', '.join(_OUTCOMES)}")
        else:
            triggers.append((pattern, DeliveryState(outcome)))
        t.done()
    return TriggeredOutcomes(tuple(triggers), tuple((s, w) for s, w in weights if w > 0)
                             or ((DeliveryState.DELIVERED, 1.0),))


def server_tls(settings: CommonSettings) -> ssl.SSLContext | None:
    """A server TLS context from ``tls.cert``/``tls.key``, or ``None`` for plain HTTP."""
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


def client_tls(push: PushSettings) -> ssl.SSLContext | bool | None:
    """The TLS setting for pushes to ``https`` targets (see ``PushSettings``)."""
    if not push.verify:
        return False
    if push.ca:
        return ssl.create_default_context(cafile=push.ca)
    return None
