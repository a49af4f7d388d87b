"""Tests for loadtests.locustfiles: names and paths of locustfiles, without importing Locust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.locustfiles import HERE, NAMES, locustfile
from sim.core.errors import InputError


def test_every_name_is_a_file_beside_the_package() -> None:
    """Each named locustfile exists."""
    assert all(locustfile(name).is_file() for name in NAMES)
    assert HERE / "mo_push.py" == locustfile("mo_push")


def test_a_path_to_a_python_file_is_taken_as_it_is(tmp_path: Path) -> None:
    """A user's own locustfile is named by its path."""
    own = tmp_path / "mine.py"
    own.write_text("", encoding="utf-8")
    assert own.resolve() == locustfile(str(own))


def test_anything_else_is_an_input_error_naming_the_choices(tmp_path: Path) -> None:
    """A name that is not one, or a path that is not a .py file, is refused listing the names."""
    with pytest.raises(InputError, match="give one of mo_push, agent_mt, conversation, fake_mt"):
        locustfile(str(tmp_path / "missing.py"))


def test_the_harness_modules_never_import_locust() -> None:
    """Importing smslab load's modules and the plugin leaves Locust (and its gevent patching) out."""
    code = ("import sys, loadtests.load, loadtests.bench_load, scenarios.plugin; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                          cwd=Path(__file__).parents[3])
    assert "[]" == done.stdout.strip()
