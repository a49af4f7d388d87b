"""The scenario format, for users: what a scenario file holds, and how it is read and checked.

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

Steps (each a mapping with exactly one key; every step and its fields are described in
``scenarios.scenario.step_format``):

* ``mo``: a fake broker pushes an MO to the CIC side, through the proxy;
* ``send``: an agent sends an MT;
* ``wait``: poll until an expectation (below) holds, or fail with what was last seen;
* ``fail``, ``restore``, ``switchover``: a node fault, its end, a manual switchover;
* ``clear``: forget what a fake captured so far;
* ``http``: a raw request to a broker's own URL, for input the control API cannot send;
* ``sleep``: a pause, only when nothing can be waited for.

Most steps also take ``expect_error``, and then pass only when the lab refuses them.

Expectations (each a mapping with exactly one key; also the ``for`` kinds of ``wait``; every expectation
and its fields are described in ``scenarios.scenario.expect_format``): ``messages`` (what a fake captured),
``dlr`` (its delivery receipts), ``interactions`` (those on the active node) and ``node`` (a node's role).
Their fields select, then a count is checked on what was selected.

``save`` (of an ``interactions`` expectation or an ``http`` step) keeps a value as ``${NAME}``, which later
steps and expectations may use in any text; a ``${NAME}`` that no earlier step or expectation saves is a
problem.

Every problem in a file is reported at once with its path (``steps[2].send.to``), the value and the
reason; unknown keys are problems too (a misspelt field should not pass silently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.scenario.expect_format import EXPECT_KINDS, Expectation, read_expectation
from scenarios.scenario.step_format import STEP_KINDS, Step, read_step
from sim.core.errors import ConfigError
from sim.core.schema import Problems, Reader
from sim.labfile import read_yaml

__all__ = ["DEFAULT_TIMEOUT", "Scenario", "load_scenarios", "parse_scenarios", "variables_in"]

DEFAULT_TIMEOUT = 10.0
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
        item: Step | Expectation
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
