"""The expectations of a scenario: what each checks, its fields, and how it is read.

The file as a whole is described in ``scenarios.scenario.scenario_file``, the steps (``wait`` among them)
in ``scenarios.scenario.step_format``; ``scenarios.scenario.steps`` checks expectations against a lab.

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
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scenarios.scenario.fields import NODES, one_of, pairs
from sim.core.routing import DestinationKind
from sim.core.schema import Reader

__all__ = [
    "EXPECT_KINDS",
    "Count",
    "Expectation",
    "InteractionsCheck",
    "MessagesCheck",
    "NodeCheck",
    "read_expectation",
]

EXPECT_KINDS = ("messages", "dlr", "interactions", "node")
ROLES = ("active", "backup", "down")
MESSAGE_KINDS = ("mt", "mo", "dlr")
WHERE_KEYS = ("id", "customer", "local", "broker", "state")


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


# -- reading ----------------------------------------------------------------------------------------


def _count(r: Reader) -> Count:
    if r.has("count") and r.has("at_least"):
        r.problem("at_least", r.raw("at_least"), "must not be given with 'count' (choose one)")
    if r.has("count"):
        return Count(exact=r.integer("count", minimum=0))
    return Count(at_least=r.integer("at_least", 1, minimum=0))


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
        return NodeCheck(path=r.path, name=one_of(r, "name", NODES), role=one_of(r, "role", ROLES))
    if kind == "interactions":
        return InteractionsCheck(path=r.path, where=pairs(r, "where", WHERE_KEYS),
                                 destination=_destination(r), transcript=_transcript(r), count=_count(r),
                                 save=r.text("save", "", pattern=r"[A-Za-z_][A-Za-z0-9_]*"))
    kind_filter = "dlr" if kind == "dlr" else one_of(r, "kind", MESSAGE_KINDS, "")
    filters = [("kind", kind_filter)] if kind_filter else []
    selectors = ("from", "to", "text", "text_contains", "state", "status")
    filters += [(k, r.text(k)) for k in selectors if r.has(k)]
    texts = r.strings("texts") if r.has("texts") else None
    return MessagesCheck(path=r.path, broker=r.text("broker", allow_empty=False), filters=tuple(filters),
                         fields=pairs(r, "fields"), count=_count(r), texts=texts)
