"""Tests for the project's layering: imports point down the layers, sim/core stays sans-IO, no import circles.

The table ``MAY_IMPORT`` is the order of the README's layer table ("Layout"), written once: for each package, the
project packages it may import besides itself. An import counts wherever it stands (at the top, inside a
function, under ``if TYPE_CHECKING:``), because each is an arrow a reader has to follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
TOP = ("sim", "fakes", "scenarios", "loadtests", "certs")

CORE = ("sim.core",)
# Layer 1: what several layers above share, each in one home; they use the core and nothing beside them.
SHARED = ("sim.brokerdef", "sim.labfile", "sim.http1", "sim.serving", "sim.cliargs")
CARRIER = ("sim.carrier",)
SIMULATED = ("sim.cic", "sim.proxy", "sim.nexus")
#: package -> the other project packages it may import (its own subpackages and modules are always allowed).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "sim.core": (),
    **dict.fromkeys(SHARED, CORE),
    "sim.carrier": (*CORE, *SHARED),
    **dict.fromkeys(SIMULATED, (*CORE, *SHARED, *CARRIER)),
    "fakes": (*CORE, *SHARED, *CARRIER),
    "scenarios": (*CORE, *SHARED, *CARRIER, *SIMULATED, "fakes", "certs"),
    "loadtests": (*CORE, *SHARED, *CARRIER, *SIMULATED, "fakes", "certs", "scenarios"),
    "certs": CORE,
    "sim": (),  # sim/__init__.py itself
}
# The core is sans-IO: no sockets, asyncio, HTTP clients, SimPy, clocks, global randomness or environment.
CORE_BANNED = {"socket", "asyncio", "aiohttp", "simpy", "time", "random", "os", "requests", "urllib.request",
               "http", "ssl", "threading", "subprocess", "datetime"}


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it stands."""

    source: str  # the importing module
    path: Path
    line: int
    target: str  # the module imported (for ``from a import b``: ``a.b`` when that is a module, else ``a``)


