"""The HAProxy equivalent of the ARR farm, and HAProxy run as a lab process.

``haproxy_config`` writes (haproxy ``doc/configuration.txt``) one frontend and one backend per farm:
``option httpchk GET <probe>`` with ``http-check expect status`` (the acceptable ranges) and
``http-check expect string`` (the response match), ``fall 1 rise 1`` because one ARR probe flips a
member's health (TechNet "Health Test Page"), ``inter``/``timeout check`` equal to the ARR interval and
time-out, ``backup`` on every member after the first, ``option forwardfor`` for ARR's X-Forwarded-For
("Preserve client IP in header"), ``replace-path`` for the rewrite rules (first match wins, 404 when none
does), ``bind ... ssl crt`` for the HTTPS listener, ``ssl verify required ca-file`` on the servers when
re-encrypting, and an admin ``stats socket`` for the runtime API. ``address_problems`` lists the addresses
of the farms that ``haproxy -c`` refuses (port 0: HAProxy cannot listen on any free port) or that make
HAProxy send a farm's traffic to itself or to the same node twice, so a caller writes no such file.

What HAProxy cannot reproduce, kept as comments in the generated file too:
- ARR's 502.4 page comes from ARR itself; HAProxy would answer 503. The config approximates it with
  ``http-request return status 502`` while the backend has no usable server (``nbsrv``), but a member
  that goes down between that test and the connection still gets HAProxy's 503.
- ARR's 502.3 (upstream time-out, refused connection, untrusted member certificate) is HAProxy's 504 or 503.
- Minimum servers and probe bursts have no HAProxy setting; ARR round-robins between healthy
  members where HAProxy sends everything to the first server and uses ``backup`` only when it is down.
- ARR's live-traffic test has no exact equivalent (``observe layer7`` is close but counts differently).

HAProxy cannot report a port-0 bind, so ``worker_ports`` gives each pytest-xdist worker (by its
``worker_id``) its own block of ports below the ephemeral range.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sim.proxy.farm import HealthTest
from sim.proxy.rewrite import RewriteRule

__all__ = ["AddressProblem", "HaproxyError", "HaproxyFarm", "HaproxyProcess", "address_problems",
           "check_config", "haproxy_config", "quote", "rewrite_directives", "translate_rule", "worker_ports"]

_RULE_VAR = "txn.smslab_rule"
_MAX_BACKREF = 9  # HAProxy's regex back-references in a format string are \0 to \9
_NBSRV_NOTE = ("# ARR answers 502.4 itself when no member is healthy; HAProxy would "
               "answer 503, so the page is returned here while the backend has no usable server.")


@dataclass(frozen=True)
class HaproxyFarm:
    """One farm in HAProxy terms.

    Attributes:
        name: a short name for the frontend and backend (e.g. the brokers' incoming port, ``"8080"``).
        bind: ``host:port`` HAProxy listens on for this farm.
        members: farm members as ``host:port``; the first is the primary, the rest are ``backup`` servers.
        health: the ARR URL test.
        rules: the rewrite rules, first match wins.
        crt: a PEM with the listener's certificate chain and key (HAProxy also reads ``<crt>.key``); empty
            means plain HTTP.
    """

    name: str
    bind: str
    members: Sequence[str]
    health: HealthTest
    rules: Sequence[RewriteRule]
    crt: str = ""


def quote(text: str) -> str:
    """``text`` as one HAProxy configuration word, single-quoted (no escapes are interpreted inside)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _ms(seconds: float) -> str:
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def translate_rule(rule: RewriteRule) -> tuple[str, str]:
    """The HAProxy ``replace-path`` regex and format equivalent to ``rule``.

    IIS matches the pattern against the path below the rule's base, leading slashes removed, and
    ``{R:0}`` is the match itself (IIS URL Rewrite). The default pattern ``.*`` becomes a POSIX-safe
    regex; other patterns need HAProxy built with PCRE (lazy ``.*?``), as Debian's package is.

    Raises:
        ValueError: the action holds ``%``, ``\\`` (format-string syntax) or ``?`` (``replace-path``
            cannot add a query), or a back-reference beyond what HAProxy can address.
    """
    if any(c in rule.action_path for c in "%\\?"):
        # '%' and '\' are format-string syntax; a '?' would land in the path, not start a query.
        raise ValueError(f"action path {rule.action_path!r}: '%', '\\' and '?' have no HAProxy equivalent")
    base = "" if rule.base == "/" else re.escape(rule.base)
    if rule.pattern.pattern == ".*":
        regex = f"^{base}(/+(.*))?$"  # \2 is everything after the base and its slashes
    else:
        body = rule.pattern.pattern
        anchored = body.startswith("^")
        lead = "" if anchored else ".*?"  # leftmost match, like Python's re.search
        regex = f"^{base}(/+|$){lead}({body[1:] if anchored else body}).*$"  # \2 is the match, {R:0}
    shift = 2

    def backref(m: re.Match[str]) -> str:
        n = int(m.group(1)) + shift
        if n > _MAX_BACKREF:
            raise ValueError(f"action path {rule.action_path!r}: {{R:{m.group(1)}}} is beyond HAProxy's \\9")
        return f"\\{n}"

    return regex, re.sub(r"\{R:(\d)\}", backref, rule.action_path)


def rewrite_directives(rules: Sequence[RewriteRule]) -> list[str]:
    """``http-request`` lines applying ``rules`` first-match-wins, then 404 when none matched.

    A transaction variable remembers the rule that matched, so a rewritten path is not matched again by a
    later rule (ARR stops at the first matching rule; SMS Technical Reference, "Reverse Proxy - URL Rewrite").
    """
    lines = []
    for i, rule in enumerate(rules):
        regex, fmt = translate_rule(rule)
        chosen = f"{{ var({_RULE_VAR}) -m int {i} }}"
        lines.append(f"http-request set-var({_RULE_VAR}) int({i}) if !{{ var({_RULE_VAR}) -m found }} "
                     f"{{ path_reg {quote(regex)} }}")
        lines.append(f"http-request replace-path {quote(regex)} {quote(fmt)} if {chosen}")
        if not rule.append_query_string:
            lines.append(f"http-request set-uri %[path] if {chosen}")
    lines.append(f"http-request deny deny_status 404 if !{{ var({_RULE_VAR}) -m found }}")
    return lines


def _check_lines(health: HealthTest) -> list[str]:
    parts = urlsplit(health.url)
    probe = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"option httpchk GET {quote(probe)}"]
    if parts.hostname:
        lines.append(f"http-check send hdr Host {quote(parts.netloc)}")
    codes = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in health.acceptable)
    lines.append(f"http-check expect status {codes}")
    if health.response_match:
        # Plain "body contains", exactly like ARR's Response match (configuration.txt, "http-check expect").
        lines.append(f"http-check expect string {quote(health.response_match)}")
    lines.append(f"timeout check {_ms(health.timeout)}")
    return lines


