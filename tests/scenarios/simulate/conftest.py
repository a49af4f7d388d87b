"""What the offline-world tests share: a small what-if of the embedded lab, built from a few overrides."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.simulate.whatif import WhatIf, read_whatif

US = {"name": "us", "match": ["+1"], "rates": {"short_code": 100, "long_code": 50, "toll_free": 50,
                                               "alphanumeric": 10},
      "latency": {"distribution": "fixed", "seconds": 2.0}, "dlr_latency": {"distribution": "fixed", "seconds": 0.5},
      "outcomes": [{"state": "delivered", "weight": 0.9}, {"state": "failed", "weight": 0.1, "code": "barred"}]}
CAMPAIGN = {"name": "c", "count": 200, "rate": 10, "to": {"country": "+1", "size": 50},
            "classification": "National"}


def whatif_data(**over: Any) -> dict[str, Any]:
    """A what-if of the embedded lab: one US carrier, 200 MTs at 10/s, 60 s, seed 3; ``over`` replaces keys."""
    data: dict[str, Any] = {"lab": "default", "duration": 60, "seed": 3, "carriers": [US],
                            "traffic": {"campaigns": [CAMPAIGN]}}
    data.update(over)
    return data


@pytest.fixture
def make_whatif() -> Any:
    """Builds a ``WhatIf`` from overrides of ``whatif_data``."""

    def make(**over: Any) -> WhatIf:
        return read_whatif(whatif_data(**over), "test.yaml")

    return make
