"""Running scenarios against a lab: reset, steps, expectations, timing, one result per scenario.

Each scenario starts from a reset lab (``POST /_smslab/reset``). Its steps run in order and the first
failure stops them (later steps would only add noise); once every step passed, every expectation is
checked, so one run shows all that is wrong. Scenarios that need a lab of their own (``config``) run on
an in-process lab started for that file, one per distinct file, in the order the files first appear; a run
against a lab that is already up (``url``) cannot start one, so those scenarios are skipped and say why.

A scenario's lab file may begin with ``extends: default`` (the embedded lab) or ``extends: <file>``
(relative to it), as any lab file may (``sim.labfile`` reads them for every command): the file's other
sections are merged over that lab's, so a variant states only its difference::

    extends: default
    server_parameters: {SMS Interaction Recovery Enabled: 0}
    brokers: [{name: kaleyra, mt: {message_parsing: none}}]
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scenarios.lab.client import LabClient, LabError
from scenarios.paths import DEFAULT_LAB
from scenarios.scenario.scenario_file import Scenario
from scenarios.scenario.steps import Context, check, run_step
from sim.core.errors import ConfigError
from sim.labfile import LabConfig

__all__ = ["DEFAULT_LAB", "CheckResult", "ScenarioResult", "in_process_lab", "load_lab_file", "run_all",
           "run_scenario"]

Progress = Callable[[str, Scenario, "ScenarioResult | None"], None]


@dataclass(frozen=True)
class CheckResult:
    """One step or expectation as it ran: ``status`` is passed, failed, skipped or not run."""

    path: str
    title: str
    status: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class ScenarioResult:
    """What became of one scenario: ``status`` is passed, failed, error (the lab or smslab broke) or
    skipped; ``reason`` says why when it is not passed."""

    name: str
    source: str
    status: str
    seconds: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    reason: str = ""
    description: str = ""

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [c for c in self.checks if c.status == "failed"]

    @property
    def skips(self) -> list[CheckResult]:
        """The checks skipped because the lab cannot do what they need (``steps.NOT_HERE``): a scenario
        with one and no failure is skipped, with that check's reason."""
        return [c for c in self.checks if c.status == "skipped"]


# -- lab files and in-process labs --------------------------------------------------------------------


def load_lab_file(path: str | Path | None = None) -> LabConfig:
    """Read a lab file (the embedded default when ``None``), following ``extends``, checked in full.

    The one reader of lab files (``sim.labfile``) and the one check (``scenarios.lab.check``): every
    problem of the file at once.

    Raises:
        ConfigError: the file or one it extends is unreadable or invalid; every problem is listed.
    """
    from scenarios.lab.check import load_lab  # noqa: PLC0415 - the CIC side and the fakes load only when used

    return load_lab(Path(path) if path is not None else DEFAULT_LAB)


def with_core_of(base: LabConfig | None, lab: LabConfig) -> LabConfig:
    """``lab`` with the ``core`` of the run's ``--config`` lab (``base``), unless ``lab`` names its own.

    So ``smslab run --config lab.yaml`` with ``core: {url: ...}`` runs every scenario against that core,
    those with a lab of their own (``config: labs/consolidation.yaml``) included.
    """
    if base is None or "core" not in base.data or "core" in lab.data:
        return lab
    cic = replace(lab.cic, core=base.cic.core, remote_core=base.cic.remote_core)
    return replace(lab, cic=cic, data={**lab.data, "core": base.data["core"]})


@contextmanager
def in_process_lab(config: LabConfig) -> Iterator[str]:
    """Start ``scenarios.lab.assembly.Lab`` on an event loop in a background thread; yield its control URL.

    The scenario steps are synchronous HTTP calls, so the lab gets a loop of its own; it is stopped and
    the thread joined on exit, whatever happened.
    """
    from scenarios.lab.assembly import Lab  # noqa: PLC0415 - aiohttp and the lab load only when a lab is started

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="smslab-lab", daemon=True)
    thread.start()
    holder: dict[str, Any] = {}

    async def start() -> str:
        holder["lab"] = Lab(config)
        await holder["lab"].start()
        return str(holder["lab"].url)

    async def stop() -> None:
        if "lab" in holder:
            await holder["lab"].stop()

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=60)
    finally:
        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


# -- one scenario -------------------------------------------------------------------------------------


def _timed(path: str, title: str, action: Callable[[], Any]) -> CheckResult:
    began = time.monotonic()
    outcome = action()
    status = "passed" if outcome.ok else "skipped" if outcome.skipped else "failed"
    return CheckResult(path, title, status, outcome.detail, time.monotonic() - began)


