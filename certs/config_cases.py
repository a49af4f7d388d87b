"""ssl-matrix cases decided by the lab configuration rather than a handshake (``kind="config"``)."""

from __future__ import annotations

from certs.cases import Case
from certs.pki import Pki
from certs.probe import Outcome
from sim.core.errors import ConfigError
from sim.core.validation import load_cic_config

__all__ = ["CONFIG_CASES"]

#: Configuration-level cases: the outcome of validating a lab configuration rather than a handshake,
#: e.g. a broker with MO on HTTPS and MT on HTTP, which the SMS Technical Reference ("Using SSL")
#: forbids: "both MO and MT from the CIC server can use either HTTP or HTTPS, but you must use the same
#: for both". Such a case uses ``kind="config"``, lists the configuration module in ``needs``, and its
#: ``run`` returns an ``Outcome`` whose reason is the validation message. The configuration model lives
#: in ``sim/core``.
def _mixed_scheme_broker(_pki: Pki) -> Outcome:
    """Validate a broker whose MO listener is HTTPS while its MT gateway is HTTP."""
    broker = {"name": "kaleyra", "type": "kaleyra", "encryption": "HTTPS",
              "mo": {"incoming_port": 8443, "incoming_path": "/kaleyra/mo"},
              "mt": {"gateway": "http://127.0.0.1:9001"}}
    try:
        load_cic_config({"brokers": [broker]}, "ssl-matrix")
    except ConfigError as exc:
        problem = exc.problems[0]
        return Outcome(False, f"{problem.path}: {problem.reason}", {"value": problem.value})
    return Outcome(True, "configuration accepted")


CONFIG_CASES: list[Case] = [
    Case(
        "config-mo-https-mt-http",
        "lab configuration (broker kaleyra)",
        "config validation",
        "refused",
        "brokers[0].mt.gateway: must use https like the broker's encryption HTTPS",
        _mixed_scheme_broker,
        facts={"value": "http://127.0.0.1:9001"},
        needs=("sim.core.validation",),
        kind="config",
        source="SMS Technical Reference, Using SSL",
    ),
]
