"""What every locustfile shares, inside the Locust processes: the plan, the MO log, DLR timing, the fault.

Imported by the locustfiles only, so only by Locust's own processes (``smslab load`` never imports
Locust: gevent patches the interpreter it is imported into).

- **The logs.** Every MO a user pushes is written, as it is answered, to this process's ``mo-<pid>.tsv``
  (message id, broker, start and end on the epoch clock, HTTP status; 0 for no answer), and every agent
  send to ``mt-<pid>.tsv`` (with the MT requests the brokers accepted). Locust's own statistics count
  answers; the logs say *which* MOs were acknowledged and how many MTs each send made, so the harness can
  prove each MO stored exactly once and each MT captured by its fake, and when each failed request of a
  switchover gap was made.
- **DLR timing** (``DlrWatch``). Each worker (or the one local runner) reads the lab's event stream
  (``GET /_smslab/events?kinds=delivery``) from the test's start. A user that sent an MT registers the
  broker's message ids and the send's start time; when a delivery event for one of them arrives, a request
  of type ``DLR`` named after the broker is fired into Locust's statistics (``DLR kaleyra``), its time the
  event's own ``received_at`` (the node's clock when the DR arrived) minus the send's start: the real
  arrival, not when this greenlet read it. The stream is connected before any user starts, so no early DR
  is missed; a DR read before its send's answer is kept until the send registers it (bounded).
- **The fault** (``--fail-at S --fail-mode kill|hang``). On the master (or the local runner), a greenlet
  waits S seconds from the test's start, fails the node that is active then through the control API, and
  writes what it did and when to ``fault.json``. The users keep their pace: the load is held through the
  switchover.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Any, TextIO

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.locustfiles.plan import BrokerPlan, Plan
from loadtests.locustfiles.traffic import Traffic, definition, mo_push

__all__ = ["PLAN", "DlrWatch", "RunLog", "mo_log", "mt_log", "next_id", "push_mo", "send_mt", "watch"]

PLAN = Plan.from_env()
EARLY_LIMIT = 50_000  # delivery events kept while their sends' answers are awaited (other workers' too)
_counter = iter(range(1, 1 << 62))


def next_id() -> str:
    """A message id no other MO of this run has: the run's tag, this process, a running number."""
    return f"{PLAN.tag}-{os.getpid():x}-{next(_counter):x}"


