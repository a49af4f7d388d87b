"""The field shapes that steps and expectations share, and how they are read.

A field that names one of a few values (``node: primary``, ``mode: kill``, ``role: active``) and a mapping
of names to texts (``headers``, ``where``, ``fields``, ``save``) are read the same way wherever they stand
in a scenario. A problem is recorded on the reader with the field's path, the value and the reason, as
everywhere in the scenario format (``scenarios.scenario.scenario_file``).
"""

from __future__ import annotations

from sim.core.schema import Reader

__all__ = ["NODES", "one_of", "pairs"]

#: The nodes of the pair, as steps (``fail``, ``restore``) and expectations (``node``) name them.
NODES = ("primary", "backup")


def one_of(r: Reader, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    """The text at ``key``, which must be one of ``allowed``; required unless ``default`` is given."""
    value = r.text(key, default) if default is not None else r.text(key, allow_empty=False)
    if value and value not in allowed:
        r.problem(key, value, f"must be one of {', '.join(allowed)}")
    return value


def pairs(r: Reader, key: str, allowed: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    """The mapping at ``key`` (empty when absent) as ``(name, value)`` pairs in the file's order.

    A name outside ``allowed`` (when given) is a problem and is left out.
    """
    found = r.mapping(key, {})
    for name in found:
        if allowed is not None and name not in allowed:
            r.problems.add(f"{r.at(key)}.{name}", found[name], f"is not a known field ({', '.join(allowed)})")
    return tuple((k, v) for k, v in found.items() if allowed is None or k in allowed)
