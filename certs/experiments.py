"""The registry of SSL experiments between the lab's parties (``smslab ssl-matrix``), in report order.

The cases live with what they test: the three legs of the SMS path (``certs.path_cases``), the
negotiation itself (``certs.negotiation_cases``) and the lab configuration (``certs.config_cases``); how
each kind runs is in ``certs.case_steps``. ``smslab ssl-matrix`` adds the cases that go through the
simulated reverse proxy (``scenarios.lab.proxy_tls_cases``): they need ``sim.proxy``, which ``certs``,
using the core alone, does not import.
"""

from __future__ import annotations

from certs.cases import Case
from certs.config_cases import CONFIG_CASES
from certs.negotiation_cases import NEGOTIATION_CASES
from certs.path_cases import PATH_CASES

__all__ = ["CASES", "CONFIG_CASES", "TLS_CASES"]

#: Every handshake case of the path and of the negotiation.
TLS_CASES: list[Case] = [*PATH_CASES, *NEGOTIATION_CASES]

#: Every experiment of ``certs``, in report order (``python -m certs.matrix`` runs these).
CASES: list[Case] = [*TLS_CASES, *CONFIG_CASES]
