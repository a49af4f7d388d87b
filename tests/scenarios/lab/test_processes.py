"""Tests for scenarios.lab.processes: one ``smslab serve`` child, started, read and ended by its PID."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from scenarios.lab.backends import LabStartError
from scenarios.lab.processes import Child


async def test_child_reads_the_ready_line_and_is_reaped() -> None:
    """A fake in its own process: its JSON line gives its real URL; stop ends and reaps it."""
    child = Child([sys.executable, "-m", "fakes.serve", "kaleyra", "k1"], "fake k1")
    info = await child.start()
    try:
        assert (info["name"], info["kind"]) == ("k1", "kaleyra")
        with urllib.request.urlopen(f"{info['url']}/_smslab/health", timeout=5) as resp:
            assert json.loads(resp.read())["name"] == "k1"
    finally:
        await child.stop()
    assert child.proc is not None
    assert child.proc.returncode == 0  # SIGTERM: the fake stops cleanly
    assert not os.path.exists(f"/proc/{child.proc.pid}")


async def test_a_child_that_exits_is_a_start_error_with_its_stderr() -> None:
    """A child that exits before its ready line: LabStartError carrying the end of its stderr."""
    child = Child([sys.executable, "-m", "fakes.serve", "nosuchkind", "x"], "fake x")
    with pytest.raises(LabStartError, match=r"(?s)fake x did not start \(EOFError\): .*invalid choice: 'nosuchkind'"):
        await child.start()
    assert child.proc is not None
    assert child.proc.returncode == 2


async def test_a_child_gets_the_environment_it_is_given(tmp_path: Path) -> None:
    """``env`` reaches the child (the backend sets TMPDIR to a folder of its own, removed when it stops)."""
    script = "import json, os; print(json.dumps({'tmpdir': os.environ['TMPDIR']}))"
    child = Child([sys.executable, "-c", script], "printer", key="tmpdir", env={"TMPDIR": str(tmp_path)})
    try:
        assert {"tmpdir": str(tmp_path)} == await child.start()
    finally:
        await child.stop()