def module_name(path: Path, root: Path) -> str:
    """The dotted module name of a file below ``root`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path, top: Iterable[str] = TOP) -> dict[str, Path]:
    """Every module of the project's packages below ``root``: name -> file."""
    return {module_name(p, root): p for t in top if (root / t).is_dir() for p in sorted((root / t).rglob("*.py"))}


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, known: Mapping[str, Path]) -> list[Import]:
    """Every import in ``path``, resolved to the module it loads (project modules or not)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(module, path, node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path, node)
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            # ``from pkg import sub`` loads the submodule ``pkg.sub``; a name that is not a module is read
            # from ``pkg`` itself, so only then is ``pkg`` (its ``__init__``) a target.
            whole = [base] if len(subs) < len(node.names) else []
            found += [Import(module, path, node.lineno, t) for t in [*whole, *subs]]
    return found


def package_of(module: str) -> str:
    """The entry of ``MAY_IMPORT`` a module belongs to: the longest one that is a prefix of its name."""
    owners = [p for p in MAY_IMPORT if module == p or module.startswith(p + ".")]
    if not owners:
        raise KeyError(f"{module} belongs to no package of MAY_IMPORT: add its package to the table")
    return max(owners, key=len)


def violations(modules: Mapping[str, Path], root: Path) -> list[str]:
    """Each import of a project module that the table does not allow, as ``file:line: ... (rule)``."""
    out = []
    for module, path in modules.items():
        own = package_of(module)
        for imp in imports_of(module, path, modules):
            if imp.target.split(".")[0] not in TOP:
                continue
            target = package_of(imp.target)
            if target == own or target in MAY_IMPORT[own]:
                continue
            allowed = ", ".join(MAY_IMPORT[own]) or "no other project package"
            out.append(f"{path.relative_to(root)}:{imp.line}: {module} imports {imp.target} "
                       f"(rule: {own} may import {allowed})")
    return out


def circles(modules: Mapping[str, Path]) -> list[list[str]]:
    """The import circles among ``modules``: each strongly connected group of two or more, sorted."""
    edges = {m: sorted({i.target for i in imports_of(m, p, modules) if i.target in modules and i.target != m})
             for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


MODULES = project_modules(ROOT)
CORE_FILES = sorted((ROOT / "sim" / "core").glob("*.py"))


def test_every_import_points_down_the_layers() -> None:
    """No module imports a project package that the layer table does not allow it."""
    assert [] == violations(MODULES, ROOT)


def test_no_import_circles() -> None:
    """No two project modules import each other, directly or through others."""
    assert [] == circles(MODULES)


def test_every_package_is_in_the_table() -> None:
    """Each project module belongs to a package the layer table names."""
    assert set() == {m for m in MODULES if not any(m == p or m.startswith(p + ".") for p in MAY_IMPORT)}


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_module_is_sans_io(path: Path) -> None:
    """A sim/core module imports no I/O, clock or randomness module."""
    names = {i.target for i in imports_of(module_name(path, ROOT), path, MODULES)}
    assert set() == {n for n in names if n.split(".")[0] in CORE_BANNED or n in CORE_BANNED}


def _tree(root: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project_modules(root)


def test_an_upward_import_is_reported_with_file_line_and_rule(tmp_path: Path) -> None:
    """A fake that imports the CIC node (a layer beside-above it) is named with its file, line and rule."""
    modules = _tree(tmp_path, {"fakes/__init__.py": "", "fakes/k.py": '"""k."""\nimport json\nfrom sim.cic import node\n',
                               "sim/__init__.py": "", "sim/cic/__init__.py": "", "sim/cic/node.py": ""})
    rule = "(rule: fakes may import sim.core, sim.brokerdef, sim.labfile, sim.http1, sim.serving, sim.cliargs, sim.carrier)"
    expected = [f"fakes/k.py:3: fakes.k imports sim.cic.node {rule}"]
    assert expected == violations(modules, tmp_path)


def test_a_sideways_import_inside_a_function_is_reported(tmp_path: Path) -> None:
    """The proxy reaching for the CIC node lazily, under a function, still breaks the rule."""
    modules = _tree(tmp_path, {"sim/__init__.py": "", "sim/proxy/__init__.py": "", "sim/cic/__init__.py": "",
                               "sim/cic/settings.py": "", "sim/proxy/cli.py": "def f():\n    import sim.cic.settings\n"})
    assert ["sim/proxy/cli.py:2"] == [v.split(": ")[0] for v in violations(modules, tmp_path)]


def test_a_circle_under_type_checking_is_found(tmp_path: Path) -> None:
    """Two modules that import each other, one only for type checking, form a circle."""
    modules = _tree(tmp_path, {
        "fakes/__init__.py": "",
        "fakes/a.py": "from fakes.b import B\n",
        "fakes/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fakes.a import A\n",
        "fakes/c.py": "from . import a\n",
    })
    assert [["fakes.a", "fakes.b"]] == circles(modules)


def test_a_package_init_and_its_submodule_form_a_circle(tmp_path: Path) -> None:
    """A package that re-exports a submodule which reads a name back from the package is a circle."""
    modules = _tree(tmp_path, {"fakes/__init__.py": "", "fakes/k/__init__.py": "from fakes.k.fake import F\n",
                               "fakes/k/fake.py": "from fakes.k import settings, LIMIT\n", "fakes/k/settings.py": ""})
    assert [["fakes.k", "fakes.k.fake"]] == circles(modules)


def test_importing_a_sibling_submodule_through_the_package_is_no_circle(tmp_path: Path) -> None:
    """``from pkg import sub`` loads the submodule alone, so it does not point back at the package."""
    modules = _tree(tmp_path, {"fakes/__init__.py": "", "fakes/k/__init__.py": "from fakes.k.fake import F\n",
                               "fakes/k/fake.py": "from fakes.k import settings\n", "fakes/k/settings.py": ""})
    assert [] == circles(modules)
