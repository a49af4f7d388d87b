"""Loading broker definitions: YAML in, a frozen ``Definition`` out, every problem reported at once.

Each problem names the file, the field path and the reason (``ConfigError(problems, source=file)``), so a
broken definition is refused before any fake or node starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.brokerdef.definition import Definition, TextRules
from sim.brokerdef.load_answer import read_answer
from sim.brokerdef.load_mt import read_mt
from sim.brokerdef.load_push import read_dr, read_mo
from sim.core.errors import ConfigError, Problem
from sim.core.schema import Reader

__all__ = ["DEFINITIONS_DIR", "load_definition", "parse_definition", "shipped", "shipped_names"]

# The shipped definitions live beside the package, one file per broker (so a new broker is one new
# file); the name of a file is the name of its broker.
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


def parse_definition(data: Mapping[str, Any], source: str = "") -> Definition:
    """Validate ``data`` (a definition already read from YAML) and freeze it.

    Args:
        data: the mapping read from the file.
        source: the file name, for error messages.

    Raises:
        ConfigError: with every problem found, each with its field path, value and reason.
    """
    r = Reader(data)
    name = r.text("name", allow_empty=False, pattern=r"[a-z0-9][a-z0-9-]*")
    description = r.text("description", "")
    mt = read_mt(r.child("mt"))
    answer = read_answer(r.child("answer"))
    mo = read_mo(r.child("mo")) if r.raw("mo", None) is not None else None
    dr = read_dr(r.child("dr")) if r.raw("dr", None) is not None else None
    rules = _read_text_rules(r.child("text_rules", None))
    r.done()
    r.raise_if_problems(source)
    # No problems means every part was built.
    assert mt is not None
    assert answer is not None
    return Definition(name, description, source, mt, answer, mo, dr, rules)


def _read_text_rules(r: Reader) -> TextRules:
    max_length = r.integer("max_length", None, minimum=1) if r.raw("max_length", None) is not None else None
    allowed = r.regex("allowed") if r.raw("allowed", None) is not None else None
    double = r.text("double", "")
    r.done()
    return TextRules(max_length, allowed, double)


def load_definition(path: str | Path) -> Definition:
    """Read and validate the definition file at ``path``.

    Raises:
        ConfigError: the file is missing, is not YAML, or holds an invalid definition.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("(file)", source, f"cannot be read: {exc}")], source) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("(file)", None, f"is not valid YAML: {exc}")], source) from exc
    return parse_definition(data, source)


def shipped_names() -> tuple[str, ...]:
    """The names of the definitions shipped in ``sim/brokerdef/definitions``, sorted."""
    return tuple(sorted(p.stem for p in DEFINITIONS_DIR.glob("*.yaml")))


def shipped(name: str) -> Definition:
    """The shipped definition called ``name``.

    Raises:
        ConfigError: no shipped definition has that name (the message lists those that exist).
    """
    path = DEFINITIONS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(shipped_names())
        raise ConfigError([Problem("definition", name, f"is not a shipped definition (known: {known})")])
    return load_definition(path)
