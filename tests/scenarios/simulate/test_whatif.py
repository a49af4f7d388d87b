"""Tests for scenarios.simulate.whatif: reading a what-if file and its lab, every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.paths import PACKAGE_DIR
from scenarios.simulate.whatif import Expectation, load_whatif, read_whatif, set_path
from sim.core.errors import ConfigError

from .conftest import whatif_data

WHATIF_DIR = PACKAGE_DIR / "whatif"


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The (path, reason) of every problem reading ``data`` reports."""
    with pytest.raises(ConfigError) as caught:
        read_whatif(data, "bad.yaml")
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("path", sorted(WHATIF_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_whatif_file_reads(path: Path) -> None:
    """Each example under scenarios/whatif is a valid what-if file with expectations."""
    whatif = load_whatif(path)
    assert whatif.duration > 0
    assert whatif.expect


def test_a_whatif_merges_its_lab_sections_over_the_named_lab() -> None:
    """Carriers written in the what-if reach every fake of the embedded lab; the campaign is read."""
    whatif = read_whatif(whatif_data(), "w.yaml")
    assert [c.name for c in whatif.lab.fakes["kaleyra"].settings.carriers] == ["us"]
    assert whatif.campaigns[0].rate == 10
    assert whatif.seed == 3


def test_traffic_populations_join_the_labs_populations() -> None:
    """Populations under traffic are the lab's populations, folded into the fake they name."""
    people = [{"name": "p", "broker": "kaleyra", "country": "+1", "size": 5, "to": "8005550100"}]
    whatif = read_whatif(whatif_data(traffic={"populations": people}), "w.yaml")
    assert [p.name for p in whatif.lab.fakes["kaleyra"].settings.populations] == ["p"]


def test_a_lab_file_is_named_relative_to_the_whatif(tmp_path: Path) -> None:
    """`lab: lab.yaml` is read beside the what-if file, and its own extends followed."""
    (tmp_path / "lab.yaml").write_text("extends: default\nproxy: {timeout: 7}\n")
    (tmp_path / "w.yaml").write_text("lab: lab.yaml\nduration: 10\n")
    assert load_whatif(tmp_path / "w.yaml").lab.spec.proxy.timeout == 7


def test_every_problem_is_reported_with_its_path() -> None:
    """An unknown field, a negative rate, bad weights, an event after the end, unknown names: all at once."""
    data = whatif_data(
        durationn=5,
        carriers=[{"name": "us", "match": ["+1"], "outcomes": [{"state": "delivered", "weight": 0.5}]}],
        traffic={"campaigns": [{"name": "c", "count": 10, "rate": -1}]},
        events=[{"at": 61, "do": "kill", "node": "primary"}, {"at": 1, "do": "kill", "node": "tertiary"},
                {"at": 2, "do": "carrier-outage", "carrier": "mars", "until": 3}])
    found = problems_of(data)
    paths = [path for path, _ in found]
    assert "durationn" in paths
    assert ("traffic.campaigns[0].rate", "must be above 0 MTs per second") in found
    assert paths.count("traffic.campaigns[0].rate") == 1
    assert ("carriers[0].outcomes", "must have weights that sum to 1") in found
    assert ("events[0].at", "must be before the end (60 s)") in found
    assert ("events[1].node", "must be a node of the pair (primary, backup)") in found


def test_an_unknown_carrier_is_named_with_the_labs_carriers() -> None:
    """A carrier outage must name a carrier of the lab; the message lists them."""
    found = problems_of(whatif_data(events=[{"at": 2, "do": "carrier-outage", "carrier": "mars", "until": 3}]))
    assert found == [("events[0].carrier", "must be a carrier of the lab (us)")]


def test_an_expectation_must_name_a_figure() -> None:
    """`expect: {lots: 0}` is refused with the list of figures; bounds need min or max."""
    found = problems_of(whatif_data(expect={"lots": 0, "gap_s": {"below": 3}}))
    assert any(p == "expect.lots" and "is not a figure of the summary" in r for p, r in found)
    assert any(p == "expect.gap_s" and "min and/or max" in r for p, r in found)


def test_a_missing_duration_and_a_campaign_after_the_end_are_problems() -> None:
    """Duration is required; a campaign must start before the end."""
    data = whatif_data(traffic={"campaigns": [{"name": "c", "count": 1, "rate": 1, "start": 100}]})
    assert ("traffic.campaigns[0].start", "must be before the end (60 s)") in problems_of(data)
    data.pop("duration")
    assert ("duration", "is required") in problems_of(data)


def test_expectations_hold_or_not() -> None:
    """A number means equal; min and max are inclusive; a figure the run lacks never holds."""
    assert Expectation("lost", equal=0).holds(0)
    assert not Expectation("lost", equal=0).holds(1)
    assert Expectation("gap_s", high=30).holds(30)
    assert not Expectation("gap_s", low=1, high=2).holds(3)
    assert not Expectation("gap_s", high=2).holds(None)
    assert Expectation("gap_s", low=1, high=2).describe() == ">= 1 and <= 2"


def test_set_path_sets_nested_values_and_list_items() -> None:
    """`a.b[1].c=5` sets one value in a copy; the original is untouched."""
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert set_path(data, "a.b[1].c", 5) == {"a": {"b": [{"c": 1}, {"c": 5}]}}
    assert set_path(data, "x.y", 1)["x"] == {"y": 1}
    assert data["a"]["b"][1]["c"] == 2
    with pytest.raises(ConfigError, match="no item"):
        set_path(data, "a.b[5].c", 1)