def _server_name(i: int) -> str:
    return "primary" if i == 0 else ("backup" if i == 1 else f"backup{i}")


def _server_lines(farm: HaproxyFarm, offload: bool, upstream_ca: str) -> list[str]:
    # fall 1 rise 1: one failed probe takes a member offline, one success brings it back (as in ARR).
    check = f"check inter {_ms(farm.health.interval)} fall 1 rise 1"
    tls = "" if offload else f" ssl verify required ca-file {upstream_ca or '@system-ca'}"
    lines = []
    for i, member in enumerate(farm.members):
        lines.append(f"server {_server_name(i)} {member} {check}{tls}{' backup' if i else ''}")
    return lines


def _farm_lines(farm: HaproxyFarm, offload: bool, upstream_ca: str, arr_errors: bool) -> list[str]:
    backend = f"cic_{farm.name}"
    bind = f"bind {farm.bind}" + (f" ssl crt {farm.crt}" if farm.crt else "")
    front = [f"frontend fe_{farm.name}", bind, *rewrite_directives(farm.rules)]
    if arr_errors:
        front += [_NBSRV_NOTE, f"http-request return status 502 content-type text/plain string "
                  f"{quote('HTTP Error 502.4 - Bad Gateway: No server is available to handle this request.')}"
                  f" hdr X-Smslab-Substatus 502.4 if {{ nbsrv({backend}) eq 0 }}"]
    front.append(f"default_backend {backend}")
    back = [f"backend {backend}", "balance roundrobin", *_check_lines(farm.health),
            "# Minimum servers, probe bursts and ARR's round robin between healthy members have no "
            "equivalent here.", *_server_lines(farm, offload, upstream_ca)]
    return [front[0], *("    " + x for x in front[1:]), back[0], *("    " + x for x in back[1:])]