class RunLog:
    """One of this process's logs: ``<kind>-<pid>.tsv``, one tab-separated line per request answered (or
    failed): the MO log (message id, broker, start, end, status) and the MT log (correlation, broker, start,
    end, status, MT requests the brokers accepted)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._file: TextIO | None = None

    def record(self, key: str, broker: str, start: float, end: float, status: int, *more: object) -> None:
        """Write one request: its key, broker, start and end (epoch seconds), HTTP status (0: no answer)."""
        if self._file is None:  # opened on first use: with --processes, Locust forks after the import
            folder = Path(PLAN.out_dir)
            folder.mkdir(parents=True, exist_ok=True)  # a worker on another host writes its own copy
            self._file = (folder / f"{self.kind}-{os.getpid()}.tsv").open("a", encoding="utf-8")
        tail = "".join(f"\t{m}" for m in more)
        self._file.write(f"{key}\t{broker}\t{start:.6f}\t{end:.6f}\t{status}{tail}\n")

    def close(self) -> None:
        """Flush and close the file (at the end of the test)."""
        if self._file is not None:
            self._file.close()
            self._file = None


class DlrWatch:
    """Times each MT's DLR from the lab's delivery events; one per Locust process that runs users."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        # Keyed by (broker, message id): a broker's ids are its own, and two fakes may make the same one.
        self.pending: dict[tuple[str, str], float] = {}
        self.early: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.matched = 0
        self.registered = 0
        self.lagged = 0
        self.environment: Environment | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._stream: Any = None

    def start(self, environment: Environment) -> None:
        """Subscribe now (before any user sends), then read the stream in a greenlet."""
        self.environment = environment
        url = f"{self.plan.control_url}/_smslab/events?kinds=delivery"
        self._stream = urllib.request.urlopen(url, timeout=None)
        self._greenlet = gevent.spawn(self._read)

    def sent(self, broker: str, message_ids: list[str], started: float) -> None:
        """A send's answer named these broker message ids; its DLRs are timed from ``started``."""
        for message_id in message_ids:
            self.registered += 1
            early = self.early.pop((broker, message_id), None)
            if early is None:
                self.pending[broker, message_id] = started
            else:
                self._fire(broker, started, early)

    def _read(self) -> None:
        event = ""
        for raw in self._stream:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "delivery":
                self._delivered(json.loads(line[6:]))
            elif line.startswith("data: ") and event == "lagged":
                self.lagged += int(json.loads(line[6:]).get("dropped", 0))

    def _delivered(self, data: dict[str, Any]) -> None:
        key = (str(data["broker"]), str(data["message_id"]))
        started = self.pending.pop(key, None)
        if started is not None:
            self._fire(key[0], started, data)
            return
        self.early[key] = data
        while len(self.early) > EARLY_LIMIT:
            self.early.popitem(last=False)

    def _fire(self, broker: str, started: float, data: dict[str, Any]) -> None:
        self.matched += 1
        assert self.environment is not None
        failed = None if data["state"] == "delivered" else RuntimeError(f"DLR state {data['state']}")
        self.environment.events.request.fire(
            request_type="DLR", name=broker, response_length=0, exception=failed, context={},
            response_time=max(0.0, float(data["received_at"]) - started) * 1000)

    def stop(self) -> None:
        """Stop reading and write this process's tally: MTs registered, DLRs timed, still awaited, lost to
        the stream's lag, and delivery events no send of this process claimed (with several workers each
        reads every event, so another worker's DLRs are unclaimed here)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)  # out of its read before the stream is closed
        if self._stream is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self._stream.close()
        Path(self.plan.out_dir).mkdir(parents=True, exist_ok=True)
        tally = {"matched": self.matched, "pending": len(self.pending), "lagged": self.lagged,
                 "registered": self.registered, "unclaimed": len(self.early)}
        (Path(self.plan.out_dir) / f"dlr-{os.getpid()}.json").write_text(json.dumps(tally), encoding="utf-8")


# Faker's providers and the brokers' definitions are loaded now, while Locust imports the locustfile, not in
# the first users' on_start: that would block the process (gevent) for a good part of a short run.
Traffic(0)
for _broker in PLAN.brokers:
    if _broker.wire != "portico":
        definition(_broker.wire)

mo_log = RunLog("mo")
mt_log = RunLog("mt")
watch = DlrWatch(PLAN)


def push_mo(user: Any, broker: BrokerPlan, sender: str, text: str) -> bool:
    """One MO from ``sender``, pushed as ``broker`` pushes it, as a Locust request named ``MO <broker>``;
    logged with its message id. Returns whether it was acknowledged (2xx)."""
    message_id = next_id()
    push = mo_push(broker, sender, text, message_id)
    start = time.time()
    with user.client.request(push.method, push.url, data=push.body, headers=push.headers,
                             name=f"MO {broker.name}", catch_response=True) as resp:
        status = resp.status_code or 0
        if not 200 <= status < 300:
            resp.failure(f"HTTP {status}")
    mo_log.record(message_id, broker.name, start, time.time(), status)
    return 200 <= status < 300


def send_mt(user: Any, to: str, text: str, classification: str, name: str = "send") -> dict[str, Any] | None:
    """An agent's MT through the control API (``POST /_smslab/send``), as a Locust request named ``name``;
    its accepted MTs are logged and their DLRs timed. Returns the node's answer (``None`` when refused)."""
    body = {"to": to, "text": text, "classification": classification, "from": "loadtest"}
    start = time.time()
    answer: dict[str, Any] | None = None
    with user.client.post(f"{PLAN.control_url}/_smslab/send", json=body, name=name,
                          catch_response=True) as resp:
        status = resp.status_code or 0
        if 200 <= status < 300:
            answer = resp.json()
        else:
            resp.failure(f"HTTP {status}")
    accepted = [r for r in (answer or {}).get("requests", ()) if r.get("accepted")]
    broker = accepted[0]["broker"] if accepted else ""
    correlation = str((answer or {}).get("correlation", ""))
    mt_log.record(correlation, broker, start, time.time(), status, len(accepted))
    if PLAN.dlr_brokers:
        for request in accepted:
            watch.sent(str(request["broker"]), list(request["message_ids"]), start)
    return answer


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(PLAN.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def _fail_active() -> None:
    """Fail the node active now, through the control API, and write when and which to ``fault.json``."""
    at = time.time()
    active = _call("GET", "/_smslab/health")["switchover"]["active"]
    _call("POST", f"/_smslab/nodes/{active}/fail", {"mode": PLAN.fail_mode})
    record = {"at": at, "node": active, "mode": PLAN.fail_mode}
    (Path(PLAN.out_dir) / "fault.json").write_text(json.dumps(record), encoding="utf-8")


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) and PLAN.fail_at is not None:
        gevent.spawn_later(PLAN.fail_at, _fail_active)
    if not isinstance(runner, MasterRunner) and PLAN.dlr_brokers:
        watch.start(environment)


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    mo_log.close()
    mt_log.close()
    if not isinstance(environment.runner, MasterRunner) and PLAN.dlr_brokers:
        watch.stop()
