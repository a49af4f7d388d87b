"""The backup's watch over the active node: the timed commands of the transition table, one at a time.

Theory of operation. ``PairRuntime`` hands the timed commands of ``sim.core.switchover`` to the watch,
which waits, acts and says which event came of it:

- ``ping``: after ``after`` seconds, the backup pings the active node's TsServer (``handle.ping``) within
  ``ts_timeout`` -> PING_OK or PING_FAILED (Automated Switchover Technical Reference, "TS Ping");
- ``nettest``: a TCP connect to ``nettest`` (host:port; "" always answers, ``sim.cic.nettest``) within
  ``nettest_timeout`` -> NETTEST_OK or NETTEST_FAILED ("Switchover NetTest Server Parameters"); the
  ``isolate`` fault on the backup makes it fail;
- ``start-subsystems``: ``takeover_time`` seconds, then TAKEOVER_DONE.

At most one timed command is pending; each event starts a new generation, and an outcome from an older one
is dropped. A backup that is killed or hung watches nothing: a pending command waits until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sim.cic.handles import NodeHandle
from sim.cic.nettest import reachable
from sim.core.switchover import Command, Event

__all__ = ["BackupWatch", "Outcome", "Step", "ping_once"]

Step = Callable[[], Coroutine[Any, Any, tuple[Event, dict[str, Any]]]]
"""A timed command: waits, acts, and says which event came of it."""
Outcome = Callable[[int, Event, dict[str, Any]], Awaitable[None]]
"""Takes a step's event (and its timeline fields) with the generation the step was started in."""


async def ping_once(handle: NodeHandle, timeout: float) -> bool:
    """One TsServer ping of ``handle``: True when it answered within ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(handle.ping(timeout), timeout)
    except TimeoutError:
        return False


class BackupWatch:
    """The one pending timed command, its generation, and whether the backup watches at all.

    Args:
        outcome: called with each finished step's generation, event and fields.
        on_error: called with the message of a step (or outcome) that raised, so the watch never dies
            silently.
    """

    def __init__(self, outcome: Outcome, on_error: Callable[[str], None]) -> None:
        self.generation = 0
        self._outcome = outcome
        self._on_error = on_error
        self._task: asyncio.Task[None] | None = None
        self._watching = asyncio.Event()

    # -- the pending command ------------------------------------------------------------------------------

    def next_generation(self) -> None:
        """Start a new generation: the outcome of any step started before is stale from now on."""
        self.generation += 1

    def watching(self, alive: bool) -> None:
        """Let the steps go on (the backup is alive) or hold them where they are (killed or hung)."""
        if alive:
            self._watching.set()
        else:
            self._watching.clear()

    def schedule(self, step: Step) -> None:
        """Run ``step`` on the loop in the current generation."""
        self._task = asyncio.get_running_loop().create_task(self._timed(self.generation, step))

    def cancel(self) -> None:
        """Cancel the pending step, unless it is the one running this call."""
        task = self._task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    async def stop(self) -> None:
        """Cancel the pending step and wait until it has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _timed(self, generation: int, step: Step) -> None:
        try:
            event, fields = await step()
            await self._outcome(generation, event, fields)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the watch must not die silently: the timeline says what broke
            self._on_error(f"{type(exc).__name__}: {exc}")

    # -- the steps ----------------------------------------------------------------------------------------

    async def ping(self, command: Command, target: Callable[[], NodeHandle]) -> tuple[Event, dict[str, Any]]:
        """``ping``: wait ``after``, then ping the node that is active by then within ``timeout``."""
        await asyncio.sleep(command.after)
        await self._watching.wait()
        ok = await ping_once(target(), command.timeout)
        return (Event.PING_OK if ok else Event.PING_FAILED), {}

    async def nettest(self, command: Command, address: str,
                      isolated: Callable[[], bool]) -> tuple[Event, dict[str, Any]]:
        """``nettest``: connect to ``address`` within ``timeout``; an isolated backup runs into it."""
        await self._watching.wait()
        if isolated():  # the backup's own network is cut: the ping runs into its timeout
            await asyncio.sleep(command.timeout)
            ok = False
        else:
            ok = await reachable(address, command.timeout)
        return (Event.NETTEST_OK if ok else Event.NETTEST_FAILED), {"nettest": address}

    async def takeover(self, command: Command) -> tuple[Event, dict[str, Any]]:
        """``start-subsystems``: the backup's subsystems start, ``timeout`` seconds (takeover_time, GAP)."""
        await self._watching.wait()
        await asyncio.sleep(command.timeout)
        await self._watching.wait()
        return Event.TAKEOVER_DONE, {}
