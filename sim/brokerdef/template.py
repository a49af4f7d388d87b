"""Value templates of broker definitions: ``{name}`` fields over a fixed vocabulary, never evaluated.

A template is parsed once, when its definition is loaded, into literal pieces and field names; a name
outside the vocabulary of its section is refused then (a rule is never ``eval``-ed). The same
parsed template renders a value (the sending end) and reads one back (the receiving end), which is how one
definition drives both the fake broker and the simulated CIC node.

Syntax: ``{to}`` inserts a field; ``{{`` and ``}}`` are literal braces; everything else is literal.
Reading back, each field takes the shortest text that lets the rest of the template match, so two fields
must be separated by literal text (``{from}{to}`` could not be read back and is refused).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

__all__ = [
    "DR_FIELDS",
    "MO_FIELDS",
    "MT_FIELDS",
    "Template",
    "TemplateError",
    "parse_template",
]

# The MT vocabulary: what a CIC node knows when it sends one request (the broker's Accounts and Message
# Terminated tabs: the account's ID, Login and Password; the ExternalDeliveryStatusURI option) and what
# the core's MtRequest carries.
# ``option.<Name>`` fields are added per definition, from the option names it declares.
MT_FIELDS = frozenset({
    "to", "from", "text", "account.id", "account.login", "account.password", "dr_url",
    "reference", "part", "parts", "correlation", "encoding",
})
# What a broker tells the CIC node in an MO push.
MO_FIELDS = frozenset({"from", "to", "text", "message_id"})
# What a broker tells the CIC node in a DR push (Kaleyra's DR is the richest example).
DR_FIELDS = frozenset({"message_id", "recipient", "status", "status_code", "correlation"})

_NAME = re.compile(r"[a-z][a-z_]*(\.[A-Za-z][A-Za-z0-9_]*)?")


class TemplateError(ValueError):
    """A template's text is malformed or names a field outside its vocabulary."""


@dataclass(frozen=True)
class Template:
    """A parsed template: literal pieces and field names, alternating, starting with a literal.

    Attributes:
        source: the template as written in the definition.
        pieces: ``(literal, field, literal, field, ..., literal)``; always an odd number of items.
    """

    source: str
    pieces: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in order of appearance."""
        return self.pieces[1::2]

    @property
    def is_literal(self) -> bool:
        """Whether the template holds no field at all."""
        return len(self.pieces) == 1

    def render(self, values: Mapping[str, str]) -> str:
        """The template with each field replaced by its value.

        Raises:
            KeyError: when ``values`` lacks a field (a bug in the caller: vocabularies are closed).
        """
        out = []
        for i, piece in enumerate(self.pieces):
            out.append(values[piece] if i % 2 else piece)
        return "".join(out)

    def match(self, text: str) -> dict[str, str] | None:
        """Read the field values back out of ``text``; ``None`` when the literal parts do not match."""
        found = _regex(self).fullmatch(text)
        if found is None:
            return None
        return {name: found.group(_group(name)) for name in dict.fromkeys(self.fields)}


def _group(name: str) -> str:
    return "f_" + name.replace(".", "__")


_REGEX_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _regex(template: Template) -> re.Pattern[str]:
    cached = _REGEX_CACHE.get(template.pieces)
    if cached is not None:
        return cached
    parts: list[str] = []
    seen: set[str] = set()
    for i, piece in enumerate(template.pieces):
        if i % 2 == 0:
            parts.append(re.escape(piece))
        elif piece in seen:
            parts.append(f"(?P={_group(piece)})")
        else:
            seen.add(piece)
            parts.append(f"(?P<{_group(piece)}>.*?)")
    compiled = re.compile("".join(parts), re.DOTALL)
    _REGEX_CACHE[template.pieces] = compiled
    return compiled


def parse_template(source: str, vocabulary: Collection[str]) -> Template:
    """Parse ``source`` and check every field against ``vocabulary``.

    Args:
        source: the template text.
        vocabulary: the field names allowed in this place of the definition.

    Raises:
        TemplateError: an unbalanced brace, an empty or unknown field, or two fields with no literal
            text between them.
    """
    pieces: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if source.startswith("{{", i) or source.startswith("}}", i):
            literal.append(char)
            i += 2
        elif char == "}":
            raise TemplateError(f"unmatched '}}' at offset {i} (write '}}}}' for a literal brace)")
        elif char == "{":
            end = source.find("}", i)
            if end < 0:
                raise TemplateError(f"unclosed '{{' at offset {i}")
            name = source[i + 1:end]
            _check_name(name, vocabulary)
            if pieces and not "".join(literal):
                raise TemplateError(f"field {{{name}}} follows another field with no text between them")
            pieces += ["".join(literal), name]
            literal = []
            i = end + 1
        else:
            literal.append(char)
            i += 1
    pieces.append("".join(literal))
    return Template(source, tuple(pieces))


def _check_name(name: str, vocabulary: Collection[str]) -> None:
    if not name:
        raise TemplateError("empty field '{}'")
    if _NAME.fullmatch(name) is None or name not in vocabulary:
        allowed = ", ".join("{" + v + "}" for v in sorted(vocabulary))
        raise TemplateError(f"unknown field {{{name}}} (allowed: {allowed})")
