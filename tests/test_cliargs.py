"""Tests for sim.cliargs: the argument types every smslab command shares."""

from __future__ import annotations

import argparse

import pytest

from sim.cliargs import http_url, port, positive_float, positive_int, seconds, share, summary, whole


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("1", 1), ("8080", 8080), ("65535", 65535)])
def test_port_accepts_0_to_65535(text: str, value: int) -> None:
    """A port is any whole number from 0 (any free port) to 65535."""
    assert port(text) == value


@pytest.mark.parametrize("text", ["-1", "65536", "99999", "http", "80.5", ""])
def test_port_refuses_the_rest_with_the_range(text: str) -> None:
    """Anything else is refused with the range in the reason."""
    with pytest.raises(argparse.ArgumentTypeError, match="a port is a whole number"):
        port(text)


def test_counts_and_durations() -> None:
    """Counts start at 1, whole numbers at 0, durations are finite and above 0, pauses 0 or more."""
    assert (positive_int("1"), whole("0"), positive_float("0.5"), seconds("0")) == (1, 0, 0.5, 0.0)
    for convert, text in [(positive_int, "0"), (whole, "-1"), (positive_float, "0"), (positive_float, "inf"),
                          (positive_float, "nan"), (seconds, "-0.1"), (positive_int, "two")]:
        with pytest.raises(argparse.ArgumentTypeError):
            convert(text)


def test_share_is_a_fraction() -> None:
    """A share is above 0 and at most 1."""
    assert (share("1"), share("0.3")) == (1.0, 0.3)
    for text in ("0", "1.01", "-0.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="above 0 and at most 1"):
            share(text)


@pytest.mark.parametrize("text", ["http://127.0.0.1:8700", "https://lab.test/_smslab/", "http://[::1]:80"])
def test_http_url_accepts_absolute_urls(text: str) -> None:
    """An http or https URL with a host passes unchanged."""
    assert http_url(text) == text


@pytest.mark.parametrize("text", ["notaurl", "127.0.0.1:8700", "ftp://h/", "http://", "http://h:99999",
                                  "http://h:port"])
def test_http_url_refuses_the_rest(text: str) -> None:
    """A bare host, another scheme, no host or a bad port is refused."""
    with pytest.raises(argparse.ArgumentTypeError):
        http_url(text)


def test_summary_is_plain_text() -> None:
    """The first paragraph of a docstring, on one line, without reST literal quotes."""
    doc = """``smslab bench soak``: the lab under load
    for a long time.

    More detail."""
    assert summary(doc) == "smslab bench soak: the lab under load for a long time."
    assert summary(None) == ""
