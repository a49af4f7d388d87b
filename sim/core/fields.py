"""What a wire field holding an address or an id may hold, the same at every door.

A handset number, a short code or an alphanumeric sender (an *address*) is non-empty, at most
``MAX_ADDRESS`` characters, and printable: no NUL, CR, LF or other control or format character, no
unpaired surrogate. A message id (an *id*) follows the same rule with ``MAX_ID`` characters. The
broker definitions (``sim.brokerdef``), the Portico webhooks and the fakes' MO injection check their
fields with these, each answering a ``FieldError`` in its own format, before anything is stored.
"""

from __future__ import annotations

from sim.core.errors import InputError

__all__ = ["MAX_ADDRESS", "MAX_ID", "FieldError", "check_address", "check_id"]

#: E.164 has at most 15 digits; this leaves room for a ``+``, separators and alphanumeric senders.
MAX_ADDRESS = 64
#: Brokers' message ids are UUIDs or shorter; this leaves room for any of them.
MAX_ID = 256


class FieldError(InputError):
    """A field whose value no broker sends.

    Args:
        field: the field's name on the wire.
        message: what was wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, 400)
        self.field = field


def _check(value: str, field: str, limit: int, what: str) -> str:
    if not value:
        raise FieldError(field, f"{field!r} is required ({what})")
    if len(value) > limit:
        raise FieldError(field, f"{field!r} is {len(value)} characters long; {what} has at most {limit}")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise FieldError(field, f"{field!r} holds the character U+{ord(bad):04X}, which {what} cannot hold")
    return value


def check_address(value: str, field: str) -> str:
    """``value`` when it can be a number, short code or sender name.

    Raises:
        FieldError: it is empty, longer than ``MAX_ADDRESS``, or holds a character that is not printable.
    """
    return _check(value, field, MAX_ADDRESS, "a phone number or sender")


def check_id(value: str, field: str) -> str:
    """``value`` when it can be a message id.

    Raises:
        FieldError: it is empty, longer than ``MAX_ID``, or holds a character that is not printable.
    """
    return _check(value, field, MAX_ID, "a message id")
