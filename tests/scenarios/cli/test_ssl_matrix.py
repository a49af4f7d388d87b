"""Tests of scenarios.cli.ssl_matrix: `smslab ssl-matrix` runs the certs cases and the proxy's, in order."""

from __future__ import annotations

import json

import pytest

from certs.experiments import CONFIG_CASES, TLS_CASES
from scenarios.cli.main import main
from scenarios.cli.ssl_matrix import CASES
from scenarios.lab.proxy_tls_cases import PROXY_CASES


def test_the_matrix_is_tls_then_proxy_then_config() -> None:
    """The command's cases are the handshake cases, then the proxy's, then the configuration ones."""
    assert [*TLS_CASES, *PROXY_CASES, *CONFIG_CASES] == CASES


def test_smslab_ssl_matrix_runs_a_proxy_case(capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab ssl-matrix --case` reaches a case that goes through the simulated proxy."""
    assert 0 == main(["ssl-matrix", "--case", "proxy-to-node-offload", "--json"])
    (entry,) = json.loads(capsys.readouterr().out)
    assert ("proxy-to-node-offload", "accepted") == (entry["name"], entry["actual"])
