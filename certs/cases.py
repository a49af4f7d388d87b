"""The SSL negotiation experiments as data: a :class:`Case` per handshake, run by :func:`run_case`.

A case names its client and server parties, the outcome expected (``accepted``/``refused``), the
start of the exact reason, and optional facts the details must show (cipher, ALPN ...). Host names and
reasons may use ``{fqdn}``, ``{domain}`` and ``{parent}``, filled from the PKI's options.

The registry itself is :data:`certs.experiments.CASES` (add a case to the module of its kind there);
``smslab ssl-matrix`` adds the cases through the simulated reverse proxy (``scenarios.lab.proxy_tls_cases``).
A case that drives a component not built yet lists its module in ``needs`` and is reported as ``skipped``
until that module exists. A case need not be a handshake: ``kind="config"`` cases run configuration validation
(see :data:`certs.experiments.CONFIG_CASES`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from certs.pki import Pki
from certs.probe import Outcome

__all__ = ["Case", "Result", "fill", "run_case"]

Expected = Literal["accepted", "refused"]


@dataclass(frozen=True)
class Case:
    """One experiment.

    Attributes:
        name: a unique kebab-case identifier.
        client: who connects, and with what trust (free text for the report).
        server: who answers, with which certificate.
        expected: the outcome expected.
        reason: how the actual reason must start (placeholders allowed).
        run: performs the experiment against a PKI.
        facts: entries the outcome's details must contain, exactly.
        needs: modules the experiment drives; the case is skipped while one is missing.
        kind: ``"tls"`` for handshakes, ``"config"`` for configuration checks.
        source: the document section the expectation comes from.
    """

    name: str
    client: str
    server: str
    expected: Expected
    reason: str
    run: Callable[[Pki], Outcome]
    facts: dict[str, object] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    kind: Literal["tls", "config"] = "tls"
    source: str = ""


@dataclass(frozen=True)
class Result:
    """What a case came to; ``actual`` is ``accepted``, ``refused``, ``skipped`` or ``error``."""

    case: Case
    actual: str
    reason: str
    details: dict[str, object]
    expected_reason: str
    client: str
    server: str
    facts: dict[str, object]

    @property
    def mismatches(self) -> list[str]:
        """How the result differs from the case's expectation; empty when it passed or was skipped."""
        if self.actual == "skipped":
            return []
        found = []
        if self.actual != self.case.expected:
            found.append(f"expected {self.case.expected}, got {self.actual}")
        if not self.reason.startswith(self.expected_reason):
            found.append(f"reason must start with {self.expected_reason!r} (got {self.reason!r})")
        found += [
            f"details[{key!r}] must be {value!r} (got {self.details.get(key)!r})"
            for key, value in self.facts.items()
            if self.details.get(key) != value
        ]
        return found

    @property
    def passed(self) -> bool:
        """Whether the actual outcome, reason and facts are the expected ones (or the case skipped)."""
        return not self.mismatches

    def as_dict(self) -> dict[str, object]:
        """The result as JSON-ready values, for ``smslab ssl-matrix --json``."""
        return {
            "name": self.case.name,
            "kind": self.case.kind,
            "parties": {"client": self.client, "server": self.server},
            "expected": self.case.expected,
            "expected_reason": self.expected_reason,
            "actual": self.actual,
            "reason": self.reason,
            "passed": self.passed,
            "mismatches": self.mismatches,
            "facts": self.facts,
            "details": self.details,
            "source": self.case.source,
        }


def fill(text: str, pki: Pki) -> str:
    """``text`` with ``{fqdn}``, ``{domain}`` and ``{parent}`` replaced from ``pki``'s options."""
    fqdn = pki.options.proxy_fqdn
    return text.format(fqdn=fqdn, domain=pki.options.domain, parent=fqdn.split(".", 1)[1])


def _fill_fact(value: object, pki: Pki) -> object:
    if isinstance(value, str):
        return fill(value, pki)
    if isinstance(value, list):
        return [_fill_fact(item, pki) for item in value]
    return value


def _missing(modules: tuple[str, ...]) -> list[str]:
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            missing.append(module)
    return missing


def run_case(case: Case, pki: Pki) -> Result:
    """Run ``case`` against ``pki``; an exception inside it becomes an ``error`` result, not a crash."""
    expected = (
        fill(case.reason, pki),
        fill(case.client, pki),
        fill(case.server, pki),
        {key: _fill_fact(value, pki) for key, value in case.facts.items()},
    )
    if missing := _missing(case.needs):
        return Result(case, "skipped", f"needs {', '.join(missing)} (not built yet)", {}, *expected)
    try:
        outcome = case.run(pki)
    except Exception as exc:  # the report must show every case, whatever one of them raises
        return Result(case, "error", f"{type(exc).__name__}: {exc}", {}, *expected)
    actual = "accepted" if outcome.accepted else "refused"
    return Result(case, actual, outcome.reason, dict(outcome.details), *expected)
