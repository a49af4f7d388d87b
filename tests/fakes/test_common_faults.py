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
    assert hook.for_push("mo", "http://proxy/kaleyra/mo") is None
    assert FaultKind.DROP_DLR == hook.for_push("dlr", "http://proxy/kaleyra/dr").kind


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


# -- every bound, default and matching rule (issue 19) -------------------------------------------------------


@pytest.mark.parametrize(("fault", "field", "reason"), [
    ({"kind": "error", "status": 99}, "status", "at least 100"),
    ({"kind": "error", "status": 600}, "status", "at most 599"),
    ({"kind": "error", "probability": 1.01}, "probability", "at most 1"),
    ({"kind": "error", "probability": -0.01}, "probability", "at least 0"),
    ({"kind": "latency", "delay": -0.5}, "delay", "at least 0"),
    ({"kind": "throttle", "retry_after": -1}, "retry_after", "at least 0"),
    ({"kind": "error", "count": 0}, "count", "at least 1"),
    ({"kind": "malformed", "content_type": ""}, "content_type", "empty"),
])
def test_each_bound_of_a_fault_is_refused_just_past_it(fault, field, reason):
    """One past each bound is a problem naming the field and the bound."""
    with pytest.raises(ConfigError) as info:
        read_faults([fault])
    [problem] = info.value.problems
    assert (f"faults[0].{field}", True) == (problem.path, reason in problem.reason), problem


@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 100}, {"kind": "error", "status": 599}, {"kind": "error", "probability": 1},
    {"kind": "error", "probability": 0}, {"kind": "latency", "delay": 0}, {"kind": "throttle", "retry_after": 0},
    {"kind": "error", "count": 1},
])
def test_each_bound_itself_is_accepted(fault):
    """Exactly at each bound the fault is read, with the value given."""
    [read] = read_faults([fault])
    key, value = next((k, v) for k, v in fault.items() if k != "kind")
    assert value == getattr(read, key)


def test_the_defaults_of_an_error_and_a_throttle():
    """An error answers 500 with the broker's own body as text/plain; a throttle says Retry-After 1; no count."""
    error, throttle, reorder = read_faults([{"kind": "error"}, {"kind": "throttle"}, {"kind": "reorder_dlr"}])
    assert ({"kind": "error", "count": None, "probability": 1.0, "status": 500, "body": "", "content_type": "text/plain"},
            {"kind": "throttle", "count": None, "probability": 1.0, "retry_after": 1},
            {"kind": "reorder_dlr", "count": None, "probability": 1.0, "delay": 5.0}) == (
        error.to_json(), throttle.to_json(), reorder.to_json())


def test_to_json_gives_back_every_field_it_was_read_with():
    """path, delay, status, body and content_type all survive to_json, and reading it back gives the same fault."""
    given = [{"kind": "error", "count": 3, "probability": 0.5, "path": "^/a2w", "status": 503, "body": "busy",
              "content_type": "application/json"},
             {"kind": "hang", "count": None, "probability": 1.0, "path": "/sms", "delay": 2.5},
             {"kind": "malformed", "count": None, "probability": 1.0, "body": "{", "content_type": "text/xml"}]
    faults = read_faults(given)
    assert given == [f.to_json() for f in faults]
    assert faults == read_faults([f.to_json() for f in faults])


def test_a_push_fault_with_a_path_applies_only_to_pushes_to_matching_urls():
    """drop_dlr limited to /portico applies to a DLR pushed there and not to one pushed elsewhere."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "drop_dlr", "path": "/portico"}]))
    assert hook.for_push("dlr", "http://proxy/kaleyra/dr") is None
    assert FaultKind.DROP_DLR == hook.for_push("dlr", "http://proxy/portico/dr").kind


def test_a_probability_of_zero_never_applies_and_of_one_always():
    """The boundary of the draw: probability 0 never fires, probability 1 fires without a draw."""
    never = FaultHook(random.Random(SEED), read_faults([{"kind": "error", "probability": 0}]))
    always = FaultHook(random.Random(SEED), read_faults([{"kind": "error", "probability": 1}]))
    assert ([False] * 50, [True] * 50) == ([never.for_request("/x") is not None for _ in range(50)],
                                           [always.for_request("/x") is not None for _ in range(50)])


def test_a_fault_that_does_not_fire_leaves_the_next_one_free_to():
    """A first fault that does not match, or loses its draw, does not keep the second from applying."""
    unmatched = FaultHook(random.Random(SEED), read_faults([{"kind": "reset", "path": "^/other"}, {"kind": "latency"}]))
    unlucky = FaultHook(random.Random(SEED), read_faults([{"kind": "reset", "probability": 0}, {"kind": "latency"}]))
    assert (FaultKind.LATENCY, FaultKind.LATENCY) == (unmatched.for_request("/x").kind, unlucky.for_request("/x").kind)


def test_counting_a_fault_down_keeps_its_place_and_the_others():
    """A counted fault before another: it fires, keeps first place while it has matches left, then leaves."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "reset", "count": 2}, {"kind": "latency"}]))
    kinds = [hook.for_request("/x").kind for _ in range(3)]
    assert ([FaultKind.RESET, FaultKind.RESET, FaultKind.LATENCY], [FaultKind.LATENCY]) == (
        kinds, [f.kind for f in hook.active()])
    assert hook.active()[0].count is None


def test_nothing_given_is_no_fault_at_all():
    """faults: left out or null reads as an empty list, not as a problem."""
    from sim.core.schema import MISSING

    assert ([], []) == (read_faults(None), read_faults(MISSING))


def test_not_a_list_is_reported_with_its_path_value_and_reason():
    """The problem of a string where faults belong names the field path, quotes the value, and says why."""
    with pytest.raises(ConfigError) as info:
        read_faults("reset", "fakes.k1.faults")
    [problem] = info.value.problems
    assert ("fakes.k1.faults", "reset", "must be a list of faults") == (problem.path, problem.value, problem.reason)


def test_problems_go_to_the_readers_list_when_one_is_given():
    """With a reader, read_faults records its problems there and raises nothing itself (the caller does)."""
    from sim.core.schema import Reader

    reader = Reader({}, "fakes.k1")
    read_faults([{"kind": "explode"}], "fakes.k1.faults", reader)
    assert ["fakes.k1.faults[0].kind"] == [p.path for p in reader.problems]
    with pytest.raises(ConfigError, match=r"fakes\.k1\.faults"):
        reader.raise_if_problems()


def test_a_certain_fault_takes_no_draw_from_the_generator():
    """A probability-1 fault fires without a draw, so a probabilistic fault's outcomes follow the seed exactly."""
    hook = FaultHook(random.Random(SEED), read_faults([{"kind": "error", "probability": 0.5, "path": "^/a"},
                                                       {"kind": "latency"}]))
    outcomes = []
    for _ in range(200):
        assert FaultKind.LATENCY == hook.for_request("/b").kind
        fault = hook.for_request("/a")
        outcomes.append(fault is not None and fault.kind is FaultKind.ERROR)
    reference = random.Random(SEED)
    assert [reference.random() < 0.5 for _ in range(200)] == outcomes
