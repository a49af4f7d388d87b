"""The scenario format: what a user writes to drive a lab and check what came out.

A scenario file is YAML holding one scenario (a mapping) or several (a list of mappings). Each scenario::

    name: kaleyra MO creates a Queue interaction     # required, unique within a run
    description: free text, shown in the reports      # optional
    config: labs/no-routes.yaml                       # optional: the lab this scenario needs, relative to
                                                      #   this file (default: the lab `smslab run` starts)
    timeout: 10                                       # optional: default seconds for `wait` steps (10)
    steps:                                            # what to do, in order; the first failure stops them
      - mo: {broker: kaleyra, from: "+13175550101", to: "8005550100", text: "hello"}
      - wait: {for: interactions, where: {customer: "+13175550101"}, count: 1, save: conv}
      - send: {to: "+13175550101", text: "hi back", interaction_id: "${conv}"}
      - wait: {for: dlr, broker: kaleyra, state: delivered, timeout: 5}
    expect:                                           # checked once every step has passed; all are run
      - messages: {broker: kaleyra, kind: mt, to: "13175550101", text: "hi back", count: 1}
      - interactions: {where: {customer: "+13175550101"}, count: 1,
                       destination: {kind: Queue, name: Indianapolis Support},
                       transcript: ["hello", {out: "hi back"}]}

Steps (each a mapping with exactly one key):

``mo: {broker, from, to, text}``
    The fake broker pushes that MO to the CIC side, through the proxy (``POST /_smslab/brokers/{b}/mo``).
    The push is asynchronous: follow it with a ``wait``.
``send: {to, text, [from, account, classification, interaction_id]}``
    An agent sends an MT (``POST /_smslab/send``).
``wait: {for: KIND, [timeout, interval], ...the fields of that expectation}``
    Poll until the expectation of that kind (below) holds; fail with what was last seen when it times out.
    ``timeout`` defaults to the scenario's, ``interval`` to 0.05 s.
``fail: {node: primary|backup, mode: kill|hang|slow|partition}`` and ``restore: {node}``
    A node fault and its end. ``switchover: {}`` asks for a manual switchover.
``clear: {broker}``
    Forget what that fake captured so far (the lab is already reset before each scenario).
``http: {broker, [method, path, headers, auth, body | json | form, expect_status, expect_body_contains]}``
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

Expectations (each a mapping with exactly one key; also the ``for`` kinds of ``wait``). Every field but
``count``/``at_least``, ``texts`` and ``save`` selects; the count is then checked on what was selected
(exactly ``count``, or at least ``at_least``, or at least 1 when neither is given):

``messages: {broker, [kind: mt|mo|dlr, from, to, text, text_contains, state, status, fields: {name: value}],
[count | at_least], [texts: [...]]}``
    What the fake captured. ``fields`` compares the wire fields by their text. ``texts`` checks the texts
    of the selected messages, in order (e.g. the parts of a split MT).
``dlr: {broker, [state, to, ...as messages]}``
    Shorthand for ``messages`` with ``kind: dlr``.
``interactions: {[where: {id, customer, local, broker, state}], [destination: KIND | {kind, name}],
[transcript: [...]], [count | at_least], [save: NAME]}``
    The interactions on the active node. ``transcript`` lists the texts in order; an item may be
    ``{in: text}`` or ``{out: text}`` to check the direction too. ``save`` remembers the id of the first
    selected interaction as ``NAME``; later steps and expectations use it as ``${NAME}`` in any text.
``node: {name: primary|backup, role: active|backup|down}``
    A node's role, from ``GET /_smslab/health``.

Every problem in a file is reported at once with its path (``steps[2].send.to``), the value and the
reason; unknown keys are problems too (a misspelt field should not pass silently).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.core.errors import ConfigError
from sim.core.routing import DestinationKind
from sim.core.schema import Problems, Reader
from sim.labfile import read_yaml

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXPECT_KINDS",
    "STEP_KINDS",
    "Count",
    "ExpectError",
    "Expectation",
    "HttpStep",
    "InteractionsCheck",
    "MessagesCheck",
    "NodeCheck",
    "Scenario",
    "Step",
    "WaitStep",
    "load_scenarios",
    "parse_scenarios",
    "variables_in",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.05
STEP_KINDS = ("mo", "send", "wait", "fail", "restore", "switchover", "clear", "http", "sleep")
EXPECT_KINDS = ("messages", "dlr", "interactions", "node")
NODES = ("primary", "backup")
MODES = ("kill", "hang", "slow", "partition", "crash-on-mo")
ROLES = ("active", "backup", "down")
MESSAGE_KINDS = ("mt", "mo", "dlr")
WHERE_KEYS = ("id", "customer", "local", "broker", "state")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _quote(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


# -- steps ------------------------------------------------------------------------------------------


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


# -- expectations -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Count:
    """How many selected items are wanted: exactly ``exact``, or at least ``at_least``."""

    exact: int | None = None
    at_least: int = 1

    def holds(self, n: int) -> bool:
        """Whether ``n`` items satisfy the count."""
        return n == self.exact if self.exact is not None else n >= self.at_least

    def describe(self, noun: str) -> str:
        """``exactly 2 messages``, ``at least 1 message``, ``no message``."""
        if self.exact == 0:
            return f"no {noun}"
        n = self.exact if self.exact is not None else self.at_least
        return f"{'exactly' if self.exact is not None else 'at least'} {n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """Base of the expectation kinds; ``path`` is where it stands in the file."""

    path: str

    def saves(self) -> tuple[str, ...]:
        """The variable names this expectation saves."""
        return ()

    def describe(self) -> str:  # pragma: no cover - every kind overrides it
        """What is expected, in words."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class MessagesCheck(Expectation):
    """Captured messages of one fake: ``filters`` select (``kind``, ``from``, ``to``, ``text``,
    ``text_contains``, ``state``, ``status``), ``fields`` select by wire field, ``count`` and ``texts``
    check."""

    broker: str
    filters: tuple[tuple[str, str], ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    count: Count = field(default_factory=Count)
    texts: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        """The message kind selected (``""`` for any)."""
        return dict(self.filters).get("kind", "")

    def selection(self) -> str:
        """``with to='1317...', text='hi'`` (empty when nothing but broker and kind selects)."""
        parts = [f"{k}={v!r}" for k, v in self.filters if k != "kind"]
        parts += [f"{k}={v!r}" for k, v in self.fields]
        return f" with {', '.join(parts)}" if parts else ""

    def describe(self) -> str:
        """``exactly 1 kaleyra mt message with to='13175550101'``."""
        noun = f"{self.broker} {self.kind + ' ' if self.kind else ''}message"
        text = self.count.describe(noun) + self.selection()
        return text + (f", texts {list(self.texts)!r}" if self.texts is not None else "")


@dataclass(frozen=True, kw_only=True)
class InteractionsCheck(Expectation):
    """Interactions on the active node, selected by ``where``, ``destination`` and ``transcript``."""

    where: tuple[tuple[str, str], ...] = ()
    destination: tuple[str, str] | None = None  # (kind, name); name "" matches any name
    transcript: tuple[tuple[str, str], ...] | None = None  # (direction "in"/"out"/"", text)
    count: Count = field(default_factory=Count)
    save: str = ""

    def saves(self) -> tuple[str, ...]:
        """The ``save`` name, if any."""
        return (self.save,) if self.save else ()

    def describe(self) -> str:
        """``exactly 1 interaction with customer='+1317...', destination=Queue 'X', transcript=[...]``."""
        parts = [f"{k}={v!r}" for k, v in self.where]
        if self.destination is not None:
            kind, name = self.destination
            parts.append(f"destination={kind}" + (f" {name!r}" if name else ""))
        if self.transcript is not None:
            parts.append(f"transcript={[_entry(d, t) for d, t in self.transcript]!r}")
        return self.count.describe("interaction") + (f" with {', '.join(parts)}" if parts else "")


def _entry(direction: str, text: str) -> str | dict[str, str]:
    return {direction: text} if direction else text


@dataclass(frozen=True, kw_only=True)
class NodeCheck(Expectation):
    """A node's role."""

    name: str
    role: str

    def describe(self) -> str:
        """``node backup active``."""
        return f"node {self.name} {self.role}"


@dataclass(frozen=True)
class Scenario:
    """One validated scenario.

    Attributes:
        name: its name, unique within a file.
        steps: what to do, in order.
        expectations: what must hold once every step passed.
        description: free text.
        config: the absolute path of the lab file it needs, or ``""`` for the run's lab.
        source: the file it came from, with its index when the file holds a list (``a.yaml[2]``).
        timeout: the default timeout of its ``wait`` steps, in seconds.
    """

    name: str
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...]
    description: str = ""
    config: str = ""
    source: str = ""
    timeout: float = DEFAULT_TIMEOUT


