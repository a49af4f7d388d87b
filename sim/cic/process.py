"""A CIC node in its own process: the process mode of the pair, where kill and hang are real signals.

``NodeProcess`` starts ``python -m sim.cic.serve --role NAME ...``, reads the one JSON line the node prints
when it listens (its control URL, SMS URLs and bound ports), and keeps the PID. ``kill()`` is SIGKILL and
waits for the exit (issue 4 §6: "a node in its own process, SIGKILL"), ``stop()``/``cont()`` are SIGSTOP and
SIGCONT (hang), ``restart()`` starts a new process on the same ports (restore after a kill), and
``terminate()`` is SIGTERM, then SIGKILL after a grace period. Every process started is reaped: the
context manager and ``terminate()`` end it whatever happened.

Each process gets a temporary directory of its own as its ``TMPDIR``, removed once it has exited: a node
whose settings name no store keeps its SQLite store there, and a SIGKILLed node cannot remove it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sim.core.errors import UsageError

__all__ = ["NodeProcess", "NodeStartError"]

_TAIL = 50  # lines of the child's stderr kept for error messages


class NodeStartError(RuntimeError):
    """The node process exited or stayed silent instead of printing its ready line."""


class NodeProcess:
    """One ``smslab serve cic`` process.

    Args:
        name: ``primary`` or ``backup`` (the node's section in ``cic.nodes`` of the lab file).
        config: the lab file (passed to the child as a path).
        start_as: the role it starts in (``active``, ``backup`` or ``down``); by name when empty.
        port_map: configured Incoming HTTP Port -> port to bind (0: any free port).
        control_port: the control API's port (0: any free port).
        peer: a peer node's control URL to mirror to from the start.
        public_bases: broker name -> the base URL of the ``ExternalDeliveryStatusURI`` the node hands it.
        python: the interpreter; this one by default.
        startup_timeout: seconds to wait for the ready line.
        env: extra environment variables for the child; its ``TMPDIR`` is where the process's own
            temporary directory is made (the system's by default).
    """

    def __init__(self, name: str, config: str | Path | None = None, *, start_as: str = "",
                 port_map: Mapping[int, int] | None = None, control_port: int = 0, peer: str = "",
                 public_bases: Mapping[str, str] | None = None, python: str = sys.executable,
                 startup_timeout: float = 30.0, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.config = str(Path(config).resolve()) if config is not None else ""
        self.start_as = start_as
        self.port_map = dict(port_map or {})
        self.control_port = control_port
        self.peer = peer
        self.public_bases = dict(public_bases or {})
        self.python = python
        self.startup_timeout = startup_timeout
        self.env = dict(env or {})
        self.info: dict[str, Any] = {}
        self.stopped = False
        self.stderr_tail: deque[str] = deque(maxlen=_TAIL)
        self._proc: asyncio.subprocess.Process | None = None
        self._drains: list[asyncio.Task[None]] = []
        self._tmpdir = ""  # the current process's TMPDIR, removed once it has exited
        self.pids: list[int] = []  # every PID this object started, for checks that none is left

    # -- what the ready line said --------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The current process's PID (``None`` before start)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the current process has been started and has not exited."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def control_url(self) -> str:
        """The node's control API, from its ready line."""
        return str(self.info.get("control_url", ""))

    @property
    def bound_ports(self) -> dict[int, int]:
        """Configured incoming port -> bound port, from the ready line."""
        return {int(k): int(v) for k, v in dict(self.info.get("bound_ports", {})).items()}

    def argv(self, start_as: str = "") -> list[str]:
        """The command line of the child."""
        argv = [self.python, "-m", "sim.cic.serve", "--role", self.name]
        if self.config:
            argv += ["--config", self.config]
        if start_as or self.start_as:
            argv += ["--start-as", start_as or self.start_as]
        for configured, port in sorted(self.port_map.items()):
            argv += ["--port-map", f"{configured}={port}"]
        if self.control_port:
            argv += ["--control-port", str(self.control_port)]
        if self.peer:
            argv += ["--peer", self.peer]
        for broker, url in sorted(self.public_bases.items()):
            argv += ["--public-base", f"{broker}={url}"]
        return argv

    # -- life cycle --------------------------------------------------------------------------------------

    async def start(self, start_as: str = "") -> dict[str, Any]:
        """Start the process and wait for its ready line; returns it.

        Raises:
            UsageError: it is already running.
            NodeStartError: it exited or did not print its ready line in time (the process is reaped).
        """
        if self.running:
            raise UsageError(f"node process {self.name} is already running (pid {self.pid})")
        self._remove_tmpdir()  # a process that exited on its own
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_project_root(), env.get("PYTHONPATH", "")) if p)
        self._tmpdir = env["TMPDIR"] = tempfile.mkdtemp(prefix=f"smslab-{self.name}-process-",
                                                        dir=self.env.get("TMPDIR"))
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv(start_as), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env)
        except BaseException:
            self._remove_tmpdir()
            raise
        self._proc, self.stopped = proc, False
        self.pids.append(proc.pid)
        self.stderr_tail.clear()
        self._drains = [asyncio.create_task(self._drain(proc.stderr, self.stderr_tail))]
        try:
            self.info = await asyncio.wait_for(self._ready_line(proc), self.startup_timeout)
        except BaseException as exc:
            await self.kill()
            if isinstance(exc, TimeoutError):
                raise NodeStartError(self._why(f"printed no ready line in {self.startup_timeout} s")) from exc
            raise
        self._drains.append(asyncio.create_task(self._drain(proc.stdout, deque(maxlen=_TAIL))))
        return self.info

    async def _ready_line(self, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                await proc.wait()
                raise NodeStartError(self._why(f"exited with status {proc.returncode} before it was ready"))
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and "control_url" in data:
                    return data

    def _why(self, what: str) -> str:
        tail = "\n".join(self.stderr_tail)
        return f"node process {self.name} {what}" + (f"; its stderr ended with:\n{tail}" if tail else "")

    @staticmethod
    async def _drain(stream: asyncio.StreamReader | None, into: deque[str]) -> None:
        # The child's pipes are read to the end so that it never blocks on a full pipe.
        if stream is None:
            return
        while line := await stream.readline():
            into.append(line.decode("utf-8", "replace").rstrip())

    async def restart(self, start_as: str = "backup") -> dict[str, Any]:
        """Start a new process on the ports the last one bound (restore after a kill).

        Raises:
            UsageError: the process is still running.
            NodeStartError: the new process did not come up.
        """
        if self.running:
            raise UsageError(f"node process {self.name} is still running (pid {self.pid})")
        if self.info:
            self.port_map = {**self.port_map, **self.bound_ports}
            self.control_port = urlsplit(self.control_url).port or self.control_port
        return await self.start(start_as)

    async def kill(self) -> None:
        """SIGKILL and wait for the exit (nothing happens when it is not running)."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
        await proc.wait()
        self.stopped = False
        self._remove_tmpdir()
        await self._end_drains()

    def _remove_tmpdir(self) -> None:
        """Remove the exited process's temporary directory (what a SIGKILLed node could not)."""
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = ""

    def stop(self) -> None:
        """SIGSTOP: the node hangs, every socket open but nothing answered."""
        self._signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        """SIGCONT: a stopped node goes on where it was."""
        self._signal(signal.SIGCONT)
        self.stopped = False

    def _signal(self, sig: signal.Signals) -> None:
        if not self.running or self._proc is None:
            raise UsageError(f"node process {self.name} is not running")
        self._proc.send_signal(sig)

    async def terminate(self, grace: float = 5.0) -> int | None:
        """SIGTERM (after SIGCONT, so a stopped node can act on it), SIGKILL after ``grace`` seconds.

        Returns:
            the exit status, or ``None`` when no process was started.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if self.stopped:
                    proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                await self.kill()
        self.stopped = False
        self._remove_tmpdir()
        await self._end_drains()
        return proc.returncode

    async def _end_drains(self) -> None:
        drains, self._drains = self._drains, []
        for task in drains:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 2.0)

    async def __aenter__(self) -> NodeProcess:
        if not self.running:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.terminate()


def _project_root() -> str:
    # The child imports sim.cic.serve from the tree this module came from, so an uninstalled checkout
    # works as well as an installed one (the caller's working directory stays the child's).
    return str(Path(__file__).resolve().parents[2])
