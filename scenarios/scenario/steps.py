"""Running scenario steps and checking expectations against a lab, through its control API.

Every outcome is a sentence a user can act on: what was expected and, when it failed, what was seen instead
("expected exactly 1 kaleyra mt message with to='13175550101'; saw 2: [...]"). Expectations select and
then count (see ``scenarios.scenario.expect_format``); the "seen" part shows the selected items, or, when
none were selected, everything the same source held, so a near miss is visible at a glance.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scenarios.lab.client import LabClient, LabError
from scenarios.scenario.expect_format import Expectation, InteractionsCheck, MessagesCheck, NodeCheck
from scenarios.scenario.step_format import ExpectError, HttpStep, Step, WaitStep

__all__ = ["NOT_HERE", "Context", "Outcome", "check", "run_step", "substitute"]

SHOWN = 5  # items listed in a "seen" part before "... and N more"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


#: The control API's answer for what this lab's pair cannot do (an external pair: no interactions, no
#: switchover control, a fault its lab file does not define): a step or expectation needing it is skipped.
NOT_HERE = 501


@dataclass(frozen=True)
class Outcome:
    """The result of one step or expectation: passed or not (or ``skipped``: the lab cannot do it), and the
    sentence that says so."""

    ok: bool
    detail: str
    skipped: bool = False


def _skipped(exc: LabError) -> Outcome:
    return Outcome(False, f"skipped: {exc.error}", skipped=True)


@dataclass
class Context:
    """What a scenario's steps share: the lab's client and the variables saved so far."""

    client: LabClient
    variables: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    _broker_urls: dict[str, str] = field(default_factory=dict)

    def broker_url(self, name: str) -> str:
        """The URL of the fake broker ``name`` (asked of the lab once); ``control`` is the control API's
        own URL and ``nexus`` the lab's Digital Channels, for ``http`` steps to them.

        Raises:
            LookupError: the lab has no broker (or Nexus) of that name.
        """
        if name == "control":
            return self.client.base_url
        if not self._broker_urls:
            self._broker_urls = {b["name"]: b["url"] for b in self.client.brokers()}
            self._broker_urls |= {c["name"]: c["url"] for c in self.client.health()["components"]
                                  if c["kind"] == "nexus"}
        if name not in self._broker_urls:
            known = ", ".join(sorted(self._broker_urls))
            raise LookupError(f"the lab has no broker {name!r} (it has: {known})")
        return self._broker_urls[name]


class UndefinedVariable(LookupError):
    """A ``${NAME}`` was used before anything saved it."""


def _text(value: str, variables: dict[str, str]) -> str:
    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in variables:
            raise UndefinedVariable(f"${{{m.group(1)}}} was never saved (did the expectation saving it "
                                    "select nothing?)")
        return variables[m.group(1)]
    return _VARIABLE.sub(fill, value)


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """``value`` with every ``${NAME}`` in its texts replaced (steps and expectations, recursively).

    Raises:
        UndefinedVariable: a name that was never saved.
    """
    if isinstance(value, str):
        return _text(value, variables)
    if isinstance(value, tuple):
        return tuple(substitute(v, variables) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: substitute(getattr(value, f.name), variables) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


# -- what was seen ----------------------------------------------------------------------------------


def _listing(items: list[Any], show: Callable[[Any], str]) -> str:
    shown = [show(i) for i in items[:SHOWN]]
    more = f", ... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "[" + ", ".join(shown) + more + "]"


def _message(record: dict[str, Any]) -> str:
    text = f"#{record.get('seq')} {record.get('kind')} {record.get('from')}->{record.get('to')}"
    if record.get("text"):
        text += f" {record['text']!r}"
    return text + (f" state={record['state']}" if record.get("state") else "")


def _interaction(item: dict[str, Any]) -> str:
    dest = item.get("destination") or {}
    where = f"{dest.get('kind', '')} {dest.get('name', '')!r}" if dest.get("name") else dest.get("kind", "")
    lines = ", ".join(f"{e.get('direction')} {e.get('text')!r}" for e in item.get("transcript", []))
    return f"{item.get('id')} {item.get('customer')}->{item.get('local')} {where} [{lines}]"


# -- expectations -----------------------------------------------------------------------------------


def _selects_message(c: MessagesCheck, record: dict[str, Any]) -> bool:
    for key, want in c.filters:
        got = record.get(key)
        if key == "text_contains":
            if want not in str(record.get("text", "")):
                return False
        elif str("" if got is None else got) != want:
            return False
    fields = record.get("fields") or {}
    return all(name in fields and str(fields[name]) == want for name, want in c.fields)


def _check_messages(c: MessagesCheck, ctx: Context) -> Outcome:
    every = ctx.client.messages(c.broker, kind=c.kind)
    chosen = [r for r in every if _selects_message(c, r)]
    expected = f"expected {c.describe()}"
    if not c.count.holds(len(chosen)):
        if chosen:
            return Outcome(False, f"{expected}; saw {len(chosen)}: {_listing(chosen, _message)}")
        noun = f"{c.broker} {c.kind + ' ' if c.kind else ''}messages"
        return Outcome(False, f"{expected}; saw none of the {len(every)} {noun}: {_listing(every, _message)}")
    texts = [str(r.get("text", "")) for r in chosen]
    if c.texts is not None and texts != list(c.texts):
        return Outcome(False, f"{expected}; saw texts {texts!r}")
    return Outcome(True, f"{c.describe()}: saw {len(chosen)}")


def _transcript_of(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(e.get("direction", "")), str(e.get("text", ""))) for e in item.get("transcript", [])]


def _selects_interaction(c: InteractionsCheck, item: dict[str, Any]) -> bool:
    if any(str(item.get(k, "")) != v for k, v in c.where):
        return False
    if c.destination is not None:
        dest = item.get("destination") or {}
        kind, name = c.destination
        if dest.get("kind") != kind or (name and dest.get("name") != name):
            return False
    if c.transcript is not None:
        seen = _transcript_of(item)
        if len(seen) != len(c.transcript):
            return False
        pairs = zip(c.transcript, seen, strict=True)
        return all(t == text and (not d or d == sd) for (d, t), (sd, text) in pairs)
    return True


def _check_interactions(c: InteractionsCheck, ctx: Context) -> Outcome:
    every = ctx.client.interactions()
    chosen = [i for i in every if _selects_interaction(c, i)]
    if not c.count.holds(len(chosen)):
        shown = chosen if chosen else every
        what = f"{len(chosen)}:" if chosen else f"none of the {len(every)} interactions:"
        return Outcome(False, f"expected {c.describe()}; saw {what} {_listing(shown, _interaction)}")
    if c.save and chosen:
        ctx.variables[c.save] = str(chosen[0].get("id", ""))
    saved = f" (saved {c.save}={ctx.variables[c.save]!r})" if c.save and chosen else ""
    return Outcome(True, f"{c.describe()}: saw {len(chosen)}{saved}")


def _check_node(c: NodeCheck, ctx: Context) -> Outcome:
    nodes = ctx.client.health().get("nodes", {})
    role = (nodes.get(c.name) or {}).get("role", "(no such node)")
    if role != c.role:
        roles = ", ".join(f"{n} {(d or {}).get('role')}" for n, d in nodes.items())
        return Outcome(False, f"expected node {c.name} to be {c.role}; saw {role} ({roles})")
    return Outcome(True, f"node {c.name} is {c.role}")


def check(expectation: Expectation, ctx: Context) -> Outcome:
    """Evaluate one expectation once (its ``${NAME}`` references filled from ``ctx.variables``)."""
    try:
        expectation = substitute(expectation, ctx.variables)
        if isinstance(expectation, MessagesCheck):
            return _check_messages(expectation, ctx)
        if isinstance(expectation, InteractionsCheck):
            return _check_interactions(expectation, ctx)
        if isinstance(expectation, NodeCheck):
            return _check_node(expectation, ctx)
    except UndefinedVariable as exc:
        return Outcome(False, str(exc))
    except LabError as exc:
        if exc.status == NOT_HERE:
            return _skipped(exc)
        return Outcome(False, f"expected {expectation.describe()}; the lab answered {exc}")
    raise TypeError(f"not an expectation: {expectation!r}")


def _wait(step: WaitStep, ctx: Context) -> Outcome:
    deadline = time.monotonic() + step.timeout
    while True:
        outcome = check(step.check, ctx)
        if outcome.ok or outcome.skipped or time.monotonic() >= deadline:
            break
        ctx.sleep(min(step.interval, max(0.0, deadline - time.monotonic())))
    if outcome.ok or outcome.skipped:
        return outcome
    return Outcome(False, f"timed out after {step.timeout:g}s: {outcome.detail}")


# -- steps ------------------------------------------------------------------------------------------


def _call(step: Step, ctx: Context) -> Any:
    c, a = ctx.client, step.arg
    if step.kind == "mo":
        return c.mo(a("broker"), sender=a("from"), to=a("to"), text=a("text"))
    if step.kind == "send":
        return c.send(a("to"), a("text"), sender=a("from"), account=a("account"),
                      classification=a("classification"), interaction_id=a("interaction_id"))
    if step.kind == "fail":
        return c.fail(a("node"), a("mode"))
    if step.kind == "restore":
        return c.restore(a("node"))
    if step.kind == "switchover":
        return c.switchover()
    if step.kind == "clear":
        return c.clear_messages(a("broker"))
    raise TypeError(f"not a control API step: {step.kind!r}")


def _accepted(step: Step, answer: Any) -> Outcome:
    if step.kind == "mo" and isinstance(answer, dict):
        return Outcome(True, f"pushed MO {answer.get('message_id', '')}".strip())
    if step.kind == "send" and isinstance(answer, dict):
        refused = [r for r in answer.get("requests", []) if not r.get("accepted", True)]
        if refused:
            why = "; ".join(f"{r.get('broker')} {r.get('status')}: {r.get('reason')}" for r in refused)
            return Outcome(False, f"the broker refused the MT: {why}")
        parts = [f"{r.get('broker')} {r.get('status')}" for r in answer.get("requests", [])]
        return Outcome(True, f"sent to {answer.get('recipient')}: {', '.join(parts) or 'held'}")
    return Outcome(True, "done")


def _refusal(want: ExpectError, exc: LabError | None, answer: Any) -> Outcome:
    expected = f"expected it {want.describe()}"
    if exc is None:
        return Outcome(False, f"{expected}; saw it accepted: {json.dumps(answer, default=str)[:300]}")
    if (want.status is not None and exc.status != want.status) or want.contains not in exc.error:
        return Outcome(False, f"{expected}; saw {exc.status}: {exc.error!r}")
    return Outcome(True, f"refused as expected: {exc.status} {exc.error!r}")


def _http(step: HttpStep, ctx: Context) -> Outcome:
    url = ctx.broker_url(step.broker).rstrip("/") + step.target
    data = step.body.encode("utf-8") if step.method not in ("GET", "HEAD") else None
    req = urllib.request.Request(url, data=data,
                                 method=step.method, headers=dict(step.headers))
    try:
        with urllib.request.urlopen(req, timeout=ctx.client.timeout) as resp:
            status, text = resp.status, resp.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode("utf-8", errors="replace")
        exc.close()
    want = step.describe().split(" -> ", 1)[1]
    ok = (status == step.expect_status if step.expect_status else 200 <= status < 300)
    if not ok or step.expect_body_contains not in text:
        return Outcome(False, f"expected {want}; saw {status}: {text[:300]!r}")
    for name, key in step.save:
        found = _dig(text, key)
        if found is None:
            return Outcome(False, f"expected a JSON answer with {key!r} (to save as {name}); "
                                  f"saw {text[:300]!r}")
        ctx.variables[name] = found
    return Outcome(True, f"{status}: {text[:120]!r}")


def _dig(text: str, key: str) -> str | None:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    for part in key.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]  # a list element by its index: ``0.id``
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, str) else json.dumps(value)


def run_step(step: Step, ctx: Context) -> Outcome:
    """Run one step (its ``${NAME}`` references filled from ``ctx.variables``)."""
    try:
        step = substitute(step, ctx.variables)
    except UndefinedVariable as exc:
        return Outcome(False, str(exc))
    if isinstance(step, WaitStep):
        return _wait(step, ctx)
    try:
        if isinstance(step, HttpStep):
            return _http(step, ctx)
        if step.kind == "sleep":
            ctx.sleep(float(step.arg("seconds", 0.0)))
            return Outcome(True, f"slept {step.arg('seconds')}s")
        answer = _call(step, ctx)
    except LabError as exc:
        if exc.status == NOT_HERE:
            return _skipped(exc)
        if step.expect_error is not None:
            return _refusal(step.expect_error, exc, None)
        return Outcome(False, f"the lab refused it: {exc}")
    except (LookupError, OSError) as exc:
        return Outcome(False, str(exc))
    if step.expect_error is not None:
        return _refusal(step.expect_error, None, answer)
    return _accepted(step, answer)
