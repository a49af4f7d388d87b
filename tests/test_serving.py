"""Tests for sim.serving: the stop event every serve entry point waits on, and its one ready line."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal

from sim.serving import announce, stop_event


async def test_a_given_event_is_used_as_it_is() -> None:
    """A caller's own stop event comes back unchanged (tests stop a server without signals)."""
    mine = asyncio.Event()
    assert stop_event(mine) is mine


async def test_sigterm_sets_the_new_event() -> None:
    """Without an event, SIGTERM to this process sets the one returned, and the handlers are removed after."""
    loop = asyncio.get_running_loop()
    stop = stop_event()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    assert stop.is_set()


def test_announce_prints_one_flushed_json_line() -> None:
    """The ready line is one JSON object followed by a newline."""
    out = io.StringIO()
    announce({"name": "k1", "url": "http://127.0.0.1:1"}, out)
    assert ['{"name": "k1", "url": "http://127.0.0.1:1"}'] == out.getvalue().splitlines()
    assert {"name": "k1", "url": "http://127.0.0.1:1"} == json.loads(out.getvalue())
