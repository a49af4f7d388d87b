"""MO and DR pushes with retries, through one lean keep-alive HTTP/1.1 client per fake (``http1``).

A push is a value (``Push``); ``Pusher.submit`` sends it at once, or queues it while ``concurrency``
pushes are in flight, and returns without waiting. A push that gets a non-2xx answer or a connection error
is put back in one retry heap (``DlrScheduler`` again: one timer, not one per push) for the next delay of
the ``RetryPolicy``, scaled by ``time_scale``. Every attempt is recorded, bounded; pending pushes are
bounded too (``max_pending``), so a dead customer URL cannot grow memory without end.
Push faults (duplicate MO, dropped or reordered DLR) are checked here, once, in ``submit``.
"""

from __future__ import annotations

import base64
import functools
import json as jsonlib
import re
import ssl as ssllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple
from urllib.parse import quote_plus, urlencode

from fakes.common.clock import Clock
from fakes.common.dlr import DlrScheduler
from fakes.common.faults import FaultHook, FaultKind
from sim.http1.client import Http1Pool

__all__ = ["Attempt", "Push", "PushMethod", "Pusher", "RetryPolicy", "form_value"]

FieldsLike = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed push again.

    Either a fixed ``interval`` for a ``total`` duration (Kaleyra's "MMX default" as an open-source MMX
    router's README reports it, not confirmed: every 60 s for 48 h), or an explicit ``backoff`` list of
    delays, which wins when not empty. ``RetryPolicy(total=0)`` never retries.
    """

    interval: float = 60.0
    total: float = 48 * 3600.0
    backoff: tuple[float, ...] = ()

    def delay(self, failures: int) -> float | None:
        """Seconds to wait after the ``failures``-th failed attempt, or ``None`` to give up."""
        if self.backoff:
            return self.backoff[failures - 1] if failures <= len(self.backoff) else None
        if self.interval <= 0 or failures * self.interval > self.total:
            return None
        return self.interval

    def to_json(self) -> dict[str, Any]:
        """The policy as the health endpoint shows it."""
        if self.backoff:
            return {"backoff": list(self.backoff)}
        return {"interval": self.interval, "total": self.total}


class PushMethod(Enum):
    """``push.method``: how a fake sends its pushes when not in the broker's own format."""

    POST = "POST"  # the fields in a body (a form, or the broker's JSON)
    GET = "GET"  # the fields in the query string, no body (for gateways such as Kannel that read only it)


def _query_of(push: Push) -> str:
    """The push's fields as a query string: a form body as it is, JSON members one by one (strings as
    they are, other values as compact JSON)."""
    if push.content_type.split(";")[0].strip().lower() == "application/json":
        payload = jsonlib.loads(push.body)
        if isinstance(payload, dict):
            pairs = [(str(k), v if isinstance(v, str) else jsonlib.dumps(v, ensure_ascii=False,
                                                                          separators=(",", ":")))
                     for k, v in payload.items() if v is not None]
            return _form(pairs).decode("ascii")
    return push.body.decode("utf-8", "replace")


class Push(NamedTuple):
    """One request a fake makes to a customer URL (an MO, a DR, a callback).

    Attributes:
        kind: ``mo`` or ``dlr`` (push faults match on it); other kinds are never faulted.
        url: the target.
        body: the encoded body (empty for a query-string GET).
        content_type: its content type (empty when there is no body).
        method: ``POST`` unless the broker calls back with ``GET``.
        headers: extra headers, e.g. an API key.
        auth: ``(username, password)`` for HTTP Basic, or ``None``.
        message_id: the message it is about, for the attempt log.
    """

    kind: str
    url: str
    body: bytes = b""
    content_type: str = ""
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[str, str] | None = None
    message_id: str = ""

    @classmethod
    def form(cls, kind: str, url: str, fields: FieldsLike, **kw: Any) -> Push:
        """A form-encoded POST (``application/x-www-form-urlencoded``, UTF-8)."""
        return cls(kind, url, _form(fields), "application/x-www-form-urlencoded", **kw)

    @classmethod
    def json(cls, kind: str, url: str, payload: Any, **kw: Any) -> Push:
        """A JSON POST (``application/json``, UTF-8, no ASCII escaping)."""
        body = jsonlib.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(kind, url, body, "application/json", **kw)

    @classmethod
    def query(cls, kind: str, url: str, fields: FieldsLike, **kw: Any) -> Push:
        """A GET with the fields in the query string."""
        sep = "&" if "?" in url else "?"
        return cls(kind, url + sep + urlencode(list(_pairs(fields))), method="GET", **kw)

    def sent_as(self, method: PushMethod | None) -> Push:
        """This push with its fields where ``method`` puts them (``None``: as the broker builds it).

        GET moves a body's fields to the query string (a form body byte for byte; a JSON object member by
        member); POST moves a GET's query string into a form body.
        """
        if method is None or method.value == self.method:
            return self
        if method is PushMethod.GET:
            query = _query_of(self)
            url = self.url + ("&" if "?" in self.url else "?") + query if query else self.url
            return self._replace(url=url, body=b"", content_type="", method="GET")
        base, _, query = self.url.partition("?")
        return self._replace(url=base, body=query.encode("utf-8"),
                             content_type="application/x-www-form-urlencoded", method="POST")


@functools.lru_cache(maxsize=64)
def _basic(username: str, password: str) -> str:
    """An ``Authorization: Basic`` value (UTF-8 credentials, RFC 7617)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*")


def form_value(text: str) -> str:
    """One name or value of a form body, encoded as ``Push.form`` (and ``urlencode``, UTF-8) encode it."""
    # Most DR/MO fields are plain tokens or E.164 numbers: skip quote_plus for them (the DLR hot path).
    if _UNRESERVED.fullmatch(text):
        return text
    if text[:1] == "+" and text[1:].isascii() and text[1:].isdigit():
        return "%2B" + text[1:]
    return quote_plus(text)


def _form(fields: FieldsLike) -> bytes:
    """``urlencode`` with UTF-8, the same bytes, faster for plain values."""
    return "&".join(f"{form_value(k)}={form_value(v)}" for k, v in _pairs(fields)).encode("ascii")


def _pairs(fields: FieldsLike) -> Iterable[tuple[str, str]]:
    return fields.items() if isinstance(fields, Mapping) else fields


class Attempt(NamedTuple):
    """One try of one push, or the decision not to try.

    Attributes:
        seq: running number of the attempt log.
        kind: the push's kind.
        url: where it went.
        at: when it started, on the fake's clock.
        attempt: 1 for the first try, 2 for the first retry ...
        status: the HTTP status answered, or ``None`` (connection error, or not sent).
        error: the connection error, or why it was not sent; empty on an HTTP answer.
        outcome: ``delivered``, ``retry`` (another attempt is scheduled), ``gave_up`` or ``dropped``.
        message_id: the message it was about.
    """

    seq: int
    kind: str
    url: str
    at: float
    attempt: int
    status: int | None
    error: str
    outcome: str
    message_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """The attempt as ``GET /_smslab/pushes`` lists it."""
        return {"seq": self.seq, "kind": self.kind, "url": self.url, "at": self.at, "attempt": self.attempt,
                "status": self.status, "error": self.error, "outcome": self.outcome,
                "message_id": self.message_id}


@dataclass(slots=True)
class _Job:
    push: Push
    attempt: int = 1


class Pusher:
    """Sends pushes with retries and records every attempt.

    Pushes are sent from callbacks, not tasks: ``submit`` writes a push at once when fewer than
    ``concurrency`` are in flight (else it waits in a queue), and each answer, read by the connection's
    protocol, records the attempt and sends the next queued push. A fake pushes one DLR per MT from the
    loop that serves the MTs, so this path is kept short (``smslab bench fakes``).

    Args:
        clock: the fake's clock (attempt times, retry waits).
        policy: the retry schedule.
        faults: the fake's fault hook (push faults are checked in ``submit``).
        time_scale: multiplies every retry delay (0.001 turns 60 s into 60 ms).
        concurrency: pushes in flight at once (also the connection limit).
        max_pending: pushes queued or waiting for a retry at most; more are dropped and counted.
        attempts_limit: attempts kept in the log (oldest evicted).
        timeout: seconds per attempt before it counts as a connection error.
        ssl: client TLS for ``https`` targets (an ``SSLContext``, ``False`` to skip verification, or
            ``None`` for the default trust store).
        on_error: called with an unexpected exception raised while handling an answer.
    """

    def __init__(self, clock: Clock, policy: RetryPolicy, faults: FaultHook, *, time_scale: float = 1.0,
                 concurrency: int = 16, max_pending: int = 10_000, attempts_limit: int = 10_000,
                 timeout: float = 10.0, ssl: ssllib.SSLContext | bool | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.clock, self.policy, self.faults, self.time_scale = clock, policy, faults, time_scale
        self.concurrency, self.max_pending, self.timeout, self.ssl = concurrency, max_pending, timeout, ssl
        self.on_error = on_error
        self.attempts: deque[Attempt] = deque(maxlen=attempts_limit)
        self.counts = {"submitted": 0, "delivered": 0, "gave_up": 0, "dropped": 0, "overflow": 0,
                       "in_flight": 0}
        self._seq = 0
        self._queue: deque[_Job] = deque()
        self._retries: DlrScheduler[_Job] = DlrScheduler(clock, self._requeue, limit=max_pending,
                                                         on_error=on_error)
        self._pool: Http1Pool | None = None
        self._headers: dict[tuple[Any, ...], dict[str, str]] = {}
        #: Called with each attempt as it is recorded (the lab's event stream and metrics listen here).
        self.listeners: list[Callable[[Attempt], None]] = []

    @property
    def pending(self) -> int:
        """Pushes queued, waiting for a retry, or in flight."""
        return len(self._queue) + len(self._retries.heap) + self.counts["in_flight"]

    def submit(self, push: Push) -> bool:
        """Queue ``push`` (after the push-fault check); ``False`` when dropped by a fault or the bound."""
        self.counts["submitted"] += 1
        fault = self.faults.for_push(push.kind, push.url) if self.faults.armed else None
        if fault is not None and fault.kind is FaultKind.DROP_DLR:
            self._record(_Job(push), None, "not sent: fault drop_dlr", "dropped")
            self.counts["dropped"] += 1
            return False
        if self.pending >= self.max_pending:
            self._record(_Job(push), None, f"not sent: over {self.max_pending} pushes pending", "dropped")
            self.counts["overflow"] += 1
            return False
        if fault is not None and fault.kind is FaultKind.REORDER_DLR:
            self._retries.schedule(fault.delay, _Job(push))  # later DLRs overtake this one
            return True
        self._queue.append(_Job(push))
        if fault is not None and fault.kind is FaultKind.DUPLICATE_MO:
            self._queue.append(_Job(push))  # the same MO, delivered twice (a broker retry race)
        self._pump()
        return True

    async def start(self) -> None:
        """Open the connection pool, start the retry task and send what was queued (on the running loop)."""
        if self._pool is not None:
            return
        self._pool = Http1Pool(self.ssl, idle_per_host=self.concurrency)
        self._retries.start()
        self._pump()

    async def stop(self) -> None:
        """Stop the retry task and close the connections; queued pushes are kept, in-flight ones dropped."""
        await self._retries.stop()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
        self.counts["in_flight"] = 0

    def clear(self) -> None:
        """Forget queued and retrying pushes and the attempt log."""
        self._queue.clear()
        self._retries.clear()
        self.attempts.clear()

    def stats(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        return {**self.counts, "pending": self.pending, "retry": self.policy.to_json(),
                "time_scale": self.time_scale}

    def _requeue(self, job: _Job) -> None:
        self._queue.append(job)
        self._pump()

    def _pump(self) -> None:
        while self._pool is not None and self._queue and self.counts["in_flight"] < self.concurrency:
            self._send(self._queue.popleft())

    def _send(self, job: _Job) -> None:
        assert self._pool is not None
        push, started = job.push, self.clock.now()
        self.counts["in_flight"] += 1

        def done(status: int | None, _: bytes, error: BaseException | None) -> None:
            self._answered(job, started, status, error)

        try:
            self._pool.send(push.method, push.url, self.headers_of(push), push.body, timeout=self.timeout,
                            done=done)
        except ValueError as exc:  # a URL or header the client refuses before sending (http1.ResponseError)
            done(None, b"", exc)

    def headers_of(self, push: Push) -> dict[str, str]:
        """The headers ``push`` is sent with (its own, Basic auth, content type)."""
        # Pushes of one fake share a handful of header sets: build each once (bounded).
        key = (push.headers, push.auth, push.content_type)
        headers = self._headers.get(key)
        if headers is None:
            headers = dict(push.headers)
            if push.auth:
                headers["Authorization"] = _basic(*push.auth)
            if push.content_type:
                headers["Content-Type"] = push.content_type
            if len(self._headers) < 256:
                self._headers[key] = headers
        return headers

    def _answered(self, job: _Job, started: float, status: int | None, error: BaseException | None) -> None:
        self.counts["in_flight"] -= 1
        try:
            self._outcome(job, started, status, "" if error is None else _describe(error))
        except Exception as exc:  # a bug must not silently stop the pushes: keep it for fake.check()
            if self.on_error is None:
                raise
            self.on_error(exc)
        self._pump()

    def _outcome(self, job: _Job, started: float, status: int | None, error: str) -> None:
        if status is not None and 200 <= status < 300:
            self.counts["delivered"] += 1
            self._record(job, status, error, "delivered", started)
            return
        wait = self.policy.delay(job.attempt)
        if wait is None:
            self.counts["gave_up"] += 1
            self._record(job, status, error, "gave_up", started)
            return
        self._record(job, status, error, "retry", started)
        self._retries.schedule(wait * self.time_scale, _Job(job.push, job.attempt + 1))

    def _record(self, job: _Job, status: int | None, error: str, outcome: str,
                at: float | None = None) -> None:
        self._seq += 1
        push = job.push
        attempt = Attempt(self._seq, push.kind, push.url, self.clock.now() if at is None else at, job.attempt,
                          status, error, outcome, push.message_id)
        self.attempts.append(attempt)
        for listener in self.listeners:
            listener(attempt)


def _describe(error: BaseException) -> str:
    """``Type: message`` of a failed attempt (just ``Type`` when the message is empty)."""
    return f"{type(error).__name__}: {error}".rstrip(": ")
