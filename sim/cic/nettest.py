"""The Switchover NetTest: its address (``host:port``) and the TCP connect that tests it.

Automated Switchover Technical Reference, "Switchover NetTest Server Parameters".

After ``max_failures`` failed pings the backup tests the NetTest address on the active server's segment
within ``nettest_timeout``: a TCP connect that succeeds means the backup's own network is fine (it takes
over); one that fails means it is the backup that is cut off (it does not switch). An empty address always
answers, so a lab without a NetTest address takes over after detection alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

__all__ = ["reachable", "split_host_port"]

_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\s]+):(?P<port>\d{1,5})")


def split_host_port(address: str) -> tuple[str, int] | None:
    """``host:port`` (an IPv6 host in brackets) as ``(host, port)``; ``None`` unless the port is 1-65535."""
    match = _HOST_PORT.fullmatch(address.strip())
    if match is None or not 0 < int(match["port"]) <= 65535:
        return None
    return match["host"].strip("[]"), int(match["port"])


async def reachable(address: str, timeout: float) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds ("" is always reachable)."""
    target = split_host_port(address) if address else None
    if target is None:
        return True
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*target), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
