"""``X-Hub-Signature``: HMAC-SHA1 of a raw body, written ``sha1=<digest>``, compared in constant time.

Digital Channels signs its webhooks to a third-party aggregator this way, and the aggregator signs its
calls to the Third-Party Messaging API the same way with the channel's API secret ("Third-party messaging
webhook" and "Third-Party Messaging API", Genesys Multicloud CX developer documentation). Whether the
digest is hex or base64 is not stated (GAP): hex by default (as Facebook's ``X-Hub-Signature``, which
it mirrors, is), base64 by setting. Both Nexus and the fake aggregator use this one module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import Enum

__all__ = ["SignatureEncoding", "sign", "verify_signature"]


class SignatureEncoding(Enum):
    """How the HMAC-SHA1 digest is written after ``sha1=``."""

    HEX = "hex"
    BASE64 = "base64"


def sign(secret: str, body: bytes, encoding: SignatureEncoding = SignatureEncoding.HEX) -> str:
    """``sha1=`` + HMAC-SHA1 of ``body`` with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    text = digest.hex() if encoding is SignatureEncoding.HEX else base64.b64encode(digest).decode("ascii")
    return f"sha1={text}"


def verify_signature(header: str, secret: str, body: bytes,
                     encoding: SignatureEncoding = SignatureEncoding.HEX) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret``, compared in constant time."""
    expected = sign(secret, body, encoding).encode("ascii")
    return hmac.compare_digest(header.strip().encode("utf-8", "replace"), expected)
