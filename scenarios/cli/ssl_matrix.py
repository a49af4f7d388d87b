"""``smslab ssl-matrix``: the SSL experiments of ``certs`` and those through the simulated reverse proxy.

The handshake and configuration cases are ``certs.experiments``; the proxy's offload, re-encrypt and
502.3 cases are ``scenarios.lab.proxy_tls_cases``. This command runs them all, in that report order, with
``certs.matrix`` (which owns the arguments, the report and the exit status).
"""

from __future__ import annotations

from certs.cases import Case
from certs.experiments import CONFIG_CASES, TLS_CASES
from certs.matrix import main as matrix_main
from scenarios.lab.proxy_tls_cases import PROXY_CASES

__all__ = ["CASES", "main"]

#: Every experiment ``smslab ssl-matrix`` runs, in report order.
CASES: list[Case] = [*TLS_CASES, *PROXY_CASES, *CONFIG_CASES]


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab ssl-matrix [--json] [--case NAME ...]``; 0 when every case went as expected."""
    return matrix_main(argv, cases=CASES)


if __name__ == "__main__":
    raise SystemExit(main())
