"""Handles on the two nodes of a switchover pair: what the pair runtime can do to a node, in process or not.

The pair runtime (``sim.cic.pair``) never touches a ``CicNode`` directly; it speaks to a ``NodeHandle``:
``LocalNode`` wraps a node on the same event loop, ``RemoteNode`` speaks to a node's control API over HTTP
(``/_smslab/node/...``) and, when it owns the node's process (``sim.cic.process.NodeProcess``), carries out
the real faults: SIGKILL for kill, SIGSTOP for hang, a new process on the same ports for restore.

Fault modes a handle carries out (issue 4 §6): ``kill``, ``hang``, ``slow``, ``partition``,
``crash-on-mo``. (``isolate``, the backup's NetTest failing, is the pair's own business: no node changes.)
A killed node comes back from ``restore()`` as a freshly restarted server, in the BACKUP role, with nothing
in memory; the pair then gives it the role it should hold and a full sync. A node's DOWN role closes its
control API too, so a ``RemoteNode`` without its process refuses ``kill`` (nothing could bring it back), and
one with its process restarts it whenever the node went DOWN (a crash under ``crash-on-mo``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aiohttp

from sim.cic.gcpause import gc_paused
from sim.cic.process import NodeProcess
from sim.cic.roles import NodeFault, Role
from sim.core.errors import InputError, UsageError

if TYPE_CHECKING:
    from sim.cic.node import CicNode

__all__ = ["NODE_FAULTS", "LocalNode", "NodeHandle", "RemoteNode", "full_sync"]

NODE_FAULTS = ("kill", "hang", "slow", "partition", "crash-on-mo")
"""The fault modes a handle carries out on its node."""

_NODE_FAULT = {"slow": NodeFault.SLOW, "partition": NodeFault.PARTITION, "crash-on-mo": NodeFault.CRASH_ON_MO}


@runtime_checkable
class NodeHandle(Protocol):
    """What the pair runtime needs from one node, wherever it runs."""

    name: str

    @property
    def control_url(self) -> str:
        """The node's control API base URL (what its peer mirrors to)."""
        ...

    async def ping(self, timeout: float) -> bool:
        """The TsServer ping (switchover's "TS Ping"): True when the node answered within ``timeout`` s."""
        ...

    async def set_role(self, role: Role) -> None:
        """Give the node a role."""
        ...

    async def set_peer(self, peer: NodeHandle | None) -> None:
        """Mirror this node's interaction changes to ``peer`` (``None``: to nobody)."""
        ...

    async def records(self, after: int = 0) -> tuple[list[dict[str, Any]], int | None]:
        """One chunk of the node's records as mirror records (what a full sync sends), after store ``seq``
        ``after``, and the ``seq`` to ask after next (``None``: the last chunk)."""
        ...

    async def accept(self, records: list[dict[str, Any]]) -> int:
        """Store mirror records on this node; returns how many."""
        ...

    async def full_sync_from(self, source: NodeHandle) -> int:
        """Copy every record of ``source`` into this node's mirror, chunk by chunk (``full_sync``); returns
        how many."""
        ...

    async def recover(self) -> int:
        """Recover the mirrored interactions into the core; returns how many."""
        ...

    async def reset_core(self) -> None:
        """Start a fresh, empty core (promotion without recovery)."""
        ...

    async def fail(self, mode: str) -> None:
        """Inject a fault: kill, hang, slow, partition or crash-on-mo."""
        ...

    async def restore(self) -> None:
        """Undo the fault; a killed or crashed node comes back restarted, as the backup."""
        ...

    async def describe(self) -> dict[str, Any]:
        """The node's state, shaped like ``GET /_smslab/node``."""
        ...

    async def close(self) -> None:
        """Release what the handle holds (HTTP sessions; an owned process ends)."""
        ...


class _Syncing(Protocol):
    async def records(self, after: int = 0) -> tuple[list[dict[str, Any]], int | None]: ...
    async def accept(self, records: list[dict[str, Any]]) -> int: ...


async def full_sync(source: _Syncing, target: _Syncing) -> int:
    """Copy ``source``'s records into ``target``'s mirror one chunk at a time, so that neither node (nor
    the loop they may share) is held for longer than a chunk; returns how many records were copied."""
    copied, after = 0, 0
    # Between two nodes of this process the records come straight from the source's own store: the target
    # need not read each one again as the core would (a third of the time of a full sync).
    local = target.node.records if isinstance(source, LocalNode) and isinstance(target, LocalNode) else None
    with gc_paused():  # tens of thousands of records made and dropped: no full collection meanwhile
        while True:
            records, following = await source.records(after)
            if records and local is not None:
                local.accept_mirrors(records, validate=False)
                copied += len(records)
            elif records:
                copied += await target.accept(records)
            if following is None:
                return copied
            after = following
            await asyncio.sleep(0)  # in process neither side suspends: hand the loop back between chunks


