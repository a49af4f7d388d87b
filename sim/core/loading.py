"""Finding an SMS core class by the name the lab config gives (README, "Plugging in your own SMS core").

``core: reference`` (or any other entry-point name) is looked up in the group ``smslab.cores``;
``core: package.module:Class`` is imported directly.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from sim.core.errors import ConfigError, Problem
from sim.core.protocol import SmsCore

__all__ = ["ENTRY_POINT_GROUP", "available_cores", "load_core_class"]

ENTRY_POINT_GROUP = "smslab.cores"


def available_cores() -> dict[str, str]:
    """Entry-point name -> ``module:attr`` for every registered core."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_core_class(spec: str, path: str = "core") -> type[SmsCore]:
    """Import the core class named by ``spec``.

    Args:
        spec: an entry-point name in ``smslab.cores`` or ``package.module:Class``.
        path: the config field the spec came from, for the error.

    Raises:
        ConfigError: the name is unknown, the import fails, or the object is not a class with the
            ``SmsCore`` methods.
    """
    target = available_cores().get(spec, spec)
    module_name, _, attr = target.partition(":")
    if not attr:
        known = ", ".join(sorted(available_cores())) or "none"
        raise ConfigError([Problem(path, spec, f"must be module:Class or a registered core ({known})")])
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError([Problem(path, spec, f"cannot be imported: {exc}")]) from exc
    missing = [m for m in ("receive", "send", "due", "next_due", "delivery_receipt", "interactions",
                           "snapshot", "restore") if not callable(getattr(obj, m, None))]
    if not isinstance(obj, type) or missing:
        raise ConfigError([Problem(path, spec, f"is not an SMS core class (missing {', '.join(missing)})")])
    return obj
