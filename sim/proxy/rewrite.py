"""URL Rewrite as ARR applies it before routing to the server farm (IIS URL Rewrite module documentation).

IIS matches a rule's pattern against the URL path *relative to where the rule is defined*, without the
leading slash and without the query string; ``{R:0}`` is the whole match and ``{R:1}``..``{R:9}`` its
groups; the query string is appended (``appendQueryString`` defaults to true). The SMS Technical Reference
("Reverse Proxy - URL Rewrite") gives the action path ``/receivesms.php{R:0}`` for EzTexting. With a rule
defined at the broker's incoming path and the pattern ``.*``, ``{R:0}`` is what follows that path, so
nothing is doubled. The real pattern lives in the production ``web.config`` (GAP): ``base`` and ``pattern``
are settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.core.errors import ConfigError, Problem

__all__ = ["RewriteRule"]

_BACKREF = re.compile(r"\{R:(\d)\}")


@dataclass(frozen=True)
class RewriteRule:
    """One rewrite rule: where it is defined, what it matches, the path it routes to.

    Attributes:
        base: the path the rule is defined at; it applies to requests under it.
        pattern: matched against the path relative to ``base`` (no leading slash, no query string).
        action_path: the path on the farm member, with ``{R:n}`` back-references.
        append_query_string: keep the request's query string (IIS default: true).
    """

    base: str
    pattern: re.Pattern[str]
    action_path: str
    append_query_string: bool = True

    @classmethod
    def build(cls, base: str, pattern: str, action_path: str, append_query_string: bool = True,
              path: str = "proxy.rewrite") -> RewriteRule:
        """A rule from its settings, checked now.

        Raises:
            ConfigError: the pattern does not compile, or the action refers to a group it lacks.
        """
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            reason = f"is not a valid regular expression: {exc}"
            raise ConfigError([Problem(f"{path}.pattern", pattern, reason)]) from exc
        for ref in _BACKREF.findall(action_path):
            if int(ref) > compiled.groups:
                reason = f"refers to {{R:{ref}}} but the pattern has {compiled.groups} group(s)"
                raise ConfigError([Problem(f"{path}.action_path", action_path, reason)])
        return cls(base.rstrip("/") or "/", compiled, action_path, append_query_string)

    def apply(self, path: str, query: str = "") -> str | None:
        """The rewritten path and query for a request, or ``None`` when the rule does not apply."""
        if self.base != "/" and not (path == self.base or path.startswith(self.base + "/")):
            return None
        relative = path[len(self.base):] if self.base != "/" else path
        match = self.pattern.search(relative.lstrip("/"))
        if match is None:
            return None
        rewritten = _BACKREF.sub(lambda m: match.group(int(m.group(1))) or "", self.action_path)
        if query and self.append_query_string:
            rewritten += ("&" if "?" in rewritten else "?") + query
        return rewritten
