"""Tests for sim.proxy.rewrite: relative matching, back-references, the query string."""

from __future__ import annotations

import pytest

from sim.core.errors import ConfigError
from sim.proxy.rewrite import RewriteRule


def test_seed_rule_keeps_path_and_query() -> None:
    """A rule at /receivesms.php with pattern .* routes to /receivesms.php{R:0} with the query appended."""
    rule = RewriteRule.build("/receivesms.php", ".*", "/receivesms.php{R:0}")
    assert rule.apply("/receivesms.php", "From=1&healthcheckignore=1") == "/receivesms.php?From=1&healthcheckignore=1"


def test_rule_at_the_root_would_double_the_path() -> None:
    """The same action on a rule defined at the site root doubles the path (IIS matches below the rule's base)."""
    rule = RewriteRule.build("/", ".*", "/receivesms.php{R:0}")
    assert rule.apply("/receivesms.php") == "/receivesms.phpreceivesms.php"


def test_groups_and_no_query_append() -> None:
    """{R:1} takes a group; with appendQueryString off the query is dropped."""
    rule = RewriteRule.build("/", r"sms/(\w+)", "/in/{R:1}", append_query_string=False)
    assert rule.apply("/sms/kaleyra", "x=1") == "/in/kaleyra"


def test_requests_outside_the_base_do_not_match() -> None:
    """A rule defined at a path applies only under that path."""
    rule = RewriteRule.build("/kaleyra/mo", ".*", "/kaleyra/mo{R:0}")
    assert rule.apply("/other") is None
    assert rule.apply("/kaleyra/mosquito") is None


def test_bad_rules_are_config_errors() -> None:
    """A pattern that does not compile, or a back-reference to a missing group, is refused at build."""
    with pytest.raises(ConfigError, match=r"proxy.rewrite.pattern: is not a valid regular expression"):
        RewriteRule.build("/", "(", "/x")
    with pytest.raises(ConfigError, match=r"refers to \{R:2\} but the pattern has 1 group"):
        RewriteRule.build("/", "(a)", "/x{R:2}")