def haproxy_config(farms: Sequence[HaproxyFarm], *, offload: bool = True, upstream_ca: str = "",
                   timeout: float = 30.0, stats_socket: str = "", arr_errors: bool = True) -> str:
    """The HAProxy configuration serving ``farms`` as the ARR proxy would.

    Args:
        farms: one entry per farm (per distinct incoming port of the brokers).
        offload: SSL offloading (HTTP to the members) or re-encrypt (HTTPS, verified).
        upstream_ca: the PEM bundle trusted when re-encrypting ("" = the system's CAs).
        timeout: ARR's proxy time-out, seconds: HAProxy's connect, client and server time-outs.
        stats_socket: a UNIX socket path for the runtime API ("" = none).
        arr_errors: return ARR's 502.4 page while a backend has no usable server.
    """
    lines = ["# Generated by smslab: the HAProxy equivalent of the ARR server farm.",
             "# ARR's 502.3 (time-out, refused, untrusted certificate) is HAProxy's 504/503 here.",
             "global", "    maxconn 4096"]
    if stats_socket:
        lines.append(f"    stats socket {stats_socket} mode 600 level admin")
    lines += ["defaults", "    mode http", "    option forwardfor",
              *(f"    timeout {kind} {_ms(timeout)}" for kind in ("connect", "client", "server"))]
    for farm in farms:
        lines += _farm_lines(farm, offload, upstream_ca, arr_errors)
    return "\n".join(lines) + "\n"


# -- addresses HAProxy refuses, or that loop ----------------------------------------------------------

_ANY_HOSTS = frozenset({"", "*", "0.0.0.0", "::"})  # a bind on one of these listens on every local address


@dataclass(frozen=True)
class AddressProblem:
    """An address of the farms that ``haproxy -c`` refuses, or that sends traffic where it must not go.

    Attributes:
        farm: the farm's name.
        kind: ``port`` (a bind without a port, or a bind or member port of 0 or beyond 65535), ``members``
            (two members of the farm at one address), ``loop`` (a member where a frontend listens: HAProxy
            would proxy to itself) or ``binds`` (two frontends listening on one address).
        names: the members concerned, named as their servers are (``primary``, ``backup``), or ``bind``.
        text: what is wrong, e.g. ``members primary and backup are both 127.0.0.1:8080``.
    """

    farm: str
    kind: str
    names: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"farm {self.farm}: {self.text}"


def _host_port(address: str) -> tuple[str, str] | None:
    """``(host, port)`` of ``host:port`` or ``[v6]:port``; ``None`` for a socket path or prefixed form."""
    if "@" in address or address.startswith("/"):
        return None  # ipv4@, unix@, fd@ and socket paths are HAProxy's own forms, not checked here
    host, colon, port = address.rpartition(":")
    if not colon or (":" in host and not host.startswith("[")):
        host, port = address, ""  # no port (a bare IPv6 address has colons but no brackets)
    host = host.strip("[]").lower()
    return ("127.0.0.1" if host == "localhost" else host), port


def _bad_port(port: str, required: bool) -> str:
    if not port:
        return "has no port" if required else ""  # a server without one uses the client's port
    return "" if port.isdigit() and 0 < int(port) <= 65535 else f"has port {port}"


def _overlap(bind: tuple[str, str], other: tuple[str, str], *, listener: bool) -> bool:
    """Whether ``other`` (another listener's or a member's address) is where ``bind`` listens.

    A wildcard bind covers every address of the proxy's machine: any other listener's, and a member's when
    the member is known to be on that machine (a loopback host).
    """
    (bh, bp), (oh, op) = bind, other
    if bp != op or not bp:
        return False
    if bh == oh:
        return True
    if listener:
        return bh in _ANY_HOSTS or oh in _ANY_HOSTS
    return bh in _ANY_HOSTS and (oh in _ANY_HOSTS or oh.startswith("127.") or oh == "::1")


