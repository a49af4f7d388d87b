"""The event stream's source in ``--processes`` mode: the components' own inspection APIs, followed.

In process, ``scenarios.lab.watch`` hooks the fakes, nodes and proxies directly. With ``--processes`` they are
other processes, so ``RemoteFollower`` reads what is new from each every ``interval`` seconds and hands it
to the same ``LabWatch``: each fake's captured records and push attempts (``GET /_smslab/messages`` and
``GET /_smslab/pushes`` after the last ``seq`` seen: nothing is read twice), the active node's interactions
updated since the last one seen (``GET /_smslab/interactions?since=``), and each proxy's farm (a member's
health differing from the last read is a ``farm`` event). The console and ``/metrics`` are then the same
in both modes, a little later (at most ``interval``) and without the proxy's per-answer counts, which
only an in-process proxy reports. A component that does not answer is tried again next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from scenarios.lab.watch import LabWatch

__all__ = ["FOLLOW_INTERVAL", "RemoteFollower"]

FOLLOW_INTERVAL = 0.25  # seconds between two reads of every component
_PAGE = 1000
_UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, ValueError)


class RemoteFollower:
    """Reads what is new from every component of a ``--processes`` lab and feeds ``watch``.

    Args:
        watch: where events and metrics go.
        session: the lab's client session.
        fakes: each fake's URL by name.
        proxies: each proxy's URL by incoming port.
        active: the active node's name and control URL (``None`` while no node is active).
        interval: seconds between rounds.
    """

    def __init__(self, watch: LabWatch, session: aiohttp.ClientSession, fakes: Mapping[str, str],
                 proxies: Mapping[int, str], active: Callable[[], tuple[str, str] | None], *,
                 interval: float = FOLLOW_INTERVAL) -> None:
        self.watch, self.session, self.interval = watch, session, interval
        self.fakes, self.proxies, self.active = dict(fakes), dict(proxies), active
        self._messages = dict.fromkeys(self.fakes, 0)  # the last record seq seen, per fake
        self._pushes = dict.fromkeys(self.fakes, 0)  # the last push attempt seq seen, per fake
        self._since = 0.0  # the newest interaction update seen
        self._at_since: set[str] = set()  # the interactions seen with that very update time
        self._health: dict[tuple[int, str], bool] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Follow on the running loop until ``stop``."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.round()
            await asyncio.sleep(self.interval)

    async def round(self) -> None:
        """Read once what is new everywhere (an interaction may come before its MO's record when the MO
        arrived while the round was under way)."""
        for name, url in self.fakes.items():
            self._messages[name] = await self._tail(f"{url}/_smslab/messages", self._messages[name],
                                                    self.watch.captured)
            self._pushes[name] = await self._tail(f"{url}/_smslab/pushes", self._pushes[name],
                                                  functools.partial(self.watch.pushed, name))
        await self._interactions()
        for port, url in self.proxies.items():
            await self._farm(port, url)

    async def _get(self, url: str, **params: Any) -> Any:
        timeout = aiohttp.ClientTimeout(total=2.0)
        async with self.session.get(url, params=params, timeout=timeout) as resp:
            if resp.status != 200:
                raise ValueError(f"{url} answered {resp.status}")
            return await resp.json(content_type=None)

    async def _tail(self, url: str, after: int, each: Callable[[dict[str, Any]], None]) -> int:
        """Hand every item after seq ``after`` to ``each``; the last seq handed."""
        with contextlib.suppress(*_UNREACHABLE):
            while True:
                items = await self._get(url, after=str(after), limit=str(_PAGE))
                for item in items:
                    each(item)
                    after = int(item["seq"])
                if len(items) < _PAGE:
                    break
        return after

    async def _interactions(self) -> None:
        active = self.active()
        if active is None:
            return
        name, control_url = active
        cursor, found = "", []
        with contextlib.suppress(*_UNREACHABLE):
            while True:
                params = {"since": repr(self._since), "limit": str(_PAGE)}
                if cursor:
                    params["cursor"] = cursor
                page = await self._get(f"{control_url}/_smslab/interactions", **params)
                found += page["interactions"]
                cursor = page.get("next") or ""
                if not cursor:
                    break
        for record in sorted(found, key=lambda r: float(r["updated_at"])):  # pages come in creation order
            self._seen(name, record)

    def _seen(self, node: str, record: dict[str, Any]) -> None:
        updated = float(record["updated_at"])
        if updated < self._since or (updated == self._since and record["id"] in self._at_since):
            return
        if updated > self._since:
            self._since, self._at_since = updated, set()
        self._at_since.add(str(record["id"]))
        self.watch.committed(node, record, stored_at=updated)

    async def _farm(self, port: int, url: str) -> None:
        with contextlib.suppress(*_UNREACHABLE):
            report = await self._get(f"{url}/_smslab/farm")
            for member in report.get("members", ()):
                key, healthy = (port, str(member["member"])), bool(member["healthy"])
                before = self._health.get(key)
                self._health[key] = healthy
                if before is not None and before != healthy:
                    self.watch.farm_changed(port, key[1], healthy, str(member["last_probe"]["verdict"]))
