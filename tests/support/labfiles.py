"""Lab files shared by the tests of the commands that read them (issue 17 §2: one reader, one verdict)."""

from __future__ import annotations

from pathlib import Path

#: A lab file with problems for every reader: the CIC sections (sim.core), ``fakes`` (a fake's factory),
#: ``proxy`` and ``cic`` (scenarios.lab.spec). Read in stages, each would hide the ones after it.
STAGED = """\
sms: {purge_days: 1}
brokers:
  - name: k
    type: kaleyra
    accounts: [{id: a, local_address: "8005550100"}]
    mo: {incoming_port: 8080, incoming_path: /k/mo}
    mt: {gateway: "fake:k1"}
fakes:
  k1: {kind: kaleyra, time_scale: -1}
proxy: {health: {interval: -1}}
cic: {switchover: {ts_timeout: 1}}
"""
#: Every problem of ``STAGED``, in file order, as ``ConfigError`` prints them after the file name.
STAGED_PROBLEMS = [
    "sms.purge_days: must be greater than 1 (got 1)",
    "fakes.k1.time_scale: must be at least 0.0 (got -1)",
    "proxy.health.interval: must be at least 0.01 (got -1)",
    "cic.switchover.ts_timeout: must be at least 5 (got 1)",
]

#: A broker with Encryption HTTPS behind a proxy without a certificate, and real gateways (what
#: scenarios/examples/lab.yaml used to be): its farm of port 8443 cannot listen over HTTPS.
HTTPS_WITHOUT_PROXY_CERT = """\
brokers:
  - name: k
    type: kaleyra
    accounts: [{id: a, local_address: "8005550100"}]
    mo: {incoming_port: 8080, incoming_path: /k/mo}
    mt: {gateway: "http://127.0.0.1:9"}
  - name: p
    type: portico
    encryption: HTTPS
    accounts: [{id: b, local_address: "+18885550199"}]
    mo: {incoming_port: 8443, incoming_path: /p/mo}
    mt: {gateway: "https://127.0.0.1:9"}
"""
#: Its one problem, for every command.
HTTPS_WITHOUT_PROXY_CERT_PROBLEM = (
    "proxy.tls.cert: is required: the farm of port 8443 serves HTTPS brokers (p), so the proxy listens there "
    "over HTTPS, presenting the certificate the brokers verify (got '')")


def write(folder: Path, text: str, name: str = "lab.yaml") -> Path:
    """``text`` as the file ``name`` in ``folder``."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(err: str, path: Path) -> list[str]:
    """The problems a command printed about the lab file ``path``, without the file name before each."""
    prefix = f"{path}: "
    return [line[len(prefix):] for line in err.splitlines() if line.startswith(prefix)]
