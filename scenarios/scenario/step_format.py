"""The steps of a scenario: what each does, its fields, and how it is read.

The file as a whole is described in ``scenarios.scenario.scenario_file``, the expectations a ``wait`` step
polls for in ``scenarios.scenario.expect_format``; ``scenarios.scenario.steps`` runs steps against a lab.

Steps (each a mapping with exactly one key):

``mo: {broker, from, to, text}``
    The fake broker pushes that MO to the CIC side, through the proxy (``POST /_smslab/brokers/{b}/mo``).
    The push is asynchronous: follow it with a ``wait``.
``send: {to, text, [from, account, classification, interaction_id]}``
    An agent sends an MT (``POST /_smslab/send``).
``wait: {for: KIND, [timeout, interval], ...the fields of that expectation}``
    Poll until the expectation of that kind (``scenarios.scenario.expect_format``) holds; fail with what
    was last seen when it times out.
    ``timeout`` defaults to the scenario's, ``interval`` to 0.05 s.
``fail: {node: primary|backup, mode: kill|hang|slow|partition}`` and ``restore: {node}``
    A node fault and its end. ``switchover: {}`` asks for a manual switchover.
``clear: {broker}``
    Forget what that fake captured so far (the lab is already reset before each scenario).
``http: {broker, [method, path, headers, auth, body | json | form, expect_status, expect_body_contains]}``
(``broker: control`` is the lab's control API, ``broker: nexus`` its Digital Channels; ``save`` keys may
index lists: ``0.id``)
    A raw request from the client side to the broker's own URL, for input the control API cannot send
    (a malformed MT). ``method`` defaults to POST and ``path`` to ``/``; ``auth: {username, password}``
    adds a Basic ``Authorization`` header; ``body`` is text, ``json`` any value, ``form`` a mapping sent
    url-encoded. ``expect_status`` is the exact status wanted (any 2xx when omitted) and
    ``expect_body_contains`` a substring of the answer. ``save: {NAME: key}`` keeps a field of a JSON
    answer (``key`` may be dotted: ``a.b``) as ``${NAME}``, e.g. an OAuth token for the next request.
``sleep: SECONDS``
    Only when nothing can be waited for; discouraged.

``mo``, ``send``, ``fail``, ``restore``, ``switchover`` and ``clear`` take
``expect_error: {status, contains}``: the step then passes only when the lab refuses it (with that
status, and an error containing that text; either may be omitted), e.g. an access-control denial::

    - send: {to: "+447700900123", text: "hi", classification: Local,
             expect_error: {status: 403, contains: "does not permit"}}
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from scenarios.scenario.expect_format import EXPECT_KINDS, Expectation, NodeCheck, read_expectation
from scenarios.scenario.fields import NODES, one_of, pairs
from sim.core.schema import Problems, Reader

__all__ = [
    "DEFAULT_INTERVAL",
    "STEP_KINDS",
    "ExpectError",
    "HttpStep",
    "Step",
    "WaitStep",
    "read_step",
]

STEP_KINDS = ("mo", "send", "wait", "fail", "restore", "switchover", "clear", "http", "sleep")
DEFAULT_INTERVAL = 0.05
MODES = ("kill", "hang", "slow", "partition", "crash-on-mo")


def _quote(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True, kw_only=True)
class ExpectError:
    """A step that must be refused: with ``status`` (any 4xx/5xx when ``None``), its error containing
    ``contains``."""

    status: int | None = None
    contains: str = ""

    def describe(self) -> str:
        """``refused with 403 containing 'access'``."""
        text = f"refused with {self.status or 'an error'}"
        return text + (f" containing {self.contains!r}" if self.contains else "")


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step: its ``kind`` (``mo``, ``send``, ...), its path in the file, and its fields in ``args``.

    ``mo``, ``send``, ``fail``, ``restore``, ``switchover``, ``clear`` and ``sleep`` are plain steps whose
    fields (already validated) are in ``args``; ``wait`` and ``http`` have their own classes.
    """

    kind: str
    path: str
    args: tuple[tuple[str, Any], ...] = ()
    expect_error: ExpectError | None = None

    def arg(self, name: str, default: Any = "") -> Any:
        """The value of field ``name``."""
        return dict(self.args).get(name, default)

    def saves(self) -> tuple[str, ...]:
        """The variable names this step saves."""
        return ()

    def describe(self) -> str:
        """A one-line account of the step, as the reports show it."""
        fields = " ".join(f"{k}={_quote(v)}" for k, v in self.args if v not in ("", None))
        text = f"{self.kind} {fields}".strip()
        return text + (f" (expect {self.expect_error.describe()})" if self.expect_error else "")


@dataclass(frozen=True, kw_only=True)
class WaitStep(Step):
    """Poll until ``check`` holds, for at most ``timeout`` seconds."""

    check: Expectation
    timeout: float
    interval: float = DEFAULT_INTERVAL

    def saves(self) -> tuple[str, ...]:
        """What the awaited expectation saves."""
        return self.check.saves()

    def describe(self) -> str:
        """``wait up to 5s for: exactly 1 interaction ...``."""
        return f"wait up to {self.timeout:g}s for {self.check.describe()}"


