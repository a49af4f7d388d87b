"""Reading an HTTP/1.1 answer from the bytes received so far (sans-IO, for ``http1``'s connections).

``parse_response(data, eof)`` returns ``None`` while the answer is incomplete and ``(status, body, keep)``
once it is whole, framed by Content-Length, chunked transfer coding, or the end of the connection
(RFC 9112 §6.3); ``keep`` says whether the connection may carry another request.
"""

from __future__ import annotations

__all__ = ["MAX_BODY", "MAX_HEAD", "MAX_HEADER_LINES", "ResponseError", "parse_response"]

#: Limits on what a push target may answer: a DR or MO answer is a status and a few bytes.
MAX_HEADER_LINES = 100
MAX_HEAD = 1 << 16
MAX_BODY = 1 << 20


class ResponseError(ValueError):
    """The peer answered something that is not an HTTP/1.1 response."""


def parse_response(data: bytes, eof: bool) -> tuple[int, bytes, bool] | None:
    """The answer in ``data``, or ``None`` while more bytes are needed.

    Args:
        data: every byte received for this request so far.
        eof: whether the peer has closed the connection (the end frames a body without a length).

    Raises:
        ResponseError: the bytes are not an HTTP/1.1 answer, or break a limit.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEAD:
            raise ResponseError(f"answer head over {MAX_HEAD} bytes")
        return None
    code, fields, keep = _head(data[:end].decode("latin-1"))
    rest = data[end + 4:]
    if "chunked" in fields.get("transfer-encoding", "").lower():
        chunked = _chunked(rest)
        return None if chunked is None else (code, chunked[0], keep and chunked[1] == len(rest))
    if "content-length" in fields:
        length = _length(fields["content-length"])
        if len(rest) < length:
            return None
        return code, rest[:length], keep and len(rest) == length
    if code in (204, 304) or 100 <= code < 200:
        return code, b"", keep and not rest
    if len(rest) > MAX_BODY:
        raise ResponseError(f"answer body over {MAX_BODY} bytes")
    return (code, rest, False) if eof else None  # framed by the end of the connection


def _head(head: str) -> tuple[int, dict[str, str], bool]:
    status_line, *lines = head.split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ResponseError(f"not an HTTP/1.1 status line: {status_line[:60]!r}")
    if len(lines) > MAX_HEADER_LINES:
        raise ResponseError(f"more than {MAX_HEADER_LINES} header lines")
    fields: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    keep = fields.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    return int(code), fields, keep


def _length(value: str) -> int:
    if not value.isdigit():
        raise ResponseError(f"Content-Length {value[:20]!r} is not a number")
    length = int(value)
    if length > MAX_BODY:
        raise ResponseError(f"answer body of {length} bytes is over {MAX_BODY}")
    return length


def _chunked(data: bytes) -> tuple[bytes, int] | None:
    """The de-chunked body and the bytes it took, or ``None`` while incomplete."""
    body = bytearray()
    pos = 0
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = data[pos:line_end].split(b";")[0].strip() or b"0"
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ResponseError(f"bad chunk size {size_text[:20]!r}") from None
        pos = line_end + 2
        if size == 0:
            return _trailers(data, pos, bytes(body))
        if len(data) < pos + size + 2:
            return None
        body += data[pos:pos + size]
        pos += size + 2
        if len(body) > MAX_BODY:
            raise ResponseError(f"answer body over {MAX_BODY} bytes")


def _trailers(data: bytes, pos: int, body: bytes) -> tuple[bytes, int] | None:
    while True:  # trailer fields, if any, up to the empty line
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        if line_end == pos:
            return body, pos + 2
        pos = line_end + 2
