"""The ``--processes`` mode of a lab: each fake, node and proxy its own ``smslab serve`` process.

``Child`` runs one ``smslab serve`` command and reads the JSON line it prints once it listens (its real
URL: everything binds port 0); the nodes use ``sim.cic.process.NodeProcess``, whose kill is a real SIGKILL
and hang a real SIGSTOP. ``ProcessBackend`` starts them in the order ``Lab`` asks for and
ends every process it started by its PID. Its directory holds the derived lab files and every child's
``TMPDIR``, and is removed when it stops, so a run leaves nothing behind even where a child was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fakes.common import FakeBroker
from scenarios.lab.backends import LabStartError
from scenarios.lab.spec import NODE_NAMES, LabSpec, PushTarget, public_bases, push_targets
from sim.cic.handles import NodeHandle, RemoteNode
from sim.cic.process import NodeProcess
from sim.core.config import CicConfig
from sim.proxy.config import FarmPlan

__all__ = ["Child", "ProcessBackend", "end_process", "free_port"]

class Child:
    """One ``smslab serve`` child: started, its JSON ready line read, ended by its PID.

    Args:
        argv: the command line.
        what: what it is, for messages.
        key: a key the ready line has (``url``).
        env: extra environment variables for the child.
    """

    def __init__(self, argv: list[str], what: str, key: str = "url",
                 env: Mapping[str, str] | None = None) -> None:
        self.argv, self.what, self.key = argv, what, key
        self.env = dict(env or {})
        self.info: dict[str, Any] = {}
        self.stderr: deque[str] = deque(maxlen=30)
        self.proc: asyncio.subprocess.Process | None = None
        self._drains: list[asyncio.Task[None]] = []

    async def start(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start it and wait for its ready line.

        Raises:
            LabStartError: it exited or stayed silent (it is ended first).
        """
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
        self._drains.append(asyncio.create_task(_drain(self.proc.stderr, self.stderr)))
        try:
            self.info = await asyncio.wait_for(self._ready(), timeout)
        except BaseException as exc:
            await self.stop()
            tail = "\n".join(self.stderr)
            raise LabStartError(f"{self.what} did not start ({type(exc).__name__}): {tail}") from None
        self._drains.append(asyncio.create_task(_drain(self.proc.stdout, deque(maxlen=1))))
        return self.info

    async def _ready(self) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and self.key in data:
                    return data
        await self.proc.wait()
        raise EOFError(f"exited with status {self.proc.returncode}")

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, SIGKILL after ``grace`` seconds; always reaped."""
        if self.proc is not None:
            await end_process(self.proc, grace)
        for task in self._drains:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 2.0)
        self._drains = []


async def _drain(stream: asyncio.StreamReader | None, into: deque[str]) -> None:
    # A child's pipes are read to the end so that it never blocks writing to a full one.
    while stream is not None and (line := await stream.readline()):
        into.append(line.decode("utf-8", "replace").rstrip())


async def end_process(proc: asyncio.subprocess.Process, grace: float) -> None:
    """End a process the lab started: SIGCONT (a stopped process hears no SIGTERM), SIGTERM, SIGKILL after
    ``grace`` seconds; always reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def free_port(host: str) -> int:
    """A port nobody listens on at ``host`` now (``smslab load`` gives Locust's master one too)."""
    # The fakes must know the proxy's URL before they start (they push to it, and a child reads its
    # settings once), so the proxy's port is chosen first. Binding port 0, closing and reusing the number
    # can race with another process; a lost race makes the proxy fail to start, loudly.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ProcessBackend:
    """Starts each fake, node and proxy as its own ``smslab serve`` process (``--processes``).

    The fakes push to the proxy, the proxy's farm is the nodes, the nodes send to the fakes: in process the
    fakes are re-pointed once the proxy listens, but a child reads its settings once. So the proxy's
    port is chosen first, and two derived lab files are written: one with the fakes' MO/DR URLs (before
    they start), one with the gateways resolved (before the nodes start); the nodes are told the proxy's
    URL (``--public-base``) for the ``ExternalDeliveryStatusURI`` they hand the brokers.

    Args:
        spec: the lab file read in full (the source of the derived files, the farms' plans).
        host: the address every child listens on.
    """

    def __init__(self, spec: LabSpec, host: str = "127.0.0.1") -> None:
        self.spec, self.host = spec, host
        self.dir = Path(tempfile.mkdtemp(prefix="smslab-lab-"))
        self._tmp = self.dir / "tmp"  # the children's TMPDIR: what a killed child leaves goes with the lab
        self._tmp.mkdir()
        self.children: list[Child] = []
        self.fake_urls: dict[str, str] = {}  # fake name -> the URL its child reported (the nodes' gateways)
        self.nodes: list[NodeProcess] = []
        self.planned: dict[int, str] = {}
        self._fakes_file: Path = self.dir / "fakes.yaml"
        self._node_file: Path | None = None

    def _write(self, name: str, data: Mapping[str, Any]) -> Path:
        path = self.dir / name
        path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")
        return path

    async def prepare(self) -> None:
        """Choose the proxies' ports and write the fakes' file with their MO and DR URLs."""
        config = self.spec.config
        for plan in self.spec.farms:
            port = plan.bind_port or free_port(self.host)
            self.planned[plan.incoming_port] = f"{'https' if plan.https else 'http'}://{self.host}:{port}"
        data = copy.deepcopy(dict(config.data))
        for name, target in push_targets(config, self.planned).items():
            fake = data["fakes"][name]
            fake.update({k: v for k, v in (("mo_url", target.mo_url), ("dr_url", target.dr_url)) if v})
        self._fakes_file = self._write("fakes.yaml", data)

    async def _child(self, argv: list[str], what: str) -> dict[str, Any]:
        child = Child([sys.executable, "-m", *argv], what, env={"TMPDIR": str(self._tmp)})
        self.children.append(child)
        return await child.start()

    async def start_fake(self, name: str, fake: FakeBroker) -> str:
        """``smslab serve <kind> <name>``; returns its URL."""
        kind = str(self.spec.config.fakes[name]["kind"])
        info = await self._child(["fakes.serve", kind, name, "--config", str(self._fakes_file),
                                  "--host", self.host], f"fake {name}")
        self.fake_urls[name] = str(info["url"])
        return self.fake_urls[name]

    async def start_node(self, name: str, cic: CicConfig) -> NodeHandle:
        """``smslab serve cic --role <name>`` from a file whose gateways are the fakes' URLs."""
        config = self.spec.config
        start_as = "active" if name == NODE_NAMES[0] else "backup"
        process = NodeProcess(name, self._lab_file(), start_as=start_as,
                              public_bases=public_bases(config, self.planned), env={"TMPDIR": str(self._tmp)})
        self.nodes.append(process)
        try:
            await process.start()
        except Exception as exc:
            raise LabStartError(f"node {name} did not start: {exc}") from None
        return RemoteNode(name, process=process)

    def _lab_file(self) -> Path:
        """The derived lab file with the gateways resolved (written once, when the fakes listen)."""
        config = self.spec.config
        if self._node_file is None:
            data = copy.deepcopy(dict(config.data))
            for broker in data.get("brokers") or []:
                fake = config.fake_gateways.get(str(broker.get("name")))
                if fake is not None:
                    broker["mt"]["gateway"] = self.fake_urls[fake]
            self._node_file = self._write("lab.yaml", data)
        return self._node_file

    async def start_proxy(self, plan: FarmPlan, members: list[str]) -> str:
        """``smslab serve proxy`` on the port chosen in ``prepare``; returns its URL."""
        planned = self.planned[plan.incoming_port]
        argv = ["sim.proxy.serve", "--config", str(self._lab_file()), "--farm", str(plan.incoming_port),
                "--host", self.host, "--port", planned.rpartition(":")[2]]
        for member in members:
            argv += ["--member", member]
        info = await self._child(argv, f"proxy of port {plan.incoming_port}")
        if info["url"] != planned:
            raise LabStartError(f"the proxy listens at {info['url']}, not at {planned} as planned")
        return str(info["url"])

    async def point(self, name: str, target: PushTarget, bases: Mapping[str, str]) -> None:
        """Nothing to do: the fakes' file named the proxy (``prepare``), the nodes' command lines too."""

    async def stop(self) -> None:
        """End every child by its PID (proxies first), then remove the derived files."""
        for child in reversed(self.children):
            await child.stop()
        for process in self.nodes:
            with contextlib.suppress(Exception):
                await process.terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    def carrier_stats(self) -> dict[str, dict[str, Any]]:
        """None here: a child fake's carrier model is in its own process, and its health
        (``GET /_smslab/health``, under ``carrier``) shows it."""
        return {}

    def pids(self) -> list[int]:
        """Every PID this backend started (nodes' restarts included)."""
        own = [c.proc.pid for c in self.children if c.proc is not None]
        return own + [pid for p in self.nodes for pid in p.pids]