# -- reading ----------------------------------------------------------------------------------------


def variables_in(value: Any) -> list[str]:
    """The ``${NAME}`` references in a value (strings, and inside nested mappings and lists)."""
    if isinstance(value, str):
        return _VARIABLE.findall(value)
    if isinstance(value, dict):
        return [n for v in value.values() for n in variables_in(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in variables_in(v)]
    return []


def _one_of(r: Reader, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = r.text(key, default) if default is not None else r.text(key, allow_empty=False)
    if value and value not in allowed:
        r.problem(key, value, f"must be one of {', '.join(allowed)}")
    return value


def _expect_error(r: Reader) -> ExpectError | None:
    if not r.has("expect_error"):
        return None
    e = r.child("expect_error")
    status = e.integer("status", minimum=400, maximum=599) if e.has("status") else None
    out = ExpectError(status=status, contains=e.text("contains", ""))
    e.done()
    return out


def _count(r: Reader) -> Count:
    if r.has("count") and r.has("at_least"):
        r.problem("at_least", r.raw("at_least"), "must not be given with 'count' (choose one)")
    if r.has("count"):
        return Count(exact=r.integer("count", minimum=0))
    return Count(at_least=r.integer("at_least", 1, minimum=0))


def _pairs(r: Reader, key: str, allowed: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    found = r.mapping(key, {})
    for name in found:
        if allowed is not None and name not in allowed:
            r.problems.add(f"{r.at(key)}.{name}", found[name], f"is not a known field ({', '.join(allowed)})")
    return tuple((k, v) for k, v in found.items() if allowed is None or k in allowed)


def _plain(kind: str, r: Reader, names: dict[str, bool]) -> Step:
    """A step whose fields are texts (``names``: field -> required)."""
    args = [(name, r.text(name, allow_empty=False) if required else r.text(name, ""))
            for name, required in names.items()]
    return Step(kind=kind, path=r.path, args=tuple(args), expect_error=_expect_error(r))


def _read_http(r: Reader) -> HttpStep:
    headers = list(_pairs(r, "headers"))
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
        expect_body_contains=r.text("expect_body_contains", ""), save=_pairs(r, "save"))


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
        check_kind = _one_of(r, "for", EXPECT_KINDS)
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
        node = _one_of(r, "node", NODES)
        args = [("node", node)] + ([("mode", _one_of(r, "mode", MODES))] if kind == "fail" else [])
        step = Step(kind=kind, path=path, args=tuple(args), expect_error=_expect_error(r))
    elif kind == "clear":
        step = _plain(kind, r, {"broker": True})
    else:  # switchover
        step = Step(kind=kind, path=path, expect_error=_expect_error(r))
    r.done()
    return step


def _transcript(r: Reader) -> tuple[tuple[str, str], ...] | None:
    if not r.has("transcript"):
        return None
    out = []
    for path, item in r.items("transcript"):
        if isinstance(item, str):
            out.append(("", item))
        elif isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("in", "out"):
            direction, text = next(iter(item.items()))
            out.append((direction, str(text)))
        else:
            r.problems.add(path, item, "must be a text, or {in: text} or {out: text}")
    return tuple(out)


def _destination(r: Reader) -> tuple[str, str] | None:
    if not r.has("destination"):
        return None
    raw = r.raw("destination")
    d = Reader({"kind": raw} if isinstance(raw, str) else raw, r.at("destination"), r.problems)
    kind = d.choice("kind", DestinationKind)
    out = (kind.value, d.text("name", ""))
    d.done()
    return out


def read_expectation(kind: str, r: Reader) -> Expectation:
    """Read one expectation's fields from ``r`` (a ``wait`` step's reader, or the expectation's own).

    ``r.done()`` is left to the caller when the reader also holds a step's own fields.
    """
    if kind == "node":
        return NodeCheck(path=r.path, name=_one_of(r, "name", NODES), role=_one_of(r, "role", ROLES))
    if kind == "interactions":
        return InteractionsCheck(path=r.path, where=_pairs(r, "where", WHERE_KEYS),
                                 destination=_destination(r), transcript=_transcript(r), count=_count(r),
                                 save=r.text("save", "", pattern=r"[A-Za-z_][A-Za-z0-9_]*"))
    kind_filter = "dlr" if kind == "dlr" else _one_of(r, "kind", MESSAGE_KINDS, "")
    filters = [("kind", kind_filter)] if kind_filter else []
    selectors = ("from", "to", "text", "text_contains", "state", "status")
    filters += [(k, r.text(k)) for k in selectors if r.has(k)]
    texts = r.strings("texts") if r.has("texts") else None
    return MessagesCheck(path=r.path, broker=r.text("broker", allow_empty=False), filters=tuple(filters),
                         fields=_pairs(r, "fields"), count=_count(r), texts=texts)


def _one_key(raw: object, path: str, kinds: tuple[str, ...], what: str,
             problems: Problems) -> tuple[str, Any] | None:
    """The single ``kind: body`` pair of a step or expectation, or ``None`` with a problem recorded."""
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.add(path, raw, f"must be a mapping with exactly one key, the {what} ({', '.join(kinds)})")
        return None
    kind, body = next(iter(raw.items()))
    if kind not in kinds:
        problems.add(f"{path}.{kind}", body, f"is not a known {what} (one of {', '.join(kinds)})")
        return None
    return str(kind), body


def _read_items(r: Reader, key: str, saved: set[str], timeout: float) -> list[Any]:
    kinds, what = (STEP_KINDS, "step") if key == "steps" else (EXPECT_KINDS, "expectation")
    out: list[Any] = []
    for path, raw in r.items(key, []):
        pair = _one_key(raw, path, kinds, what, r.problems)
        if pair is None:
            continue
        kind, body = pair
        for name in variables_in(body):
            if name not in saved:
                r.problems.add(f"{path}.{kind}", body,
                               f"refers to ${{{name}}}, which no earlier step or expectation saves")
        if key == "steps":
            item = read_step(kind, body, f"{path}.{kind}", r.problems, timeout)
        else:
            sub = Reader(body, f"{path}.{kind}", r.problems)
            item = read_expectation(kind, sub)
            sub.done()
        saved.update(item.saves())
        out.append(item)
    return out


def _read_scenario(r: Reader, base: Path, source: str) -> Scenario:
    name = r.text("name", allow_empty=False)
    config = r.text("config", "")
    if config and not (base / config).is_file():
        r.problem("config", config, f"is not a file (looked for {base / config})")
    timeout = r.number("timeout", DEFAULT_TIMEOUT, minimum=0.01)
    timeout = timeout if timeout >= 0.01 else DEFAULT_TIMEOUT  # already a problem; not one per wait too
    saved: set[str] = set()
    steps = _read_items(r, "steps", saved, timeout)
    expectations = _read_items(r, "expect", saved, timeout)
    if not steps and not expectations:
        r.problem("steps", r.raw("steps", None), "must hold at least one step (or give 'expect')")
    scenario = Scenario(name, tuple(steps), tuple(expectations), r.text("description", ""),
                        str((base / config).resolve()) if config else "", source, timeout)
    r.done()
    return scenario


def parse_scenarios(data: Any, source: str = "", base: Path | None = None) -> list[Scenario]:
    """Validate parsed scenario data: one scenario mapping, or a list of them.

    Args:
        data: the parsed YAML.
        source: where it came from, for messages and ``Scenario.source``.
        base: the folder ``config`` paths are relative to (the current folder when omitted).

    Raises:
        ConfigError: with every problem found, each with its path, value and reason.
    """
    folder = base if base is not None else Path.cwd()
    problems = Problems()
    if isinstance(data, list):
        if not data:
            problems.add("(top)", data, "must hold at least one scenario")
        entries = [(f"[{i}]", item, f"{source}[{i}]") for i, item in enumerate(data)]
    else:
        entries = [("", data, source)]
    scenarios = [_read_scenario(Reader(item, path, problems), folder, src) for path, item, src in entries]
    first: dict[str, str] = {}
    for (path, _, _), scenario in zip(entries, scenarios, strict=True):
        if scenario.name and scenario.name in first:
            problems.add(f"{path}.name", scenario.name, f"must be unique (also at {first[scenario.name]})")
        first.setdefault(scenario.name, f"{path}.name")
    if problems:
        raise ConfigError(list(problems), source)
    return scenarios


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read and validate the scenario file at ``path``.

    Raises:
        ConfigError: the file is unreadable, not YAML, or has problems (every one is listed).
    """
    file = Path(path)
    return parse_scenarios(read_yaml(file), str(file), file.parent)
