"""MO and DR pushes with retries, through one lean keep-alive HTTP/1.1 client per fake (``http1``).

A push is a value (``Push``); ``Pusher.submit`` queues it and returns at once. ``concurrency`` worker
tasks send queued pushes; a push that gets a non-2xx answer or a connection error is put back in one
retry heap (``DlrScheduler`` again: one task, not one per push) for the next delay of the
``RetryPolicy``, scaled by ``time_scale``. Every attempt is recorded, bounded; pending pushes are
bounded too (``max_pending``), so a dead customer URL cannot grow memory without end.
Push faults (duplicate MO, dropped or reordered DLR) are checked here, once, in ``submit``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json as jsonlib
import re
import ssl as ssllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from fakes.common.clock import Clock
from fakes.common.dlr import DlrScheduler
from fakes.common.faults import FaultHook, FaultKind
from fakes.common.http1 import Http1Pool

__all__ = ["Attempt", "Push", "Pusher", "RetryPolicy"]

FieldsLike = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed push again.

    Either a fixed ``interval`` for a ``total`` duration (Kaleyra's reported "MMX default": every 60 s
    for 48 h, brokers.md §1.4), or an explicit ``backoff`` list of delays, which wins when not empty.
    ``RetryPolicy(total=0)`` never retries.
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


@dataclass(frozen=True)
class Push:
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


def _basic(username: str, password: str) -> str:
    """An ``Authorization: Basic`` value (UTF-8 credentials, RFC 7617)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*")


def _quote(text: str) -> str:
    # Most DR/MO fields are plain tokens: skip quote_plus for them (pushes are on the DLR hot path).
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


def _form(fields: FieldsLike) -> bytes:
    """``urlencode`` with UTF-8, the same bytes, faster for plain values."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in _pairs(fields)).encode("ascii")


def _pairs(fields: FieldsLike) -> Iterable[tuple[str, str]]:
    return fields.items() if isinstance(fields, Mapping) else fields


@dataclass(frozen=True)
class Attempt:
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


@dataclass
class _Job:
    push: Push
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class Pusher:
    """Sends pushes with retries and records every attempt.

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
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._retries: DlrScheduler[_Job] = DlrScheduler(clock, self._queue.put_nowait, limit=max_pending,
                                                         on_error=on_error)
        self._workers: list[asyncio.Task[None]] = []
        self._pool: Http1Pool | None = None

    @property
    def pending(self) -> int:
        """Pushes queued, waiting for a retry, or in flight."""
        return self._queue.qsize() + len(self._retries.heap) + self.counts["in_flight"]

    def submit(self, push: Push) -> bool:
        """Queue ``push`` (after the push-fault check); ``False`` when dropped by a fault or the bound."""
        self.counts["submitted"] += 1
        fault = self.faults.for_push(push.kind, push.url)
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
        self._queue.put_nowait(_Job(push))
        if fault is not None and fault.kind is FaultKind.DUPLICATE_MO:
            self._queue.put_nowait(_Job(push))  # the same MO, delivered twice (a broker retry race)
        return True

    async def start(self) -> None:
        """Open the session and start the workers and the retry task (on the running loop)."""
        if self._pool is not None:
            return
        self._pool = Http1Pool(self.ssl, idle_per_host=self.concurrency)
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work(), name=f"smslab-push-{i}")
                         for i in range(self.concurrency)]
        self._retries.start()

    async def stop(self) -> None:
        """Stop the workers and the retry task, and close the session; queued pushes are kept."""
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        await self._retries.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def clear(self) -> None:
        """Forget queued and retrying pushes and the attempt log."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._retries.clear()
        self.attempts.clear()

    def stats(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        return {**self.counts, "pending": self.pending, "retry": self.policy.to_json(),
                "time_scale": self.time_scale}

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self.counts["in_flight"] += 1
            try:
                await self._attempt(job)
            except Exception as exc:  # a bug must not silently kill a worker: keep it for fake.check()
                if self.on_error is None:
                    raise
                self.on_error(exc)
            finally:
                self.counts["in_flight"] -= 1

    async def _attempt(self, job: _Job) -> None:
        assert self._pool is not None
        push, status, error = job.push, None, ""
        started = self.clock.now()
        headers = dict(push.headers)
        if push.auth:
            headers["Authorization"] = _basic(*push.auth)
        if push.content_type:
            headers["Content-Type"] = push.content_type
        try:
            status, _ = await self._pool.request(push.method, push.url, headers, push.body or b"",
                                                 self.timeout)
        # ValueError covers an answer that is not HTTP/1.1 (http1.ResponseError) or a garbled length.
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) \
                as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
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
        self._retries.schedule(wait * self.time_scale, _Job(push, job.attempt + 1))

    def _record(self, job: _Job, status: int | None, error: str, outcome: str,
                at: float | None = None) -> None:
        self._seq += 1
        push = job.push
        self.attempts.append(Attempt(self._seq, push.kind, push.url, self.clock.now() if at is None else at,
                                     job.attempt, status, error, outcome, push.message_id))