def address_problems(farms: Sequence[HaproxyFarm]) -> list[AddressProblem]:
    """Every bind and member address of ``farms`` that ``haproxy -c`` refuses or that makes a loop.

    Checked: a bind without a port or with port 0 (HAProxy listens on a fixed port; ``haproxy -c`` refuses
    0), a member with port 0 (HAProxy would connect to the port the client used), two members of one farm
    at one address, a member where a frontend listens, two frontends on one address. Host names other than
    ``localhost`` are compared as written (nothing is resolved).
    """
    binds = [(farm, _host_port(farm.bind)) for farm in farms]
    problems = [AddressProblem(farm.name, "port", ("bind",), f"bind {farm.bind} {why}")
                for farm, bind in binds if bind is not None and (why := _bad_port(bind[1], required=True))]
    for i, (farm, bind) in enumerate(binds):
        for other, earlier in binds[:i]:
            if bind is not None and earlier is not None and _overlap(earlier, bind, listener=True):
                text = f"bind {farm.bind} is also farm {other.name}'s listener {other.bind}"
                problems.append(AddressProblem(farm.name, "binds", ("bind",), text))
    for farm in farms:
        problems += _member_problems(farm, binds)
    return problems


def _member_problems(farm: HaproxyFarm, binds: list[tuple[HaproxyFarm, tuple[str, str] | None]]
                     ) -> list[AddressProblem]:
    ports: list[AddressProblem] = []
    members: dict[tuple[str, str], str] = {}  # address -> the first member's name
    twice: list[AddressProblem] = []
    loops: list[AddressProblem] = []
    for i, member in enumerate(farm.members):
        name, address = _server_name(i), _host_port(member)
        if address is None:
            continue
        if why := _bad_port(address[1], required=False):
            ports.append(AddressProblem(farm.name, "port", (name,), f"member {name} {member} {why}"))
            continue
        if address in members:
            text = f"members {members[address]} and {name} are both {member}"
            twice.append(AddressProblem(farm.name, "members", (members[address], name), text))
        members.setdefault(address, name)
        for other, bind in binds:
            if bind is not None and _overlap(bind, address, listener=False):
                whose = "the farm's own" if other is farm else f"farm {other.name}'s"
                text = f"member {name} {member} is {whose} listener {other.bind}"
                loops.append(AddressProblem(farm.name, "loop", (name,), text))
    return ports + twice + loops


# -- running HAProxy ----------------------------------------------------------------------------------

PORT_BASE = 24000  # below Linux's default ephemeral range (32768-60999), so no client socket takes them
PORTS_PER_WORKER = 20  # base + 20 x worker index