def _check_mode(mode: str) -> None:
    if mode not in NODE_FAULTS:
        raise InputError(f"fault mode must be one of {', '.join(NODE_FAULTS)} (got {mode!r})", 400)


class _Http:
    """A small JSON client of one control API; errors become ``InputError`` with a 502 (node unreachable)
    or the node's own 4xx and message."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        url = self.base + path
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with self.session().request(method, url, json=body, timeout=limit) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise InputError(f"node control API {url} did not answer: {exc!r}", 502) from exc
        if status >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise InputError(f"node control API {method} {path}: {message or data!r}", status)
        return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LocalNode:
    """A ``NodeHandle`` over a ``CicNode`` on this event loop.

    In process, a kill is the node's DOWN role (its listeners and control API refuse, its TsServer does
    not answer); a hang is ``NodeFault.HANG`` (a TS ping then waits its whole timeout, as a hung TsServer
    never answers). A hung node behaves as a stopped process does (``RemoteNode``'s SIGSTOP): it hears
    nothing, so a role given meanwhile is kept and applied at restore, and the requests it holds stay held
    (the proxy in front waits out its timeout) instead of being released by the takeover.

    Args:
        node: the node, started by the caller.
        name: the handle's name; the node's own settings name by default.
    """

    def __init__(self, node: CicNode, name: str = "") -> None:
        self.node = node
        self.name = name or node.settings.name
        self.fault = ""
        self._pending_role: Role | None = None

    @property
    def control_url(self) -> str:
        """The node's control API."""
        return self.node.control_url

    async def ping(self, timeout: float) -> bool:
        node = self.node
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not node.ts_ping() and node.fault is NodeFault.HANG:
                    await node.wait_change()  # a hung TsServer answers only if the hang ends in time
        return node.ts_ping()

    async def set_role(self, role: Role) -> None:
        if self.fault == "hang":  # a hung server hears nothing: the role waits for the restore
            self._pending_role = role
            return
        self._pending_role = None
        self.node.set_role(role)
        await self.node.settled()  # the node reopens its sockets on the loop: wait until they listen

    async def set_peer(self, peer: NodeHandle | None) -> None:
        if self.fault == "hang":
            return  # a hung server cannot be told; its mirror target is set again when it rejoins
        if peer is None:
            await self.node.set_peer_url("")
            self.node.records.mirror_to = None
        elif isinstance(peer, LocalNode):  # same loop: hand the record over directly, no HTTP
            await self.node.set_peer_url("")
            target = peer.node

            async def mirror(record: dict[str, Any]) -> None:
                target.records.accept_mirrors([record], validate=False)  # its own view, never off the wire

            self.node.records.mirror_to = mirror
        else:
            await self.node.set_peer_url(peer.control_url)

    async def records(self, after: int = 0) -> tuple[list[dict[str, Any]], int | None]:
        return self.node.records.full_sync_page(after)

    async def accept(self, records: list[dict[str, Any]]) -> int:
        self.node.records.accept_mirrors(records)
        return len(records)

    async def full_sync_from(self, source: NodeHandle) -> int:
        return await full_sync(source, self)

    async def recover(self) -> int:
        return await self.node.records.recover()

    async def reset_core(self) -> None:
        await self.node.records.reset_core()

    async def fail(self, mode: str) -> None:
        _check_mode(mode)
        self.fault = mode
        if mode == "kill":
            self.node.records.mirror_to = None
            self.node.set_role(Role.DOWN)
        elif mode == "hang":
            self.node.set_fault(NodeFault.HANG)
        else:
            self.node.set_fault(_NODE_FAULT[mode])
        await self.node.settled()

    async def restore(self) -> None:
        pending, self._pending_role = self._pending_role, None
        if pending is not None:
            # The role given while hung first (still hung, so held requests stay held), then the hang
            # ends and what it held meets that role; back as the backup, never DOWN (as RemoteNode does).
            self.node.set_role(Role.BACKUP if pending is Role.DOWN else pending)
        dead = self.node.role is Role.DOWN
        self.node.set_fault(NodeFault.NONE)
        if dead:  # a killed (or crashed) server restarts with nothing in memory and joins as the backup
            await self.node.reset()
            self.node.records.mirror_to = None
            self.node.set_role(Role.BACKUP)
        await self.node.settled()
        self.fault = ""

    async def describe(self) -> dict[str, Any]:
        described = self.node.describe()
        fault = self.fault or described.get("fault", "none")
        return {**described, "fault": fault, "control_url": self.node.control_url, "mode": "in-process"}

    async def close(self) -> None:
        """Nothing to release: the node belongs to its creator."""


class RemoteNode:
    """A ``NodeHandle`` over a node's control API; with ``process``, the node's process is ours.

    While the owned process is stopped (hang) or dead (kill), calls that would wait on it forever are
    not made: a role given meanwhile is kept and applied when the node is restored.

    Args:
        name: the node's name (``primary`` or ``backup``).
        control_url: the node's control API; taken from ``process`` when that is given.
        process: the node's process, already started.
        timeout: the time limit of one control call, seconds.
    """

    def __init__(self, name: str, control_url: str = "", *, process: NodeProcess | None = None,
                 timeout: float = 5.0) -> None:
        if not control_url and process is None:
            raise UsageError("RemoteNode needs a control_url or a started process")
        self.name = name
        self.process = process
        self.control_url = (process.control_url if process is not None else control_url).rstrip("/")
        self.fault = ""
        self._pending_role: Role | None = None
        self._http = _Http(self.control_url, timeout)

    @property
    def _unreachable(self) -> bool:
        proc = self.process
        return proc is not None and (not proc.running or proc.stopped)

    async def ping(self, timeout: float) -> bool:
        try:
            data = await self._http.call("GET", "/_smslab/node/ts-ping", timeout=timeout)
        except InputError:
            return False
        return isinstance(data, dict) and data.get("ok") is True

    async def set_role(self, role: Role) -> None:
        if self._unreachable:
            self._pending_role = role
            return
        self._pending_role = None
        try:
            await self._http.call("POST", "/_smslab/node/role", {"role": role.value})
        except InputError:
            if role is not Role.DOWN:
                raise
            # A node going DOWN closes its control API with the request still open: no answer is expected.

    async def set_peer(self, peer: NodeHandle | None) -> None:
        if self._unreachable:
            return  # a dead process has no peer; a restarted one starts without one
        await self._http.call("POST", "/_smslab/node/peer", {"url": peer.control_url if peer else ""})

    async def records(self, after: int = 0) -> tuple[list[dict[str, Any]], int | None]:
        data = await self._http.call("GET", f"/_smslab/node/full-sync?after={after}")
        following = data.get("next")
        return list(data.get("records", [])), following if isinstance(following, int) else None

    async def accept(self, records: list[dict[str, Any]]) -> int:
        await self._http.call("POST", "/_smslab/node/mirror", {"records": records})
        return len(records)

    async def full_sync_from(self, source: NodeHandle) -> int:
        return await full_sync(source, self)

    async def recover(self) -> int:
        data = await self._http.call("POST", "/_smslab/node/recover", {})
        return int(data.get("recovered", 0))

    async def reset_core(self) -> None:
        await self._http.call("POST", "/_smslab/node/reset-core", {})

    async def fail(self, mode: str) -> None:
        _check_mode(mode)
        proc = self.process
        if mode == "kill" and proc is None:
            # A DOWN node's control API refuses too, so nothing could bring it back over HTTP.
            raise InputError(f"node {self.name} at {self.control_url} is not a process of this lab: "
                             "it cannot be killed and restarted from here", 409)
        if mode == "kill" and proc is not None:
            await proc.kill()
        elif mode == "hang" and proc is not None:
            proc.stop()
        else:
            await self._http.call("POST", "/_smslab/node/fault", {"mode": mode})
        self.fault = mode

    async def restore(self) -> None:
        proc = self.process
        if proc is not None and proc.stopped:
            proc.cont()
            pending, self._pending_role = self._pending_role, None
            if pending is not None:  # superseded while hung: back as the backup, never DOWN (no way back)
                await self.set_role(Role.BACKUP if pending is Role.DOWN else pending)
        elif proc is not None and (not proc.running or await self._served_role() in (None, Role.DOWN.value)):
            # Killed, or crashed (an MO under crash-on-mo takes the node DOWN, its control API with it): a
            # new process on the same ports, as a restarted server joins: the backup, nothing in memory.
            await proc.kill()
            await proc.restart(start_as=Role.BACKUP.value)
            self._pending_role = None  # the pair gives the restarted node its role
        else:
            await self._http.call("POST", "/_smslab/node/fault", {"mode": "none"})
        self.fault = ""

    async def _served_role(self) -> str | None:
        """The role the node reports, or ``None`` when its control API does not answer."""
        try:
            data = await self._http.call("GET", "/_smslab/node", timeout=min(self._http.timeout, 2.0))
        except InputError:
            return None
        return str(data.get("role")) if isinstance(data, dict) else None

    async def describe(self) -> dict[str, Any]:
        mode = "process" if self.process else "remote"
        extra: dict[str, Any] = {"control_url": self.control_url, "mode": mode}
        if self.process is not None:
            extra["pid"] = self.process.pid
        if self._unreachable:
            role = Role.DOWN.value if not self.process or not self.process.running else "unknown"
            return {"name": self.name, "role": role, "fault": self.fault or "none", "reachable": False,
                    **extra}
        try:
            data = await self._http.call("GET", "/_smslab/node")
        except InputError as exc:
            return {"name": self.name, "role": Role.DOWN.value, "fault": self.fault or "none",
                    "reachable": False, "error": str(exc), **extra}
        return {**data, "reachable": True, **extra}

    async def close(self) -> None:
        """Close the HTTP session and end the owned process, if any."""
        try:
            await self._http.close()
        finally:
            if self.process is not None:
                await self.process.terminate()
