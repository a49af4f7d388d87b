"""What every fake broker shares: capture, time, DLR scheduling, faults, pushes, settings, the shell.

Building a fake (the shape of moto and LocalStack: model, request handling and routes kept apart)::

    from fakes.common import FakeBroker, CommonSettings, InputError, read_common

    class MyFake(FakeBroker):
        kind = "my-broker"
        def wire_routes(self) -> list[web.AbstractRouteDef]: ...       # the broker's own routes
        def error_response(self, error: InputError) -> web.StreamResponse: ...   # its error format
        async def inject_mo(self, mo: MoRequest) -> Captured: ...     # optional: POST /_smslab/mo
        def deliver_dlr(self, item) -> None: ...                        # optional: a DLR fell due

    def create(name: str, settings_mapping: Mapping[str, Any], path: str) -> FakeBroker:
        r = Reader(settings_mapping, path)          # path is e.g. "fakes.k1"
        common = read_common(r, retry=RetryPolicy(interval=60, total=48 * 3600), dlr_delay=1.0)
        ...  # read the broker's own keys from r
        r.done("kind"); r.raise_if_problems()       # every problem at once, each with its path
        return MyFake(name, common, ...)            # FakeBroker.__init__(name, settings, *, clock, rng)

**The factory signature** (``fakes.registry`` imports it by dotted path for each kind):
``create(name: str, settings_mapping: Mapping[str, Any], path: str) -> FakeBroker``; it raises
``ConfigError`` for bad settings. ``fakes.registry.create(kind, name, mapping, path)`` dispatches.

**FakeBroker** (``fake.py``) holds ``name``, ``settings`` (``CommonSettings``), ``clock``, ``rng``
(``random.Random(settings.seed)``), ``capture`` (``CaptureStore``), ``faults`` (``FaultHook``),
``scheduler`` (``DlrScheduler`` calling ``deliver_dlr``), ``pusher`` (``Pusher``), ``errors``, ``url``.
Methods: ``app() -> web.Application`` (for ``aiohttp_client``, no sockets; starts/stops the scheduler and
pusher with the app), ``await start(host="127.0.0.1", port=0, ssl=None) -> url`` (real port read back),
``await stop()``, ``push(Push) -> bool`` (the one way to push), ``mo_target(mo) -> url``,
``record_error(exc)``, ``check()`` (re-raises an error raised inside the fake), ``health() -> dict``,
``reset()``, ``error_response_for(request, error)`` (override to pick a format by path; defaults to
``error_response``), ``throttle_response(fault, request=None)`` (overridable). Handlers raise
``InputError`` (or ``WireError``) and the base turns it into ``error_response_for(request, error)`` in one
middleware; aiohttp's own 404/405/413 become
``WireError`` with ``reason`` NOT_FOUND/METHOD/TOO_LARGE first. Unexpected exceptions are recorded
(``check``) and answered through ``error_response(InputError(..., 500))``.

**Inspection API** (``inspect.py``) on every fake: ``GET/DELETE /_smslab/messages``, ``POST /_smslab/mo``
(JSON ``{"from","to","text"}`` + optional ``url`` + broker extras -> ``MoRequest`` -> ``inject_mo``;
answers 202 with the captured record), ``GET/PUT/POST/DELETE /_smslab/faults``, ``GET /_smslab/pushes``,
``GET /_smslab/health``. Errors there are JSON ``{"error", "problems"}``.

**Capture** (``capture.py``): ``CaptureStore(broker, limit).add(kind, at, *, sender, recipient, text,
message_id, fields, status, state) -> Captured``; ``query(kind, to, from_, since, until, limit,
message_id)``; ``clear()``; ``stats()``. ``Captured(seq, kind, at, broker, sender, recipient, text,
message_id, fields, status, state).to_json()`` (JSON names ``from``/``to``). Capture an MT only once it
is accepted, so a refused request stores nothing.

**Time** (``clock.py``): ``Clock`` protocol (``now()``, ``async sleep(s)``,
``call_later(s, callback)``); ``RealClock``;
``ManualClock(start)`` with ``await advance(seconds)``.

**DLRs** (``dlr.py``): ``OutcomeModel.choose(recipient, rng) -> DeliveryState`` and
``DelayModel.draw(rng) -> float`` protocols (the carrier model's seams); ``TriggeredOutcomes(triggers,
weights)``, ``FixedDelay``, ``UniformDelay``, ``ExponentialDelay``, ``LogNormalDelay``;
``DlrPlanner(outcomes, delays, time_scale).plan(recipient, rng) -> (state, delay)`` (in
``settings.dlr``); ``DlrScheduler(clock, deliver, limit).schedule(delay, item) -> bool`` (one timer, a
heap); ``TimerHeap``.

**Faults** (``faults.py``): ``Fault(kind, count, path, probability, delay, status, body, content_type,
retry_after)``; ``FaultKind``: latency, error, hang, reset, malformed, throttle (request faults, applied
by the middleware to wire routes only) and duplicate_mo, drop_dlr, reorder_dlr (push faults, applied in
``Pusher.submit`` to pushes of kind ``mo``/``dlr``); ``FaultHook.set/add/clear/active/for_request/for_push``;
``read_fault(reader)``, ``read_faults(data, path)``.

**Pushes** (``push.py``): ``Push(kind, url, body, content_type, method, headers, auth, message_id)``
with ``Push.form(kind, url, fields, auth=..., headers=..., message_id=...)``, ``Push.json(...)``,
``Push.query(...)`` (GET); ``RetryPolicy(interval, total, backoff).delay(failures)``; ``Pusher`` (one
lean keep-alive ``http1.Http1Pool``, pushes sent from callbacks; ``submit``, ``attempts``, ``stats``);
``Attempt(seq, kind, url, at, attempt, status,
error, outcome, message_id)``; success is any 2xx, anything else or a connection error is retried.

**Wire helpers** (``wire.py``): ``params(request)`` (query then form, strict UTF-8), ``query_fields``,
``form_fields``, ``text_body(request, *media_types)``, ``json_body``, ``read_body`` (413 as WireError),
``basic_credentials``, ``check_basic`` (constant time); ``WireError(message, reason, field, status)``
with ``WireReason`` so each broker maps reasons to its own codes.

**Settings** (``settings.py``): ``read_common(reader, *, retry=None, dlr_delay=1.0) -> CommonSettings``
(keys and defaults in that module's docstring); ``server_tls(settings)``, ``client_tls(push_settings)``.

API settled
"""

