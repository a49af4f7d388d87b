"""A simulated CIC node's own settings: where it listens, what it answers, where it keeps its store.

They sit in the lab file under ``cic.nodes.<name>`` (``primary`` or ``backup``); every key is optional::

    cic:
      nodes:
        primary:
          host: 127.0.0.1          # the address every listener binds
          ports: {8080: 0}         # configured Incoming HTTP Port -> port to bind (0 = any free port);
                                   # a configured port not listed binds to 0
          control_port: 0          # the node's control API (/_smslab/node/...)
          health_status: 200       # not public: the active SMS Server's answer to a probe
          health_body: OK
          backup_answer: "503"     # not public: refuse | 503 | 404 | hang
          store: ""                # SQLite file; "" = a file in a temp dir the node owns and removes
          slow_delay: 2.0          # seconds the "slow" fault adds to each SMS request
          tls_cert: ""             # PEM certificate and key of the HTTPS SMS listeners
          tls_key: ""
          sms_scheme: auto         # auto | http | https: the SMS listeners' scheme (see below)
          mt_ca: ""                # PEM bundle to verify HTTPS gateways ("" = the system's defaults)
          tick: 1.0                # seconds between runs of the timer task (consolidation, idle, purge)
          mirror_timeout: 5.0      # seconds a mirror write to a peer node may take over HTTP
          log_limit: 1000          # entries kept in the node's error log
          client_max_size: 1048576 # bytes an SMS request body may have (413 beyond)

Where the real behaviour is not public (GAP), the setting names the lab's documented choice:
the health answer is 200 "OK" (what an ARR health test with a status-code range of 200-399 and a
response-match of "OK" accepts), and a backup answers 503, which makes a farm member unhealthy without
resetting connections.

``sms_scheme`` says what the SMS Server's listeners speak. ``auto``: each port follows its brokers' Encryption
(HTTPS brokers need ``tls_cert``/``tls_key``). ``http``: plain HTTP whatever the Encryption, as behind a proxy
with "Enable SSL offloading" (SMS Technical Reference, "Reverse Proxy - CIC Server's certificate": "It is not
a requirement that you use HTTPS between the web server and the CIC server"). ``https``: every port HTTPS, as
behind a re-encrypting proxy (ARR with SSL offloading off). Whether the SMS Server itself can listen on HTTP
while its broker is set to HTTPS is not documented (GAP); in a lab, ``scenarios.lab.spec`` makes ``auto``
follow the proxy's ``offload``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from sim.core.schema import Reader

__all__ = ["BackupAnswer", "NodeSettings", "SmsScheme", "read_node_settings"]


class BackupAnswer(Enum):
    """What a backup node's SMS Server does with any SMS request (not public, hence a setting)."""

    REFUSE = "refuse"
    UNAVAILABLE = "503"
    NOT_FOUND = "404"
    HANG = "hang"


class SmsScheme(Enum):
    """What the SMS listeners speak (``sms_scheme``; see the module docstring)."""

    AUTO = "auto"
    HTTP = "http"
    HTTPS = "https"


@dataclass(frozen=True)
class NodeSettings:
    """One node's settings (see the module docstring for each key)."""

    name: str = "primary"
    host: str = "127.0.0.1"
    ports: Mapping[int, int] = field(default_factory=dict)
    control_port: int = 0
    health_status: int = 200
    health_body: str = "OK"
    backup_answer: BackupAnswer = BackupAnswer.UNAVAILABLE
    store: str = ""
    slow_delay: float = 2.0
    tls_cert: str = ""
    tls_key: str = ""
    mt_ca: str = ""
    tick: float = 1.0
    mirror_timeout: float = 5.0
    log_limit: int = 1000
    client_max_size: int = 1024 * 1024
    sms_scheme: SmsScheme = SmsScheme.AUTO

    def bind_port(self, configured: int) -> int:
        """The port to bind for a configured Incoming HTTP Port (0: any free port)."""
        return self.ports.get(configured, 0)


def read_node_settings(r: Reader, name: str) -> NodeSettings:
    """Read one node's settings; problems are recorded on ``r`` (the caller raises them).

    Args:
        r: a reader of the ``cic.nodes`` mapping (the node's section is ``r.child(name)``).
        name: ``primary`` or ``backup``.
    """
    n = r.child(name, None)
    settings = NodeSettings(
        name=name,
        host=n.text("host", "127.0.0.1", allow_empty=False),
        ports=_ports(n),
        control_port=n.integer("control_port", 0, minimum=0, maximum=65535),
        health_status=n.integer("health_status", 200, minimum=100, maximum=599),
        health_body=n.text("health_body", "OK"),
        backup_answer=_backup_answer(n),
        store=n.text("store", ""),
        slow_delay=n.number("slow_delay", 2.0, minimum=0),
        tls_cert=n.text("tls_cert", ""),
        tls_key=n.text("tls_key", ""),
        sms_scheme=n.choice("sms_scheme", SmsScheme, SmsScheme.AUTO),
        mt_ca=n.text("mt_ca", ""),
        tick=n.number("tick", 1.0, minimum=0.001),
        mirror_timeout=n.number("mirror_timeout", 5.0, minimum=0.001),
        log_limit=n.integer("log_limit", 1000, minimum=1),
        client_max_size=n.integer("client_max_size", 1024 * 1024, minimum=1024),
    )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        n.problem("tls_key" if settings.tls_cert else "tls_cert", "", "must be given with the other of "
                  "tls_cert and tls_key")
    if settings.sms_scheme is SmsScheme.HTTPS and not settings.tls_cert:
        n.problem("tls_cert", "", "is required with sms_scheme https (the SMS listeners present it)")
    n.done()
    return settings


def _ports(r: Reader) -> dict[int, int]:
    raw = r.raw("ports", {})
    if not isinstance(raw, Mapping):
        r.problem("ports", raw, "must be a mapping of configured port to bound port")
        return {}
    out: dict[int, int] = {}
    for key, value in raw.items():
        path = f"{r.at('ports')}.{key}"
        configured, bound = _port(key), _port(value)
        if configured is None or configured == 0:
            r.problems.add(path, key, "must be a configured Incoming HTTP Port (1-65535)")
        elif bound is None:
            r.problems.add(path, value, "must be a port number (0-65535; 0 = any free port)")
        else:
            out[configured] = bound
    return out


def _port(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= 65535 else None


def _backup_answer(r: Reader) -> BackupAnswer:
    raw = r.raw("backup_answer", BackupAnswer.UNAVAILABLE.value)
    text = str(raw).lower() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    for member in BackupAnswer:
        if text == member.value:
            return member
    allowed = ", ".join(m.value for m in BackupAnswer)
    r.problem("backup_answer", raw, f"must be one of {allowed}")
    return BackupAnswer.UNAVAILABLE
