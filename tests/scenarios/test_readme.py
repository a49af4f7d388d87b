"""The README's plugin example works as written: it is extracted and run with pytester."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"<!-- readme-example -->\n```python\n(.*?)```", re.S)


def readme_example() -> str:
    """The Python block after the README's ``readme-example`` marker."""
    found = _BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found is not None, "README.md has no readme-example block"
    return found.group(1)


def test_the_readme_plugin_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example tests pass against the embedded default lab through the installed plugin."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n")
    pytester.makepyfile(test_readme_example=readme_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", "-p", "no:randomly",
                                           timeout=120)
    result.assert_outcomes(passed=2)


def test_the_readme_scenario_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example scenario passes with `smslab run` on the embedded default lab."""
    from scenarios.cli import main as cli

    found = re.search(r"<!-- readme-scenario -->\n```yaml\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    assert found is not None, "README.md has no readme-scenario block"
    scenario = tmp_path / "example.yaml"
    scenario.write_text(found.group(1), encoding="utf-8")
    assert cli.main(["run", str(scenario)]) == 0, capsys.readouterr().out
