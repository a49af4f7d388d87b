"""Tests of sim.cic.nettest: the NetTest address and the TCP connect that tests it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sim.cic.nettest import reachable, split_host_port


@pytest.mark.parametrize(("address", "expected"), [
    ("10.0.0.1:7", ("10.0.0.1", 7)),
    (" cic-b.example:65535 ", ("cic-b.example", 65535)),
    ("[::1]:8080", ("::1", 8080)),
    ("nohost", None),
    ("host:0", None),
    ("host:65536", None),
    ("a b:80", None),
], ids=["ipv4", "name-max-port", "ipv6", "no-port", "port-0", "port-too-big", "space"])
def test_split_host_port(address: str, expected: tuple[str, int] | None) -> None:
    """host:port splits into its parts; anything else, or a port outside 1-65535, is None."""
    assert expected == split_host_port(address)


async def test_an_empty_address_is_always_reachable() -> None:
    """A lab without a NetTest address takes over after detection alone."""
    assert True is await reachable("", 0.01)


async def test_a_listening_address_is_reachable_and_a_closed_one_is_not() -> None:
    """A TCP connect that opens means reachable; a refused one does not."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    try:
        port = server.sockets[0].getsockname()[1]
        assert (True, False) == (await reachable(f"127.0.0.1:{port}", 1.0),
                                 await reachable(f"127.0.0.1:{closed}", 1.0))
    finally:
        server.close()
        await server.wait_closed()
