"""The registry of SSL experiments between the lab's parties (``smslab ssl-matrix``), in report order.

The cases live with what they test: the three legs of the SMS path (``certs.path_cases``), the
negotiation itself (``certs.negotiation_cases``), the simulated reverse proxy (``certs.proxy_cases``)
and the lab configuration (``certs.config_cases``); how each kind runs is in ``certs.case_steps``.
"""

from __future__ import annotations

from certs.cases import Case
from certs.config_cases import CONFIG_CASES
from certs.negotiation_cases import NEGOTIATION_CASES
from certs.path_cases import PATH_CASES
from certs.proxy_cases import PROXY_CASES

__all__ = ["CASES", "CONFIG_CASES", "PROXY_CASES", "TLS_CASES"]

#: Every handshake case of the path and of the negotiation.
TLS_CASES: list[Case] = [*PATH_CASES, *NEGOTIATION_CASES]

#: Every experiment ``smslab ssl-matrix`` runs, in report order.
CASES: list[Case] = [*TLS_CASES, *PROXY_CASES, *CONFIG_CASES]
