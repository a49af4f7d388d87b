"""An external member of the pair: a real server (a gateway, a CIC, an aggregator) in place of a node.

A pair member whose section under ``cic.nodes`` holds ``external`` is not simulated: the proxy forwards to,
and probes, the server this section describes, and the lab drives it through the templates given here
(DESIGN, "The plug point", 2. Out of process). Both members are external or neither: the simulated pair's
switchover needs two simulated nodes, and an external pair's "switchover" is the proxy's health test
choosing the member that answers::

    cic:
      nodes:
        primary:
          external:
            ports: [sms, sendsms]            # the lab picks a free port on the lab's host for each name
            files: {gw.conf: "..."}          # written into the member's own temporary folder ({dir})
            start:                           # processes the lab starts in order and ends by their PID;
              - {name: gateway, argv: [/usr/sbin/gateway, "{dir}/gw.conf"], listens: sms}  # waited for
            ready: {url: "http://{host}:{port.sendsms}/", timeout: 20}  # polled until it answers at all
            sms_url: "http://{host}:{port.sms}"  # what every farm's proxy forwards to and health-tests
            send:                            # how to ask it to send an MT (POST /_smslab/send)
              method: GET
              url: "http://{host}:{port.sendsms}/send?to={to}&text={text}&from={from}&account={account}"
              expect: "^0: Accepted"         # searched for in a 2xx answer's body (else: malformed)
            faults:                          # per fault mode: what fails it, what restores it
              hang: {fail: {signal: STOP, process: gateway}, restore: {signal: CONT, process: gateway}}
              kill: {fail: {signal: KILL, process: gateway}, restore: {restart: gateway}}
        backup: {external: {...}}

Placeholders: ``{host}`` (the lab's address), ``{name}`` (the member), ``{dir}``, ``{port.NAME}``,
``{sink}`` (the capture sink the lab serves for this member: point the server's MO and DLR callbacks at
``{sink}/mo``, ``{sink}/dlr`` or any ``{sink}/<kind>``, with the MO's ``from``, ``to`` and ``text`` as
query or form fields, so that ``smslab failover`` can tell the MOs apart; ``GET
/_smslab/nodes/{name}/received`` lists what arrived), ``{fake.NAME}`` (the URL of a fake of the lab) and
``{fakehost.NAME}`` (its ``host:port``, for a URL with credentials in it). ``send`` also knows ``{to}``,
``{text}``, ``{from}`` and ``{account}``, percent-encoded in its URL and body. ``{{`` and ``}}`` are
literal braces. An action is one of ``signal`` (to a process the lab started: STOP, CONT, KILL, TERM,
HUP, INT, USR1, USR2), ``restart`` (a process the lab started, ended and started again, its ``listens``
port waited for), ``request`` (an HTTP request, a 2xx expected) or ``command`` (an argv run to completion,
exit 0 expected); ``fail`` and ``restore`` are one action or a list of them, carried out in order.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.core.schema import Problems, Reader

__all__ = ["ACTION_KINDS", "EXTERNAL_FAULTS", "PLACEHOLDER", "SEND_FIELDS", "SIGNALS", "Action",
           "ExternalMember", "HttpTemplate", "Started", "check_pair", "read_external", "template_names"]

#: The fault modes an external member may define (``isolate`` is the simulated pair's NetTest alone, and
#: ``crash-on-mo`` a simulated node's own behaviour).
EXTERNAL_FAULTS = ("kill", "hang", "slow", "partition")
#: The placeholders of a ``send`` template beyond the member's own.
SEND_FIELDS = ("to", "text", "from", "account")
SIGNALS = {name: getattr(signal, f"SIG{name}") for name in
           ("STOP", "CONT", "KILL", "TERM", "HUP", "INT", "USR1", "USR2")}
ACTION_KINDS = ("signal", "restart", "request", "command")
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = r"[A-Za-z][A-Za-z0-9_\-]*"


@dataclass(frozen=True)
class HttpTemplate:
    """An HTTP request with placeholders: method, URL, body, headers, and what its answer's body must match
    (``expect``, a regular expression searched for; ``None``: any body of a 2xx answer)."""

    method: str = "GET"
    url: str = ""
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Action:
    """What the lab does to fail or restore a member: exactly one of its fields is set."""

    signal: str = ""
    process: str = ""
    restart: str = ""
    request: HttpTemplate | None = None
    command: tuple[str, ...] = ()


Actions = tuple[Action, ...]


@dataclass(frozen=True)
class Started:
    """A process the lab starts for a member: its name (for actions), its command line, and the port
    (one of the member's ``ports``) it listens on, which the lab waits for before starting the next one
    ("" when there is nothing to wait for)."""

    name: str
    argv: tuple[str, ...]
    listens: str = ""


@dataclass(frozen=True)
class ExternalMember:
    """One external member, read and checked (placeholders still in place).

    Attributes:
        name: ``primary`` or ``backup``.
        sms_url: the base URL every farm's proxy forwards to and probes (``http://host:port``).
        send: the MT request template.
        ports: names of the ports the lab picks free.
        files: file name (in ``{dir}``) -> its text.
        start: the processes, in start order.
        ready: polled until it answers (any status) before the member counts as started.
        ready_timeout: seconds the member has to start.
        faults: fault mode -> (fail actions, restore actions), each carried out in order.
        timeout: seconds one send or action request may take.
    """

    name: str
    sms_url: str
    send: HttpTemplate
    ports: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    start: tuple[Started, ...] = ()
    ready: HttpTemplate | None = None
    ready_timeout: float = 20.0
    faults: Mapping[str, tuple[Actions, Actions]] = field(default_factory=dict)
    timeout: float = 5.0


def template_names(text: str) -> list[str]:
    """The placeholder names in ``text`` (``{{``/``}}`` are literal braces, not placeholders)."""
    return [m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1) is not None]


class _Names:
    """The placeholders a member's strings may use, and the check of one string against them."""

    def __init__(self, ports: tuple[str, ...], fakes: tuple[str, ...]) -> None:
        self.ports, self.fakes = ports, fakes

    def check(self, r: Reader, key: str, text: str, *, send: bool = False) -> None:
        for name in template_names(text):
            kind, _, arg = name.partition(".")
            ok = (name in ("host", "name", "dir", "sink") or (send and name in SEND_FIELDS)
                  or (kind == "port" and arg in self.ports)
                  or (kind in ("fake", "fakehost") and arg in self.fakes))
            if not ok:
                r.problem(key, text, f"names an unknown placeholder {{{name}}}; known: {self.known(send)}")

    def known(self, send: bool) -> str:
        names = ["{host}", "{name}", "{dir}", "{sink}", *(f"{{port.{p}}}" for p in self.ports),
                 *(f"{{{k}.{f}}}" for k in ("fake", "fakehost") for f in self.fakes),
                 *((f"{{{s}}}" for s in SEND_FIELDS) if send else ())]
        return ", ".join(names)


def _http(r: Reader, names: _Names, *, send: bool = False, also: tuple[str, ...] = ()) -> HttpTemplate:
    method = r.text("method", "GET", allow_empty=False).upper()
    if method not in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        r.problem("method", method, "must be one of GET, POST, PUT, DELETE, PATCH")
    url = r.text("url", allow_empty=False)
    if url and not re.match(r"https?://|\{", url):
        r.problem("url", url, "must be an http:// or https:// URL")
    body, headers = r.text("body", ""), r.mapping("headers", {})
    for key, text in (("url", url), ("body", body), *((f"headers.{k}", v) for k, v in headers.items())):
        names.check(r, key, text, send=send)
    expect = r.regex("expect") if r.has("expect") else None
    r.done(*also)
    return HttpTemplate(method, url, body, headers, expect)


def _action(r: Reader, names: _Names, processes: tuple[str, ...]) -> Action:
    given = [k for k in ACTION_KINDS if r.has(k)]
    if len(given) != 1:
        r.problems.add(r.path, dict(r.data), f"must have exactly one of {', '.join(ACTION_KINDS)}")
        r.done(*ACTION_KINDS, "process")
        return Action()
    kind = given[0]
    action = Action()
    if kind == "signal":
        sig = r.text("signal").upper().removeprefix("SIG")
        if sig not in SIGNALS:
            r.problem("signal", sig, f"must be one of {', '.join(SIGNALS)}")
        action = Action(signal=sig, process=_process(r, "process", processes))
    elif kind == "restart":
        action = Action(restart=_process(r, "restart", processes))
    elif kind == "request":
        action = Action(request=_http(r.child("request"), names))
    else:
        argv = r.strings("command")
        for arg in argv:
            names.check(r, "command", arg)
        if not argv:
            r.problem("command", list(argv), "must be a non-empty list of arguments")
        action = Action(command=argv)
    r.done()
    return action


def _process(r: Reader, key: str, processes: tuple[str, ...]) -> str:
    name = r.text(key, allow_empty=False)
    if name and name not in processes:
        known = ", ".join(processes) or "none: the member has no start list"
        r.problem(key, name, f"must name a process the lab starts for this member ({known})")
    return name


def _start(r: Reader, names: _Names) -> tuple[Started, ...]:
    out: list[Started] = []
    for one in r.children("start"):
        name = one.text("name", allow_empty=False, pattern=_NAME)
        argv = one.strings("argv")
        if not argv:
            one.problem("argv", list(argv), "must be a non-empty list of arguments")
        for arg in argv:
            names.check(one, "argv", arg)
        if name in {s.name for s in out}:
            one.problem("name", name, "is already the name of another process of this member")
        listens = one.text("listens", "")
        if listens and listens not in names.ports:
            known = ", ".join(names.ports) or "none"
            one.problem("listens", listens, f"must be one of the member's ports ({known})")
        one.done()
        out.append(Started(name, argv, listens))
    return tuple(out)


def read_external(r: Reader, name: str, fakes: tuple[str, ...]) -> ExternalMember:
    """Read ``cic.nodes.<name>.external`` (``r`` reads it); problems are recorded on ``r``.

    Args:
        r: a reader of the ``external`` mapping.
        name: the member, ``primary`` or ``backup``.
        fakes: the names of the lab's fakes (``{fake.NAME}``).
    """
    ports = r.strings("ports", None)
    for port in ports:
        if not re.fullmatch(_NAME, port):
            r.problem("ports", port, f"each name must match {_NAME}")
    names = _Names(ports, fakes)
    files = r.mapping("files", {})
    for file, text in files.items():
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", file) or file in (".", ".."):
            r.problem(f"files.{file}", file, "must be a plain file name (it is written into {dir})")
        names.check(r, f"files.{file}", text)
    start = _start(r, names)
    ready = _http(r.child("ready"), names, also=("timeout",)) if r.has("ready") else None
    ready_timeout = (r.child("ready").number("timeout", 20.0, minimum=0.1)
                     if r.has("ready") else 20.0)
    sms_url = r.text("sms_url", allow_empty=False)
    names.check(r, "sms_url", sms_url)
    if sms_url and not re.fullmatch(r"http://[^/?#]+", sms_url):
        r.problem("sms_url", sms_url, "must be http://host:port, no path (the proxy forwards each request's "
                                      "own path, and reaches the member over HTTP: it offloads SSL)")
    send = _http(r.child("send"), names, send=True)
    faults = _faults(r.child("faults", {}), names, tuple(s.name for s in start))
    timeout = r.number("timeout", 5.0, minimum=0.001)
    r.done()
    return ExternalMember(name, sms_url, send, ports, files, start, ready, ready_timeout, faults, timeout)


def _actions(r: Reader, key: str, names: _Names, processes: tuple[str, ...]) -> tuple[Action, ...]:
    """One action, or a list of them carried out in order (``[{restart: a}, {restart: b}]``)."""
    if isinstance(r.raw(key, None), list):
        return tuple(_action(Reader(v, at, r.problems), names, processes) for at, v in r.items(key))
    return (_action(r.child(key), names, processes),)


def _faults(r: Reader, names: _Names, processes: tuple[str, ...]) -> dict[str, tuple[Actions, Actions]]:
    out: dict[str, tuple[Actions, Actions]] = {}
    for mode in list(r.data):
        if mode not in EXTERNAL_FAULTS:
            r.problem(str(mode), r.data[mode], f"is not a fault mode an external member has; use "
                                               f"{', '.join(EXTERNAL_FAULTS)}")
            r.raw(str(mode))
            continue
        one = r.child(str(mode))
        out[mode] = (_actions(one, "fail", names, processes), _actions(one, "restore", names, processes))
        one.done()
    r.done()
    return out


def check_pair(external: Mapping[str, ExternalMember], nodes: tuple[str, ...], problems: Problems) -> None:
    """Both members external or neither: the simulated pair's switchover needs both nodes simulated."""
    if external and len(external) != len(nodes):
        simulated = [n for n in nodes if n not in external]
        for name in simulated:
            problems.add(f"cic.nodes.{name}.external", None,
                         f"is required: {', '.join(sorted(external))} is external, and a pair is either two "
                         "simulated nodes (with their switchover) or two external members (the proxy's "
                         "health test choosing between them)")
