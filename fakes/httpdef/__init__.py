"""The definition-driven fake broker (kind ``http-broker``): one broker definition, served over HTTP.

The definition format and the wire functions of both of its ends live below this package, in
``sim.brokerdef`` (the CIC node reads the same definitions). Here are the fake's own parts: its settings
and business rules (``model``: accounts, credit, opt-out, rate) and its aiohttp shell (``fake``).

Public surface: ``HttpDefFake``, ``HttpDefSettings``, ``create`` (the registry's factory) and
``read_fake``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.common import CommonSettings, FakeBroker, TriggeredOutcomes, read_common
from fakes.httpdef.fake import HttpDefFake
from fakes.httpdef.model import HttpDefSettings, read_settings
from sim.brokerdef.definition import Definition
from sim.core.schema import Reader

__all__ = ["HttpDefFake", "HttpDefSettings", "create", "read_fake"]


def create(name: str, settings: Mapping[str, Any], path: str) -> FakeBroker:
    """Build a definition-driven fake (the registry's factory for kind ``http-broker``).

    Args:
        name: the fake's name; also the shipped definition used when ``definition`` is not set.
        settings: the fake's settings mapping (shared keys plus those of ``fakes.httpdef.model``).
        path: where the mapping sits in the lab file, e.g. ``fakes.ez1``.

    Raises:
        ConfigError: every problem in the settings (or the definition), each with its path.
    """
    return HttpDefFake(name, *read_fake(name, settings, path))


def read_fake(name: str, settings: Mapping[str, Any], path: str) -> tuple[CommonSettings, HttpDefSettings]:
    """The shared and the definition-driven settings of a fake, validated together.

    Raises:
        ConfigError: every problem in the settings (or the definition), each with its path.
    """
    r = Reader(settings, path)
    common = read_common(r, dlr_delay=1.0)
    own = read_settings(r, name)
    r.done("kind")
    if own is not None:
        _check_outcomes(r, own.definition, common.dlr.outcomes, common.dlr_enabled)
    r.raise_if_problems()
    assert own is not None
    return common, own


def _check_outcomes(r: Reader, definition: Definition, outcomes: object, enabled: bool) -> None:
    """Every DR outcome the settings can choose needs a word in the definition's DR vocabulary."""
    if definition.dr is None or not enabled or not isinstance(outcomes, TriggeredOutcomes):
        return
    states = [s for _, s in outcomes.triggers] + [s for s, _ in outcomes.weights]
    for state in dict.fromkeys(states):
        if definition.dr.entry_for(state) is None:
            r.problem("dlr.outcomes", state.value,
                      f"definition {definition.name!r} has no DR status for this outcome")