class HaproxyError(RuntimeError):
    """HAProxy refused its configuration, did not come up, or the runtime API said no."""


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def worker_ports(count: int, *, worker: str | None = None, base: int | None = None) -> list[int]:
    """``count`` free ports from this pytest-xdist worker's block (``gwN``: base + 20 x N).

    Args:
        count: how many ports are needed (at most 20).
        worker: the worker id; ``PYTEST_XDIST_WORKER`` when omitted ("master" or none: block 0).
        base: the first block's first port; ``SMSLAB_HAPROXY_PORT_BASE`` or 24000 when omitted.

    Raises:
        HaproxyError: the block reaches the ephemeral range, or has fewer than ``count`` free ports.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "") if worker is None else worker
    index = int(worker[2:]) if re.fullmatch(r"gw\d+", worker) else 0
    first = (base or int(os.environ.get("SMSLAB_HAPROXY_PORT_BASE", PORT_BASE))) + PORTS_PER_WORKER * index
    if first + PORTS_PER_WORKER > _ephemeral_low():
        raise HaproxyError(f"ports {first}-{first + PORTS_PER_WORKER - 1} for worker {worker or 'master'} "
                           f"reach the ephemeral range (from {_ephemeral_low()})")
    free = [p for p in range(first, first + PORTS_PER_WORKER) if _free(p)][:count]
    if len(free) < count:
        raise HaproxyError(f"only {len(free)} of ports {first}-{first + PORTS_PER_WORKER - 1} are free")
    return free


async def check_config(text: str, binary: str = "haproxy") -> tuple[bool, str]:
    """Whether ``haproxy -c`` accepts ``text``, and what it said."""
    with tempfile.TemporaryDirectory(prefix="smslab-haproxy-") as tmp:
        path = Path(tmp, "haproxy.cfg")
        path.write_text(text, encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(binary, "-c", "-f", str(path),
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
    return proc.returncode == 0, out.decode(errors="replace")


class HaproxyProcess:
    """HAProxy in the foreground (``-db``), in a temporary directory it owns, stopped by its PID.

    Args:
        binary: the executable (``haproxy`` on the PATH by default).
    """

    def __init__(self, binary: str = "haproxy") -> None:
        self.binary = shutil.which(binary) or binary
        self._dir = tempfile.TemporaryDirectory(prefix="smslab-haproxy-")
        self.stats_socket = str(Path(self._dir.name, "stats.sock"))
        self.config_path = Path(self._dir.name, "haproxy.cfg")
        self._log = Path(self._dir.name, "haproxy.log")
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def output(self) -> str:
        """What HAProxy wrote to stdout/stderr so far (warnings, server state changes)."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    async def start(self, config: str, ports: Sequence[int], timeout: float = 10.0) -> None:
        """Write ``config``, start HAProxy and wait until every port in ``ports`` and the stats socket answer.

        Raises:
            HaproxyError: HAProxy exited, or did not answer within ``timeout`` seconds (it is stopped and
                its directory removed).
        """
        self.config_path.write_text(config, encoding="utf-8")
        with self._log.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(self.binary, "-f", str(self.config_path), "-db",
                                                              stdout=log, stderr=log)
        deadline = asyncio.get_running_loop().time() + timeout
        waiting = list(ports)
        while waiting:
            if self._proc.returncode is not None:
                error = HaproxyError(f"haproxy exited with {self._proc.returncode}:\n{self.output()}")
                await self.stop()  # its directory goes too, as after a time-out
                raise error
            if asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise HaproxyError(f"haproxy did not listen on {waiting} within {timeout:g} s")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", waiting[0])
                writer.close()
                await writer.wait_closed()
                waiting.pop(0)
            except OSError:
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop HAProxy (SIGTERM to its PID, SIGKILL after 5 s) and remove its directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        with contextlib.suppress(OSError):
            self._dir.cleanup()

    async def command(self, line: str) -> str:
        """Send one runtime API command on the stats socket; returns the answer.

        Raises:
            HaproxyError: the socket is unreachable.
        """
        try:
            reader, writer = await asyncio.open_unix_connection(self.stats_socket)
        except OSError as exc:
            raise HaproxyError(f"the runtime API at {self.stats_socket} is unreachable: {exc}") from exc
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.read()).decode(errors="replace")
        finally:
            writer.close()
            await writer.wait_closed()

    async def servers_state(self) -> list[dict[str, str]]:
        """``show servers state`` as one mapping per server (keys are HAProxy's column names)."""
        # The answer is a format version line, a "# be_id be_name ..." header, then one line per server.
        lines = [x for x in (await self.command("show servers state")).splitlines() if x.strip()]
        at = next((i for i, x in enumerate(lines) if x.startswith("# be_id")), None)
        if at is None:
            raise HaproxyError(f"unexpected answer to show servers state: {lines!r}")
        keys = lines[at][2:].split()
        return [dict(zip(keys, x.split(), strict=False)) for x in lines[at + 1:] if not x.startswith("#")]

    async def set_server(self, backend: str, server: str, *, state: str = "", health: str = "") -> None:
        """``set server <backend>/<server> state ready|drain|maint`` and/or ``health up|stopping|down``.

        Raises:
            HaproxyError: HAProxy answered with an error.
        """
        for what, value in (("state", state), ("health", health)):
            if value:
                answer = (await self.command(f"set server {backend}/{server} {what} {value}")).strip()
                if answer:  # the runtime API answers an empty line on success
                    raise HaproxyError(answer)
