"""Tests for fakes.registry: kind names to factories, imported lazily."""

import pytest

from fakes.kaleyra import KaleyraFake
from fakes.registry import FACTORIES, create, factory, kinds
from sim.core.errors import ConfigError


def test_kinds_and_dotted_paths():
    """The three kinds map to their factories by dotted path."""
    assert (("asyncgw", "http-broker", "kaleyra", "portico"), "fakes.portico:create") == (kinds(), FACTORIES["portico"])


def test_every_registered_factory_imports_and_is_callable():
    """Each kind's factory resolves to a callable."""
    assert [True, True, True, True] == [callable(factory(kind)) for kind in kinds()]


def test_create_builds_a_kaleyra_fake_with_path_in_problems():
    """create() builds the fake; a problem names the path under fakes.NAME."""
    fake = create("kaleyra", "k9", {"seed": 5})
    with pytest.raises(ConfigError) as info:
        create("kaleyra", "k9", {"seed": "five"})
    assert (KaleyraFake, "k9", 5) == (type(fake), fake.name, fake.settings.seed)
    assert ["fakes.k9.seed"] == [p.path for p in info.value.problems]


def test_unknown_kind_is_a_config_problem():
    """An unknown kind is a ConfigError listing the known ones."""
    with pytest.raises(ConfigError, match="kind: must be one of asyncgw, http-broker, kaleyra, portico"):
        create("twilio", "t1")