def run_scenario(scenario: Scenario, client: LabClient, *, sleep: Callable[[float], None] = time.sleep,
                 reset: bool = True) -> ScenarioResult:
    """Run one scenario against the lab behind ``client``.

    Args:
        scenario: the scenario.
        client: the lab's control client.
        sleep: how ``sleep`` steps and waits pause (tests pass a recorder).
        reset: reset the lab first (``POST /_smslab/reset``).
    """
    result = ScenarioResult(scenario.name, scenario.source, "passed", description=scenario.description)
    began = time.monotonic()
    ctx = Context(client, sleep=sleep)
    try:
        if reset:
            client.reset()
        for step in scenario.steps:
            done = _timed(step.path, step.describe(), lambda s=step: run_step(s, ctx))
            result.checks.append(done)
            if done.status in ("failed", "skipped"):
                break
        if result.failures or result.skips:
            result.checks += [CheckResult(e.path, e.describe(), "not run") for e in scenario.expectations]
        else:
            result.checks += [_timed(e.path, e.describe(), lambda e=e: check(e, ctx))
                              for e in scenario.expectations]
        if result.failures or result.skips:
            result.status = "failed" if result.failures else "skipped"
            first = (result.failures or result.skips)[0]
            result.reason = f"{first.path}: {first.detail}"
    except LabError as exc:
        result.status, result.reason = "error", f"the lab could not be reset: {exc}"
    except Exception as exc:  # a bug in smslab: report it against this scenario and go on with the others
        result.status = "error"
        result.reason = "".join(traceback.format_exception_only(exc)).strip()
    result.seconds = time.monotonic() - began
    return result


# -- a run ----------------------------------------------------------------------------------------------


def _groups(scenarios: list[Scenario]) -> dict[str, list[Scenario]]:
    groups: dict[str, list[Scenario]] = {}
    for scenario in scenarios:
        groups.setdefault(scenario.config, []).append(scenario)
    return groups


def _run_group(group: list[Scenario], client: LabClient, progress: Progress | None,
               results: dict[int, ScenarioResult]) -> None:
    for scenario in group:
        if progress:
            progress("start", scenario, None)
        result = run_scenario(scenario, client)
        results[id(scenario)] = result
        if progress:
            progress("done", scenario, result)


def _mark(group: list[Scenario], status: str, reason: str, progress: Progress | None,
          results: dict[int, ScenarioResult]) -> None:
    for scenario in group:
        result = ScenarioResult(scenario.name, scenario.source, status, reason=reason,
                                description=scenario.description)
        results[id(scenario)] = result
        if progress:
            progress("done", scenario, result)


def run_all(scenarios: list[Scenario], *, url: str = "", config: str | Path | None = None,
            progress: Progress | None = None, timeout: float = 10.0) -> list[ScenarioResult]:
    """Run ``scenarios`` and return their results in the order given.

    Args:
        scenarios: what to run.
        url: a lab already up; when empty, labs are started in process (``config`` for scenarios without
            a ``config`` of their own, the embedded default when ``config`` is ``None``).
        config: the lab file for scenarios that name none.
        progress: called with ``("start", scenario, None)`` and ``("done", scenario, result)``.
        timeout: seconds the control client waits for each answer.

    Raises:
        ConfigError: a lab file is invalid (checked before any lab starts).
    """
    results: dict[int, ScenarioResult] = {}
    groups = _groups(scenarios)
    if url:
        client = LabClient(url, timeout)
        for lab_file, group in groups.items():
            if lab_file:
                _mark(group, "skipped", f"needs its own lab ({lab_file}); --url runs on a lab already up",
                      progress, results)
            else:
                _run_group(group, client, progress, results)
        return [results[id(s)] for s in scenarios]
    # Every lab file checked in full before the first lab starts.
    base = load_lab_file(config) if config is not None else None
    configs = {lab_file: with_core_of(base, load_lab_file(lab_file or config)) for lab_file in groups}
    for lab_file, group in groups.items():
        try:
            with in_process_lab(configs[lab_file]) as lab_url:
                _run_group(group, LabClient(lab_url, timeout), progress, results)
        except ConfigError:
            raise
        except Exception as exc:  # the lab could not start or stop: its scenarios cannot pass
            pending = [s for s in group if id(s) not in results]
            why = "".join(traceback.format_exception_only(exc)).strip()
            _mark(pending, "error", f"the lab ({lab_file or config or 'default'}) failed: {why}",
                  progress, results)
    return [results[id(s)] for s in scenarios]
