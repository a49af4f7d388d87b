"""Tests for loadtests.locustfiles.plan: the plan survives its JSON file, and says where it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.locustfiles.plan import ENV, BrokerPlan, Plan


def test_a_plan_read_back_from_its_file_is_the_plan_written(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """write then from_env (the variable naming the file), or the plan inline, gives an equal plan."""
    plan = Plan("http://127.0.0.1:1", (BrokerPlan("kaleyra", "kaleyra-directtext", "http://p/k", "800"),),
                "ab12", str(tmp_path), 2.5, "hang", (("kaleyra", "Local", "handset"),), 0.1)
    monkeypatch.setenv(ENV, str(plan.write(tmp_path / "plan.json")))
    assert plan == Plan.from_env()
    monkeypatch.setenv(ENV, plan.inline())  # a worker on another host gets it inline
    assert plan == Plan.from_env()


def test_without_the_variable_the_plan_says_to_run_through_smslab_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locustfile started by hand learns that smslab load writes its plan."""
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(RuntimeError, match="run this locustfile with `smslab load`"):
        Plan.from_env()
