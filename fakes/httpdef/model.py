"""The definition-driven fake's own settings and its business rules, sans-IO.

Settings (besides the shared ones of ``fakes.common.settings``), with their defaults::

    definition: <fake name>   # a shipped definition's name, or a path to a definition file (.yaml)
    paths: [<mt.path>]        # where MTs are accepted (Gateway + Outgoing Path)
    accounts:                 # [] = any non-empty credentials pass
      - {id: acc1, login: user, password: secret}
    credit: null              # messages accepted before the credit failure (EzTexting -2); null: no limit
    opt_out: []               # numbers answered with the opt-out failure (EzTexting -5)
    max_length: null          # overrides the definition's text_rules.max_length (EzTexting -7: 130 or 160)
    rate: null                # requests per second per client IP (EzTexting: about 2); null: no limit
    id_prefix: ""             # put in front of every message id the fake makes up

The shared ``mo_url`` and ``dr_url`` may name a host only (``http://cic:8191``): the definition's MO or DR
path is then appended. A DR URL passed with the MT (``dr_url_param``) wins over ``dr_url``.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from sim.brokerdef.broker import MtRefused, ReceivedMt
from sim.brokerdef.definition import Definition, Failure
from sim.brokerdef.loader import load_definition, shipped
from sim.brokerdef.wire import Account
from sim.core.errors import ConfigError
from sim.core.schema import Reader

__all__ = ["HttpDefModel", "HttpDefSettings", "read_settings"]

# "Only about 2 connections per second per IP are allowed" (EzTexting's API docs): a sliding window of 1 s.
_RATE_WINDOW = 1.0


@dataclass(frozen=True)
class HttpDefSettings:
    """The fake's own settings (see the module docstring)."""

    definition: Definition
    paths: tuple[str, ...]
    accounts: tuple[Account, ...] = ()
    credit: int | None = None
    opt_out: frozenset[str] = frozenset()
    max_length: int | None = None
    rate: float | None = None
    id_prefix: str = ""


def _definition(r: Reader, name: str) -> Definition | None:
    wanted = r.text("definition", name, allow_empty=False)
    try:
        if wanted.endswith((".yaml", ".yml")) or "/" in wanted:
            return load_definition(Path(wanted))
        return shipped(wanted)
    except ConfigError as exc:
        # A broken definition file is reported under this setting, naming the file and its own field.
        for problem in exc.problems:
            where = f"{exc.source}: {problem.path}: " if exc.source else ""
            r.problem("definition", problem.value, where + problem.reason)
        return None


def read_settings(r: Reader, name: str) -> HttpDefSettings | None:
    """Read the fake's own keys from ``r`` (problems are recorded on ``r``; ``None`` if unusable)."""
    definition = _definition(r, name)
    paths = r.strings("paths", [definition.mt.path] if definition else [])
    for i, path in enumerate(paths):
        if not path.startswith("/") or path.startswith("/_smslab/"):
            r.problem(f"paths[{i}]", path, "must start with / and not with /_smslab/")
    accounts = []
    for a in r.children("accounts"):
        accounts.append(Account(a.text("id", allow_empty=False), a.text("login", ""), a.text("password", "")))
        a.done()
    credit = r.integer("credit", None, minimum=0) if r.raw("credit", None) is not None else None
    max_length = r.integer("max_length", None, minimum=1) if r.raw("max_length", None) is not None else None
    rate = r.number("rate", None, minimum=0.001) if r.raw("rate", None) is not None else None
    opt_out = frozenset(r.strings("opt_out", []))
    id_prefix = r.text("id_prefix", "")
    if definition is None:
        return None
    return HttpDefSettings(definition, paths, tuple(accounts), credit, opt_out, max_length, rate, id_prefix)


class HttpDefModel:
    """Credit, opt-out, rate and message ids: the state behind a definition-driven fake.

    Args:
        settings: the fake's settings.
        rng: the fake's seeded random generator (message ids).
    """

    def __init__(self, settings: HttpDefSettings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.credit_left = settings.credit
        self._recent: dict[str, deque[float]] = {}

    def admit(self, client: str, now: float) -> None:
        """Count a request from ``client``; refuse it beyond ``rate`` per second.

        Raises:
            MtRefused: ``rate_limited``.
        """
        if self.settings.rate is None:
            return
        recent = self._recent.setdefault(client, deque())
        while recent and recent[0] <= now - _RATE_WINDOW:
            recent.popleft()
        if len(recent) >= self.settings.rate * _RATE_WINDOW:
            raise MtRefused(Failure.RATE_LIMITED, f"more than {self.settings.rate:g} requests per second")
        recent.append(now)
        if len(self._recent) > 10_000:  # bounded: forget idle clients rather than grow
            self._recent = {k: v for k, v in self._recent.items() if v and v[-1] > now - _RATE_WINDOW}

    def take(self, mt: ReceivedMt) -> list[str]:
        """Apply opt-out and credit to an MT, spend the credit and return one new message id per recipient.

        Raises:
            MtRefused: ``opt_out`` when a recipient opted out; ``credit`` when the credit is short.
        """
        opted = [n for n in mt.recipients if n in self.settings.opt_out]
        if opted:
            raise MtRefused(Failure.OPT_OUT, f"{opted[0]} has opted out")
        if self.credit_left is not None:
            if self.credit_left < len(mt.recipients):
                needed = len(mt.recipients)
                raise MtRefused(Failure.CREDIT, f"credit left {self.credit_left}, needed {needed}")
            self.credit_left -= len(mt.recipients)
        return [self.new_id() for _ in mt.recipients]

    def new_id(self) -> str:
        """A fresh message id from the seeded generator (reproducible per seed)."""
        return f"{self.settings.id_prefix}{self.rng.getrandbits(64):016x}"

    def reset(self) -> None:
        """Restore the credit and forget the rate windows."""
        self.credit_left = self.settings.credit
        self._recent.clear()
