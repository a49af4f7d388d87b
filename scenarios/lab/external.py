"""An external member at run time: its processes, its ready checks, its MT template and its faults.

``ExternalServer`` carries out one ``scenarios.lab.external_spec.ExternalMember``: it picks the member's free
ports, writes its files into a temporary folder of its own, starts its processes in order (their output goes
to files in that folder, so a chatty server never blocks on a full pipe), polls its ready URL, and ends
every process it started by its PID (SIGCONT first, so a stopped one can hear the SIGTERM; SIGKILL after a
grace period). ``send`` renders the MT template and makes the request; ``fail`` and ``restore`` run the
fault's actions. Every error the remote side can make (refused, timed out, an answer that is not 2xx) is an
``InputError`` naming the member, the URL and what went wrong: 502 when it did not answer, 504 when it was
too slow, and the member's own status otherwise.

Where the members' MO and DLR callbacks land is the lab's capture sink (``scenarios.lab.sink``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from scenarios.lab.external_spec import PLACEHOLDER, SIGNALS, Action, ExternalMember, HttpTemplate
from scenarios.lab.processes import end_process, free_port
from sim.core.errors import InputError

__all__ = ["ExternalServer", "render"]

PORT_TRIES = 3  # starts with new ports after one lost a port to another process
_LOST_PORT = "Address already in use"  # strerror(EADDRINUSE), as programs print it
_TAIL = 2000  # characters of a process's output quoted when it fails to start


def render(text: str, values: Mapping[str, str], encoded: Mapping[str, str] | None = None) -> str:
    """``text`` with each ``{name}`` replaced (``encoded`` values percent-encoded), ``{{``/``}}`` as braces.

    Raises:
        KeyError: a placeholder with no value (the lab file's check makes this a bug in smslab).
    """
    encoded = encoded or {}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        return quote(encoded[name], safe="") if name in encoded else values[name]

    return PLACEHOLDER.sub(one, text)


class ExternalServer:
    """One external member, started (when its section says how), driven and stopped by the lab.

    Args:
        member: the member's section, read.
        host: the lab's address (``{host}``, and where its free ports are picked).
        sink: the base URL of the lab's capture sink (the member's ``{sink}`` is ``<sink>/<name>``).
        fake_urls: the lab's fakes by name (``{fake.NAME}``).
    """

    def __init__(self, member: ExternalMember, host: str, sink: str, fake_urls: Mapping[str, str]) -> None:
        self.member, self.host, self.name = member, host, member.name
        self.dir = Path(tempfile.mkdtemp(prefix=f"smslab-{member.name}-"))
        self.values: dict[str, str] = {"host": host, "name": member.name, "dir": str(self.dir),
                                       "sink": f"{sink}/{member.name}",
                                       **{f"fake.{k}": v for k, v in fake_urls.items()},
                                       **{f"fakehost.{k}": urlsplit(v).netloc for k, v in fake_urls.items()}}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.stopped: set[str] = set()  # processes the lab sent SIGSTOP and no SIGCONT since
        self.fault = ""
        self._session: aiohttp.ClientSession | None = None

    @property
    def sms_url(self) -> str:
        """The member's SMS base URL, placeholders filled."""
        return render(self.member.sms_url, self.values)

    @property
    def farm_member(self) -> str:
        """``host:port`` as a farm names its members."""
        return str(urlsplit(self.sms_url).netloc)

    def pids(self) -> list[int]:
        """The PIDs of the processes the lab started for this member."""
        return [p.pid for p in self.procs.values()]

    # -- life cycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Pick the ports, write the files, start the processes in order, wait until ready.

        Raises:
            InputError: a process did not start or exited, or the member was not ready in time (502).
        """
        # The member's files must name its ports before it starts, so they are picked here (bound to 0 and
        # closed); another process may take one meanwhile (tests in parallel do). A start whose output says
        # so is tried again with new ports, PORT_TRIES times in all; any other failure is raised at once.
        for attempt in range(1, PORT_TRIES + 1):
            try:
                await self._start_once()
                return
            except InputError:
                if attempt == PORT_TRIES or not any(_LOST_PORT in self.output(n) for n in self.procs):
                    raise
                await self._end_all(grace=1.0)

    async def _start_once(self) -> None:
        self.values.update({f"port.{p}": str(free_port(self.host)) for p in self.member.ports})
        for file, text in self.member.files.items():
            (self.dir / file).write_text(render(text, self.values), encoding="utf-8")
        for started in self.member.start:
            await self._start_one(started.name)
        await self._ready()

    async def _start_one(self, name: str) -> None:
        await self._spawn(name)
        listens = next(s.listens for s in self.member.start if s.name == name)
        if listens:  # the next process may need it (Kannel's smsbox connects to bearerbox)
            await self._listening(name, int(self.values[f"port.{listens}"]))

    async def _spawn(self, name: str) -> None:
        argv = [render(a, self.values) for a in next(s.argv for s in self.member.start if s.name == name)]
        log = (self.dir / f"{name}.out").open("ab")
        try:
            self.procs[name] = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                cwd=self.dir, env={**os.environ, "TMPDIR": str(self.dir)})
        except OSError as exc:
            raise InputError(f"external member {self.name}: cannot start {name} ({argv[0]}): {exc}",
                             502) from None
        finally:
            log.close()
        await asyncio.sleep(0.05)  # a process that cannot run its configuration exits at once: say so here
        self._check_alive()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.returncode is not None:
                raise InputError(f"external member {self.name}: {name} exited with status {proc.returncode}; "
                                 f"its output ends: {self.output(name)}", 502)

    def output(self, name: str) -> str:
        """The end of process ``name``'s output."""
        file = self.dir / f"{name}.out"
        text = file.read_text("utf-8", "replace") if file.is_file() else ""
        return text[-_TAIL:].strip() or "(nothing)"

    async def _listening(self, name: str, port: int) -> None:
        deadline = time.monotonic() + self.member.ready_timeout
        while True:
            self._check_alive()
            try:
                _, writer = await asyncio.open_connection(self.host, port)
            except OSError:
                if time.monotonic() >= deadline:
                    raise InputError(f"external member {self.name}: {name} did not listen on "
                                     f"{self.host}:{port} within {self.member.ready_timeout} s",
                                     502) from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def _ready(self) -> None:
        if self.member.ready is None:
            return
        deadline = time.monotonic() + self.member.ready_timeout
        url = render(self.member.ready.url, self.values)
        while True:
            self._check_alive()
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self.session().get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as resp:
                    await resp.read()
                    return
            if time.monotonic() >= deadline:
                raise InputError(f"external member {self.name} was not ready within "
                                 f"{self.member.ready_timeout} s ({url} never answered)", 502)
            await asyncio.sleep(0.1)

    def session(self) -> aiohttp.ClientSession:
        """The member's own HTTP client session."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def stop(self, grace: float = 5.0) -> None:
        """End every process this member started, by its PID, and remove its folder."""
        await self._end_all(grace)
        if self._session is not None:
            await self._session.close()
            self._session = None
        shutil.rmtree(self.dir, ignore_errors=True)

    async def _end(self, proc: asyncio.subprocess.Process, grace: float) -> None:
        await end_process(proc, grace)

    async def _end_all(self, grace: float) -> None:
        """End every process started, last first, and forget their output."""
        for name in reversed(list(self.procs)):
            await self._end(self.procs[name], grace)
            (self.dir / f"{name}.out").unlink(missing_ok=True)
        self.procs = {}

    # -- what the lab asks of it --------------------------------------------------------------------------

    async def send(self, to: str, text: str, sender: str = "", account: str = "") -> dict[str, Any]:
        """Ask the member to send an MT through its ``send`` template; returns its status and body.

        Raises:
            InputError: it refused (its status, its body), did not answer (502) or was too slow (504).
        """
        fields = {"to": to, "text": text, "from": sender, "account": account}
        status, body = await self._request(self.member.send, fields, "the MT request")
        return {"member": self.name, "status": status, "body": body}

    async def _request(self, template: HttpTemplate, fields: Mapping[str, str], what: str) -> tuple[int, str]:
        url = render(template.url, self.values, fields)
        body = render(template.body, self.values, fields)
        headers = {k: render(v, self.values, fields) for k, v in template.headers.items()}
        limit = aiohttp.ClientTimeout(total=self.member.timeout)
        try:
            async with self.session().request(template.method, url, data=body.encode() if body else None,
                                              headers=headers, timeout=limit) as resp:
                status, text = resp.status, await resp.text(errors="replace")
        except TimeoutError:
            raise InputError(f"external member {self.name} did not answer {what} ({template.method} {url}) "
                             f"within {self.member.timeout} s", 504) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise InputError(f"external member {self.name} cannot be reached for {what} "
                             f"({template.method} {url}): {type(exc).__name__} {exc}".strip(), 502) from None
        if not 200 <= status < 300:
            raise InputError(f"external member {self.name} refused {what} ({template.method} {url}): "
                             f"{status} {text.strip()[:500]}", status if status >= 400 else 502)
        if template.expect is not None and not template.expect.search(text):
            raise InputError(f"external member {self.name} answered {what} ({template.method} {url}) with "
                             f"{status} but a body that does not match {template.expect.pattern!r}: "
                             f"{text.strip()[:500]!r}", 502)
        return status, text

    async def fail(self, mode: str) -> None:
        """Carry out the fail action of fault ``mode``.

        Raises:
            InputError: 501 when the member has no such fault (this lab cannot do it), 409 when the action
                failed.
        """
        if mode not in self.member.faults:
            known = ", ".join(self.member.faults) or "none"
            raise InputError(f"external member {self.name} has no {mode!r} fault in the lab file "
                             f"(it has: {known})", 501)
        for action in self.member.faults[mode][0]:
            await self._act(action, f"{mode} fault")
        self.fault = mode

    async def restore(self) -> None:
        """Carry out the restore action of the fault in effect (nothing when none is)."""
        if self.fault:
            for action in self.member.faults[self.fault][1]:
                await self._act(action, f"restore after {self.fault}")
        self.fault = ""

    async def _act(self, action: Action, what: str) -> None:
        if action.signal:
            proc = self.procs.get(action.process)
            if proc is None or proc.returncode is not None:
                raise InputError(f"external member {self.name}: {action.process} is not running "
                                 f"(for the {what})", 409)
            proc.send_signal(SIGNALS[action.signal])
            if action.signal == "STOP":
                self.stopped.add(action.process)
            elif action.signal == "CONT":
                self.stopped.discard(action.process)
        elif action.restart:
            old = self.procs.pop(action.restart, None)
            if old is not None:
                await self._end(old, 2.0)
            self.stopped.discard(action.restart)
            await self._start_one(action.restart)
        elif action.request is not None:
            await self._request(action.request, {}, f"the {what}")
        elif action.command:
            await self._run([render(a, self.values) for a in action.command], what)

    async def _run(self, argv: list[str], what: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)
        except OSError as exc:
            raise InputError(f"external member {self.name}: cannot run {argv[0]} for the {what}: {exc}",
                             409) from None
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.member.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise InputError(f"external member {self.name}: {argv[0]} for the {what} did not finish within "
                             f"{self.member.timeout} s", 504) from None
        if proc.returncode != 0:
            raise InputError(f"external member {self.name}: {argv[0]} for the {what} exited with status "
                             f"{proc.returncode}: {out.decode('utf-8', 'replace').strip()[-500:]}", 409)

    def describe(self) -> dict[str, Any]:
        """The member as ``GET /_smslab/health`` shows it."""
        running = {n: p.returncode is None for n, p in self.procs.items()}
        return {"name": self.name, "mode": "external", "sms_url": self.sms_url, "fault": self.fault or "none",
                "processes": {n: {"pid": p.pid, "running": running[n], "stopped": n in self.stopped}
                              for n, p in self.procs.items()},
                "ports": {k.removeprefix("port."): int(v) for k, v in self.values.items()
                          if k.startswith("port.")}}
