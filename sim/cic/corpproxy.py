"""A real corporate HTTP proxy for the brokers' MT traffic (issue 4 §1).

SMS Technical Reference, "Configure Broker Proxy settings": the Proxy tab's address, login and password,
sent as ``Proxy-Authorization: Basic``.

``CorporateProxy`` runs mitmproxy in its own process (``python -m sim.cic.corpproxy``; the mitmproxy side
is ``sim.cic.corpproxy_addon``), because mitmproxy allows one master per process (``mitmproxy.ctx.master``)
and pins its own TLS stack (its ``pyproject.toml``). The child binds port 0 on 127.0.0.1 and prints
``{"url": ...}``; the parent reads it, and reads the child's record file (one JSON line per proxied request
or CONNECT: method, URL, whether ``Proxy-Authorization`` was present and correct, status, forwarded).
Starting costs about a second or more, so tests share one per session. Stopping sends SIGTERM to the
child's PID, then SIGKILL.

A node using it: for an ``http://`` gateway aiohttp sends the request itself to the proxy, so the
``Proxy-Authorization`` header goes with the request's own headers (aiohttp copies ``proxy_headers`` only
into a CONNECT); for ``https://`` it goes in ``proxy_headers``. ``proxy_authorization`` builds the value
by hand (aiohttp 3.14 deprecates ``BasicAuth``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["CorporateProxy", "CorporateProxyError", "main", "proxy_authorization"]

_PASSWORD_ENV = "SMSLAB_CORPPROXY_PASSWORD"  # not on the command line, where ps would show it


class CorporateProxyError(RuntimeError):
    """The proxy process did not start (its stderr is in the message)."""


def proxy_authorization(login: str, password: str) -> str:
    """The ``Proxy-Authorization`` value for Basic authentication (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class CorporateProxy:
    """mitmproxy as an authenticating forward proxy in a child process.

    Args:
        login: the user it accepts.
        password: that user's password.
        host: the address it listens on (loopback by default).
        startup_timeout: seconds to wait for the child to listen.

    Raises:
        ValueError: the login is empty or holds a ':' (RFC 7617 forbids it in the user-id), or the
            password holds one (mitmproxy's proxyauth cannot check it).
    """

    def __init__(self, login: str, password: str, host: str = "127.0.0.1", *,
                 startup_timeout: float = 30.0) -> None:
        if ":" in login or not login:
            raise ValueError(f"login {login!r} must be non-empty and without ':' (RFC 7617)")
        if ":" in password:
            # RFC 7617 allows it, but mitmproxy 11's Basic parser splits on every ':' and never accepts it.
            raise ValueError("the password must not contain ':' (mitmproxy cannot check such a password)")
        self.login, self.password, self.host = login, password, host
        self.startup_timeout = startup_timeout
        self.url = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._final: list[dict[str, Any]] = []

    @property
    def address(self) -> str:
        """``host:port`` (what a broker's Proxy tab holds)."""
        return self.url.removeprefix("http://")

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def authorization(self) -> dict[str, str]:
        """The header that authenticates to this proxy."""
        return {"Proxy-Authorization": proxy_authorization(self.login, self.password)}

    def start(self) -> str:
        """Start the child and wait until it listens; returns its URL.

        Raises:
            CorporateProxyError: the child exited or did not listen within ``startup_timeout``.
        """
        self._dir = tempfile.TemporaryDirectory(prefix="smslab-corpproxy-")
        base = Path(self._dir.name)
        (base / "records.jsonl").touch()
        command = [sys.executable, "-m", "sim.cic.corpproxy", "--login", self.login, "--host", self.host,
                   "--record", str(base / "records.jsonl"), "--confdir", str(base / "conf")]
        env = {**os.environ, _PASSWORD_ENV: self.password}
        with (base / "stderr.log").open("wb") as err:
            self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env)
        try:
            self.url = json.loads(self._first_line())["url"]
        except (CorporateProxyError, ValueError, KeyError) as exc:
            log = (base / "stderr.log").read_text(errors="replace")
            self.stop()
            raise CorporateProxyError(f"the corporate proxy did not start: {exc}\n{log}") from exc
        return self.url

    def _first_line(self) -> str:
        assert self._proc is not None
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            if not sel.select(self.startup_timeout):
                raise CorporateProxyError(f"no answer within {self.startup_timeout:g} s")
        line = self._proc.stdout.readline().decode(errors="replace")
        if not line:
            raise CorporateProxyError(f"the process exited with {self._proc.wait()}")
        return line

    async def start_async(self) -> str:
        """``start`` without blocking the event loop."""
        return await asyncio.to_thread(self.start)

    def stop(self) -> None:
        """SIGTERM to the child's PID (SIGKILL after 5 s), keep its records, remove its directory."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._dir is not None:
            self._final = self.records()
            self._dir.cleanup()
            self._dir = None

    def records(self) -> list[dict[str, Any]]:
        """Every request or CONNECT the proxy handled so far, oldest first."""
        if self._dir is None:
            return list(self._final)
        path = Path(self._dir.name, "records.jsonl")
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]

    def wait_records(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The records once there are at least ``count`` (the child writes them as each flow ends)."""
        deadline = time.monotonic() + timeout
        while len(found := self.records()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return found

    def clear(self) -> None:
        """Forget the records so far (the child appends, so truncating is safe)."""
        if self._dir is not None:
            Path(self._dir.name, "records.jsonl").write_text("", encoding="utf-8")
        self._final = []

    def __enter__(self) -> CorporateProxy:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """The child process: ``python -m sim.cic.corpproxy --login U --record FILE`` (password in the env)."""
    p = argparse.ArgumentParser(prog="python -m sim.cic.corpproxy", description=__doc__.split("\n")[0])
    p.add_argument("--login", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--record", required=True, help="file to append one JSON line per flow to")
    p.add_argument("--confdir", required=True, help="mitmproxy's configuration directory")
    args = p.parse_args(argv)
    password = os.environ.get(_PASSWORD_ENV)
    if password is None:
        print(f"{_PASSWORD_ENV} must hold the proxy password", file=sys.stderr)
        return 2
    from sim.cic.corpproxy_addon import serve  # noqa: PLC0415  (mitmproxy only in the child)

    return asyncio.run(serve(args.login, password, args.host, args.record, confdir=args.confdir))


if __name__ == "__main__":
    sys.exit(main())
