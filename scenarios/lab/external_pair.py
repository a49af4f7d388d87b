"""Two external members behind the proxy: the lab's view of them, in place of the simulated pair's runtime.

Theory of operation. Two independent servers (two gateways, say) have no switchover protocol between them:
the proxy's health test is what chooses. Each farm routes round robin over the members its last probe found
healthy (ARR's farm, ``sim.proxy.farm``), so while both answer, both take traffic, as two gateways behind
a real ARR farm do; when one stops answering, the next probe takes it out and every request goes to the
other. ``ExternalPair`` follows the farms' health (the proxies' ``GET /_smslab/farm``, every
``interval`` seconds, in process or not) and calls a member *serving* when every farm finds it healthy and
*down* otherwise; the *active* member, the one the lab asks to send an MT, is the first serving one,
primary first (its role reads ``active``, the other serving one's ``backup``). Faults and restores are the
members' own actions (``scenarios.lab.external``); each one, and each change of a member's state, goes on
the timeline, shaped like the simulated pair's (``at``, ``t``, ``event``, ``node``): ``promoted`` names a
member that became the active one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from scenarios.lab.external import ExternalServer
from sim.core.errors import InputError

__all__ = ["ExternalPair"]

FarmReports = Callable[[], Awaitable[list[dict[str, Any]]]]


class ExternalPair:
    """The two external members as the control API and the lab see them.

    Args:
        servers: the members by name, in preference order (primary first), started.
        members: per farm (incoming port), member name -> its ``host:port`` in that farm.
        farms: reads every proxy's farm report (``{"incoming_port", "members": [{member, healthy}]}``).
        interval: seconds between two reads of the farms.
    """

    def __init__(self, servers: Mapping[str, ExternalServer], members: Mapping[int, Mapping[str, str]],
                 farms: FarmReports, interval: float = 0.05) -> None:
        self.servers, self.members, self._farms, self.interval = dict(servers), members, farms, interval
        self.serving: dict[str, bool] = dict.fromkeys(self.servers, False)
        self.timeline: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._began = time.time()
        self._active: str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def faults(self) -> dict[str, str]:
        """The fault in effect per member (members without one left out)."""
        return {n: s.fault for n, s in self.servers.items() if s.fault}

    def note(self, event: str, node: str, **extra: Any) -> None:
        """Put one entry on the timeline."""
        now = time.time()
        entry = {"at": now, "t": round(now - self._began, 4), "event": event, "node": node, **extra}
        self.timeline.append(entry)
        for listener in self.listeners:
            listener(entry)

    def on_timeline(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each new timeline entry (the lab's event stream and metrics)."""
        self.listeners.append(listener)

    async def start(self) -> None:
        """Read the farms once, then keep following them."""
        await self.poll()
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):  # a proxy that does not answer counts as "nothing healthy"
                await self.poll()

    async def poll(self) -> None:
        """Read every farm's report and update the members' states and the active member."""
        reports = await self._farms()
        for name in self.servers:
            up = bool(reports) and all(self._healthy(r, name) for r in reports)
            if up != self.serving[name]:
                self.serving[name] = up
                self.note("serving" if up else "down", name, why="the proxy's health test")
        active = next((n for n in self.servers if self.serving[n]), None)
        if active != self._active:
            self._active = active
            if active is not None:
                self.note("promoted", active, why="first member every farm finds healthy")

    def _healthy(self, report: Mapping[str, Any], name: str) -> bool:
        member = self.members.get(int(report.get("incoming_port", 0)), {}).get(name)
        return any(m.get("member") == member and m.get("healthy") for m in report.get("members", ()))

    async def stop(self) -> None:
        """Stop following the farms (the members are stopped by the lab)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def active_name(self) -> str | None:
        """The member the lab sends through: the first one every farm finds healthy."""
        return self._active

    def role_of(self, name: str) -> str:
        """``active`` (the member sends go through), ``backup`` (healthy too: it takes its share of the
        proxy's traffic) or ``down``, as the farms last saw ``name``; the simulated pair's words, so that a
        scenario's ``node <name> active`` reads the same on either pair."""
        if name == self._active:
            return "active"
        return "backup" if self.serving.get(name) else "down"

    def status(self) -> dict[str, Any]:
        """The pair's state, for the control API (``switchover`` in its answers)."""
        return {"kind": "external", "active": self._active,
                "roles": {n: self.role_of(n) for n in self.servers}, "faults": self.faults,
                "recovery": {"effective": False, "why": "external members keep their own state"}}

    async def fail(self, name: str, mode: str) -> None:
        """Carry out member ``name``'s ``mode`` fault."""
        await self.servers[name].fail(mode)
        self.note("fault", name, mode=mode)

    async def restore(self, name: str) -> None:
        """Undo member ``name``'s fault."""
        had = self.servers[name].fault
        await self.servers[name].restore()
        self.note("restore", name, mode=had or "none")

    async def reset(self) -> list[str]:
        """Every fault undone; returns the members that had one."""
        restored = sorted(self.faults)
        for name in restored:
            await self.restore(name)
        return restored

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds after a farm read, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await self.poll()
            await asyncio.sleep(min(self.interval, left))
        return True

    async def manual_switchover(self, wait: float = 0.0) -> None:
        """Refused: two external members have no switchover control; the proxy's health test chooses.

        Raises:
            InputError: always, 501 (the control API's "this pair cannot do that": a scenario skips it).
        """
        raise InputError("the pair is external: there is no switchover control; fail the active member "
                         "(POST /_smslab/nodes/{name}/fail) and the proxy's health test moves the traffic",
                         501)
