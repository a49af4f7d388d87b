"""What every ``smslab serve`` entry point (and ``smslab up``) shares: stopping on a signal, one ready line.

A parent (a ``--processes`` lab, a user's script) starts the child, reads the first JSON line it prints for
its real URLs (everything binds port 0), and ends it with SIGTERM. ``stop_event`` and ``announce`` are those
two halves, written once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["announce", "stop_event"]


def stop_event(stop: asyncio.Event | None = None) -> asyncio.Event:
    """``stop`` when given (a test's own), else a new event set by SIGINT and SIGTERM on the running loop."""
    if stop is not None:
        return stop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def announce(line: Mapping[str, Any], out: TextIO | None = None) -> None:
    """Print ``line`` as one JSON line on ``out`` (stdout by default) and flush it at once."""
    out = out or sys.stdout
    out.write(json.dumps(dict(line)) + "\n")
    out.flush()
