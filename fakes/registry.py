"""Fake kinds by name: ``kaleyra``, ``portico``, ``http-broker``, ``asyncgw`` -> the factory that builds one.

Factories are named by dotted path and imported only when used, so a lab that runs one kind of fake
does not import the others. Every factory has the signature documented in ``fakes.common``::

    create(name: str, settings_mapping: Mapping[str, Any], path: str) -> FakeBroker
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from fakes.common.fake import FakeBroker
from sim.core.errors import ConfigError, Problem

__all__ = ["FACTORIES", "create", "factory", "kinds"]

Factory = Callable[[str, Mapping[str, Any], str], FakeBroker]

#: Kind name -> ``module:function`` of its factory.
FACTORIES: dict[str, str] = {
    "kaleyra": "fakes.kaleyra:create",
    "portico": "fakes.portico:create",
    "http-broker": "fakes.httpdef:create",
    "asyncgw": "fakes.asyncgw:create",
}


def kinds() -> tuple[str, ...]:
    """The known kind names, sorted."""
    return tuple(sorted(FACTORIES))


def factory(kind: str, path: str = "kind") -> Factory:
    """The factory for ``kind``, imported now.

    Raises:
        ConfigError: when ``kind`` is not a known kind (the problem names ``path``).
    """
    target = FACTORIES.get(kind)
    if target is None:
        raise ConfigError([Problem(path, kind, f"must be one of {', '.join(kinds())}")])
    module_name, _, attr = target.partition(":")
    made: Factory = getattr(importlib.import_module(module_name), attr)
    return made


def create(kind: str, name: str, settings_mapping: Mapping[str, Any] | None = None,
           path: str = "") -> FakeBroker:
    """Build a fake of ``kind`` named ``name`` from its settings mapping (``fakes.<name>`` by default).

    Raises:
        ConfigError: for an unknown kind or any problem in the settings, each naming its path.
    """
    return factory(kind)(name, settings_mapping or {}, path or f"fakes.{name}")
