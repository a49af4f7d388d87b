"""Tests that keep the tree clean: ruff over everything, mypy strict over sim/core and plain mypy over the
node, the proxy, the lab and simulate."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install '.[test]')")
def test_ruff_is_clean() -> None:
    """ruff check finds nothing in the project."""
    done = subprocess.run(["ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_the_core() -> None:
    """mypy --strict (per pyproject) reports no error in sim/core."""
    pytest.importorskip("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "sim/core"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_on_the_lab_and_the_shells() -> None:
    """mypy (per pyproject, not strict) reports no error in the node, the proxy, the lab and simulate."""
    pytest.importorskip("mypy")
    targets = ["sim/cic", "sim/proxy", "sim/labfile.py", "scenarios/lab", "scenarios/simulate"]
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *targets], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# Citations a reader of the repository cannot follow: the project's private notes and source copies.
# Each pattern is assembled from pieces, so this file does not match itself.
_MD = ".md"
_PRIVATE_CITATIONS = re.compile("|".join([
    re.escape("brokers" + _MD), re.escape("switchover" + _MD), re.escape("DESIGN" + _MD),
    re.escape("STYLE" + _MD), re.escape(".." + "/shared"), re.escape("seed" + " 00"),
    r"\b00\d_" + "[0-9a-f]{16}",  # a seed file's name
    r"(?i:\bseed(?:'s)?,? \(?)" + '"',  # the seed's quoted section, with or without a comma
    re.escape("the reference the project " + "keeps"),
    r"[(/]\u00a7\d|#\s*\u00a7\d",  # a section number with no document named before it
]))
_SKIPPED_DIRS = {".git", ".venv", "venv", "mutants", "node_modules", "build", "dist", "__pycache__",
                 ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def _tracked_files() -> list[Path]:
    """The repository's tracked files (git ls-files), or a walk of the tree where git is unavailable."""
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60,
                              check=True)
        return [ROOT / name for name in done.stdout.decode().split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        return [path for path in ROOT.rglob("*") if path.is_file()
                and not _SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in path.parts)]


def test_every_citation_can_be_followed_from_the_repository() -> None:
    """No tracked text file cites the private notes, their seed documents or a folder outside the repository."""
    found = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if _PRIVATE_CITATIONS.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    if found:
        pytest.fail(f"{len(found)} citation(s) of sources users do not have:\n" + "\n".join(found), pytrace=False)
