"""Tests for sim.core.loading: finding a core by entry point or module:Class."""

from __future__ import annotations

import pytest

from sim.core.errors import ConfigError
from sim.core.loading import available_cores, load_core_class
from sim.core.reference import ReferenceCore


def test_reference_core_is_registered() -> None:
    """The package registers its reference core under the smslab.cores entry-point group."""
    assert available_cores()["reference"] == "sim.core.reference:ReferenceCore"
    assert load_core_class("reference") is ReferenceCore


def test_module_and_class_spec() -> None:
    """A module:Class spec is imported directly."""
    assert load_core_class("sim.core.reference:ReferenceCore") is ReferenceCore


@pytest.mark.parametrize(("spec", "reason"), [
    ("nosuch", "must be module:Class or a registered core"),
    ("nosuch.module:Core", "cannot be imported"),
    ("sim.core.reference:Nope", "cannot be imported"),
    ("sim.core.routing:Destination", "is not an SMS core class (missing receive"),
])
def test_bad_specs_name_the_field(spec: str, reason: str) -> None:
    """Unknown names, failed imports and non-core classes are config errors at the core field."""
    with pytest.raises(ConfigError) as info:
        load_core_class(spec)
    problem = info.value.problems[0]
    assert (problem.path, problem.value) == ("core", spec)
    assert reason in problem.reason
