"""Settings for the whole suite: the Hypothesis profile a mutation run chooses (``--hypothesis-profile``)."""

from __future__ import annotations

from hypothesis import settings

# `mutmut run` (see pyproject.toml) tries each of hundreds of mutants against the tests that reach it: fewer,
# fixed examples keep that run within minutes, and a mutant is then killed or not the same way every time.
# The literal edge tests beside each property are what pin the boundaries; the properties add breadth.
settings.register_profile("mutation", max_examples=25, derandomize=True, database=None, deadline=None)
