"""Tests for sim.http1.parse: reading an HTTP/1.1 answer from the bytes received so far."""

import pytest

from sim.http1.parse import ResponseError, parse_response


@pytest.mark.parametrize(("data", "eof", "expected"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", False, None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False, (200, b"ok", True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", False, (200, b"ok", False)),
    (b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False, (201, b"", False)),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False, (200, b"", False)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", False, None),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\n\r\n", False, (200, b"abc", True)),
    (b"HTTP/1.1 204 No Content\r\n\r\n", False, (204, b"", True)),
    (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", False, None),
    (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", True, (200, b"until the end", False)),
])
def test_parse_response_frames(data, eof, expected):
    """Answers are complete only once framed whole; extra bytes or close forbid reuse."""
    assert expected == parse_response(data, eof)


@pytest.mark.parametrize(("data", "message"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "not a number"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", "over"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"x" * 70000, "head over"),
])
def test_parse_response_refuses_garbage(data, message):
    """A bad length, a bad chunk size or a head without end is a ResponseError."""
    with pytest.raises(ResponseError, match=message):
        parse_response(data, False)

