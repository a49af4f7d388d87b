"""Where the files that ship with the scenarios package live: the embedded default lab and the built-ins."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["BUILTIN_DIR", "DEFAULT_LAB", "EXAMPLES_DIR", "NAMED_LABS", "PACKAGE_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent
#: The embedded default lab: what ``smslab up`` and ``smslab run`` use without ``--config``.
DEFAULT_LAB = PACKAGE_DIR / "labs" / "default.yaml"
#: The built-in scenarios (and, in ``labs/`` below it, the lab files some of them name).
BUILTIN_DIR = PACKAGE_DIR / "builtin"
#: Example lab files a user starts from.
EXAMPLES_DIR = PACKAGE_DIR / "examples"
#: The labs a lab file may ``extends:`` by name (``sim.labfile``), for every ``smslab`` command.
NAMED_LABS: Mapping[str, Path] = {"default": DEFAULT_LAB}