@dataclass(frozen=True, kw_only=True)
class HttpStep(Step):
    """A raw request to a broker's own URL; passes when the status and answer are as expected."""

    broker: str
    method: str = "POST"
    target: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    expect_status: int | None = None
    expect_body_contains: str = ""
    save: tuple[tuple[str, str], ...] = ()  # variable -> dotted key of the JSON answer

    def saves(self) -> tuple[str, ...]:
        """The variables taken from the answer."""
        return tuple(name for name, _ in self.save)

    def describe(self) -> str:
        """``http POST kaleyra /path -> 401 containing '...'``."""
        want = str(self.expect_status) if self.expect_status else "2xx"
        if self.expect_body_contains:
            want += f" containing {self.expect_body_contains!r}"
        return f"http {self.method} {self.broker} {self.target} -> {want}"


# -- reading ----------------------------------------------------------------------------------------


def _expect_error(r: Reader) -> ExpectError | None:
    if not r.has("expect_error"):
        return None
    e = r.child("expect_error")
    status = e.integer("status", minimum=400, maximum=599) if e.has("status") else None
    out = ExpectError(status=status, contains=e.text("contains", ""))
    e.done()
    return out


def _plain(kind: str, r: Reader, names: dict[str, bool]) -> Step:
    """A step whose fields are texts (``names``: field -> required)."""
    args = [(name, r.text(name, allow_empty=False) if required else r.text(name, ""))
            for name, required in names.items()]
    return Step(kind=kind, path=r.path, args=tuple(args), expect_error=_expect_error(r))


def _read_http(r: Reader) -> HttpStep:
    headers = list(pairs(r, "headers"))
    if r.has("auth"):
        a = r.child("auth")
        token = base64.b64encode(f"{a.text('username')}:{a.text('password')}".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
        a.done()
    given = [k for k in ("body", "json", "form") if r.has(k)]
    if len(given) > 1:
        r.problem(given[1], r.raw(given[1]), f"must not be given with '{given[0]}' (one body only)")
    body, ctype = "", ""
    if "body" in given:
        body = r.text("body")
    elif "json" in given:
        body, ctype = json.dumps(r.raw("json"), ensure_ascii=False), "application/json"
    elif "form" in given:
        body, ctype = urllib.parse.urlencode(r.mapping("form")), "application/x-www-form-urlencoded"
    if ctype and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", ctype))
    return HttpStep(
        kind="http", path=r.path, broker=r.text("broker", allow_empty=False),
        method=r.text("method", "POST", pattern=r"[A-Z]+"), target=r.text("path", "/", pattern=r"/\S*"),
        headers=tuple(headers), body=body,
        expect_status=(r.integer("expect_status", minimum=100, maximum=599)
                       if r.has("expect_status") else None),
        expect_body_contains=r.text("expect_body_contains", ""), save=pairs(r, "save"))


def read_step(kind: str, body: Any, path: str, problems: Problems, timeout: float) -> Step:
    """Read one step's body (its kind already known); problems are recorded on ``problems``."""
    if kind == "sleep":
        if isinstance(body, bool) or not isinstance(body, (int, float)) or body < 0:
            problems.add(path, body, "must be a number of seconds, at least 0")
            body = 0
        return Step(kind="sleep", path=path, args=(("seconds", float(body)),))
    r = Reader(body, path, problems)
    step: Step
    if kind == "wait":
        check_kind = one_of(r, "for", EXPECT_KINDS)
        wait_for, wait_interval = r.number("timeout", timeout, minimum=0.0), r.number(
            "interval", DEFAULT_INTERVAL, minimum=0.001)
        if check_kind in EXPECT_KINDS:
            check = read_expectation(check_kind, r)
            r.done()
        else:  # 'for' is missing or unknown (already a problem): its other fields cannot be judged
            check = NodeCheck(path=path, name="", role="")
        return WaitStep(kind="wait", path=path, timeout=wait_for, interval=wait_interval, check=check)
    if kind == "http":
        step = _read_http(r)
    elif kind == "mo":
        step = _plain(kind, r, {"broker": True, "from": True, "to": True, "text": True})
    elif kind == "send":
        step = _plain(kind, r, {"to": True, "text": True, "from": False, "account": False,
                                "classification": False, "interaction_id": False})
    elif kind in ("fail", "restore"):
        node = one_of(r, "node", NODES)
        args = [("node", node)] + ([("mode", one_of(r, "mode", MODES))] if kind == "fail" else [])
        step = Step(kind=kind, path=path, args=tuple(args), expect_error=_expect_error(r))
    elif kind == "clear":
        step = _plain(kind, r, {"broker": True})
    else:  # switchover
        step = Step(kind=kind, path=path, expect_error=_expect_error(r))
    r.done()
    return step
