"""Tests for the project's layering: sim/core stays sans-IO and imports nothing outside itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CORE = sorted((ROOT / "sim" / "core").glob("*.py"))
# STYLE.md habit 1: no sockets, asyncio, HTTP clients, SimPy, clocks, global randomness or environment.
BANNED = {"socket", "asyncio", "aiohttp", "simpy", "time", "random", "os", "requests", "urllib.request",
          "http", "ssl", "threading", "subprocess", "datetime"}
PROJECT = {"fakes", "scenarios", "loadtests", "certs", "sim.cic", "sim.proxy", "sim.carrier", "sim.nexus"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_module_is_sans_io(path: Path) -> None:
    """A sim/core module imports no I/O, clock or randomness module and no other project folder."""
    bad = {n for n in imports_of(path)
           if n.split(".")[0] in BANNED or n in BANNED or any(n == p or n.startswith(p + ".") for p in PROJECT)}
    assert bad == set()
