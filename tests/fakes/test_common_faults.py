"""Tests for fakes.common.faults: reading faults and the hook's matching rules."""

import random

import pytest

from fakes.common.faults import FaultHook, FaultKind, read_faults
from sim.core.errors import ConfigError

SEED = 7


def test_read_faults_fills_defaults_per_kind():
    """A fault needs only its kind; delays default per kind (a hang outlasts CIC's 60 s timeout)."""
    faults = read_faults([{"kind": "hang"}, {"kind": "latency"}, {"kind": "throttle", "retry_after": 30}])
    assert [{"kind": "hang", "count": None, "probability": 1.0, "delay": 120.0},
            {"kind": "latency", "count": None, "probability": 1.0, "delay": 1.0},
            {"kind": "throttle", "count": None, "probability": 1.0, "retry_after": 30}] == [
        f.to_json() for f in faults]


def test_read_faults_reports_every_problem_with_its_path():
    """Bad kinds, counts, statuses, regexes and unknown keys are all reported, each with its path."""
    with pytest.raises(ConfigError) as info:
        read_faults([{"kind": "explode"}, {"kind": "error", "status": 99, "count": 0, "path": "(", "x": 1}],
                    "fakes.k1.faults")
    paths = [p.path for p in info.value.problems]
    assert ["fakes.k1.faults[0].kind", "fakes.k1.faults[1].count", "fakes.k1.faults[1].path",
            "fakes.k1.faults[1].status", "fakes.k1.faults[1].x"] == paths


def test_a_single_mapping_is_a_list_of_one():
    """PUT /_smslab/faults may send one fault object instead of a list."""
    assert [FaultKind.RESET] == [f.kind for f in read_faults({"kind": "reset"})]


def test_not_a_list_is_a_problem():
    """A string where faults belong is refused."""
    with pytest.raises(ConfigError, match="must be a list of faults"):
        read_faults("reset")


def test_count_limits_a_fault_to_the_next_n_matches():
    """A fault with a count applies that many times, then is gone."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "error", "count": 2}]))
    got = [hook.for_request("/x") is not None for _ in range(3)]
    assert ([True, True, False], [], 2) == (got, hook.active(), hook.applied)


def test_path_pattern_limits_request_faults():
    """A path pattern restricts a request fault to matching paths."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "reset", "path": "^/a2w"}]))
    assert hook.for_request("/v1/x/messages") is None
    assert FaultKind.RESET == hook.for_request("/a2w_preRouter/httpApiRouter").kind


def test_request_and_push_faults_do_not_mix():
    """Push faults never apply to requests, request faults never to pushes, and kinds match their push."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "drop_dlr"}, {"kind": "latency"}]))
    assert FaultKind.LATENCY == hook.for_request("/x").kind
    assert hook.for_push("mo") is None
    assert FaultKind.DROP_DLR == hook.for_push("dlr").kind


def test_probability_uses_the_seeded_generator():
    """A fault with probability applies about that often, identically for the same seed."""
    def run() -> list[bool]:
        hook = FaultHook(random.Random(SEED), read_faults([{"kind": "error", "probability": 0.25}]))
        return [hook.for_request("/x") is not None for _ in range(4000)]

    first = run()
    assert first == run()
    assert 850 < sum(first) < 1150


def test_set_add_clear():
    """Faults can be replaced, appended to and cleared."""
    hook = FaultHook(random.Random(SEED))
    hook.set(read_faults([{"kind": "reset"}]))
    hook.add(read_faults({"kind": "latency"})[0])
    kinds = [f.kind for f in hook.active()]
    hook.clear()
    assert ([FaultKind.RESET, FaultKind.LATENCY], []) == (kinds, hook.active())