from fakes.common.capture import DEFAULT_CAPTURE_LIMIT, KINDS, Captured, CaptureStore
from fakes.common.clock import Clock, ManualClock, RealClock
from fakes.common.dlr import (
    FINAL_STATES,
    DelayModel,
    DlrPlanner,
    DlrScheduler,
    ExponentialDelay,
    FixedDelay,
    LogNormalDelay,
    OutcomeModel,
    TimerHeap,
    TriggeredOutcomes,
    UniformDelay,
)
from fakes.common.fake import INSPECT_PREFIX, FakeBroker
from fakes.common.faults import Fault, FaultHook, FaultKind, read_fault, read_faults
from fakes.common.inspect import MoRequest, json_response
from fakes.common.push import Attempt, Push, Pusher, RetryPolicy
from fakes.common.settings import CommonSettings, PushSettings, client_tls, read_common, server_tls
from fakes.common.wire import (
    FORM,
    JSON,
    WireError,
    WireReason,
    basic_credentials,
    check_basic,
    form_fields,
    json_body,
    params,
    query_fields,
    read_body,
    text_body,
)
from sim.core.errors import ConfigError, InputError

__all__ = [
    "DEFAULT_CAPTURE_LIMIT", "FINAL_STATES", "FORM", "INSPECT_PREFIX", "JSON", "KINDS", "Attempt",
    "CaptureStore", "Captured", "Clock", "CommonSettings", "ConfigError", "DelayModel", "DlrPlanner",
    "DlrScheduler", "ExponentialDelay", "FakeBroker", "Fault", "FaultHook", "FaultKind", "FixedDelay",
    "InputError", "LogNormalDelay", "ManualClock", "MoRequest", "OutcomeModel", "Push", "PushSettings",
    "Pusher", "RealClock", "RetryPolicy", "TimerHeap", "TriggeredOutcomes", "UniformDelay", "WireError",
    "WireReason", "basic_credentials", "check_basic", "client_tls", "form_fields", "json_body",
    "json_response", "params", "query_fields", "read_body", "read_common", "read_fault", "read_faults",
    "server_tls", "text_body",
]
