"""Tests for scenarios.cli.serve: ``smslab serve cic|proxy|<fake> --config`` reads a lab file as the lab does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from labfiles import STAGED, STAGED_PROBLEMS, problems, write

from scenarios.cli.main import main
from scenarios.paths import BUILTIN_DIR, DEFAULT_LAB, EXAMPLES_DIR

NO_RECOVERY = BUILTIN_DIR / "labs" / "no-recovery.yaml"
ALONE_REASON = ("names a fake of the lab: fake:<name> gateways resolve only inside `smslab up`/`smslab run`; "
                "give the broker's real gateway URL to serve a node alone")
#: The default lab's brokers with real gateways, so a node can be served from it alone.
REAL_GATEWAYS = """\
extends: default
brokers:
  - {name: kaleyra, mt: {gateway: "http://127.0.0.1:9"}}
  - {name: portico, mt: {gateway: "http://127.0.0.1:9"}}
  - {name: eztexting, mt: {gateway: "http://127.0.0.1:9"}}
"""


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something already listens on (so a command that gets as far as listening stops there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``smslab serve ARGV``: the exit status and what it printed on stderr."""
    code = main(["serve", *argv])
    return code, capsys.readouterr().err


def test_a_node_alone_refuses_fake_gateways_saying_where_they_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    """serve cic on the default lab: each fake:<name> gateway is refused with why and what to give instead."""
    code, err = run(capsys, "cic", "--config", str(DEFAULT_LAB), "--role", "primary")
    assert (code, problems(err, DEFAULT_LAB)) == (2, [
        f"brokers[{i}].mt.gateway: {ALONE_REASON} (got 'fake:{name}')"
        for i, name in enumerate(("kaleyra", "portico", "eztexting"))])


def test_a_node_alone_gets_the_labs_verdict_every_problem_at_once(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """serve cic lists the lab's problems of every section, and its fake gateway, in one run."""
    lab = write(tmp_path, STAGED)
    code, err = run(capsys, "cic", "--config", str(lab), "--role", "primary")
    assert (code, problems(err, lab)) == (2, [*STAGED_PROBLEMS[:1], f"brokers[0].mt.gateway: {ALONE_REASON} "
                                                                    "(got 'fake:k1')", *STAGED_PROBLEMS[1:]])


def test_a_node_alone_reads_a_lab_that_extends_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           taken: int) -> None:
    """serve cic follows extends: default, so the file is served (and stops only at the taken port)."""
    lab = write(tmp_path, REAL_GATEWAYS)
    code, err = run(capsys, "cic", "--config", str(lab), "--role", "primary", "--control-port", str(taken))
    assert (code, err.startswith("smslab serve cic: cannot listen")) == (2, True)


def test_the_example_lab_serves_a_node_alone(capsys: pytest.CaptureFixture[str], taken: int) -> None:
    """serve cic accepts scenarios/examples/lab.yaml, as check-config does (it stops only at the taken port)."""
    code, err = run(capsys, "cic", "--config", str(EXAMPLES_DIR / "lab.yaml"), "--role", "primary",
                    "--control-port", str(taken))
    assert (code, err.startswith("smslab serve cic: cannot listen")) == (2, True)


def test_the_proxy_reads_a_lab_that_extends_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    """serve proxy follows extends: default: the farms are the default lab's (8080 only)."""
    code, err = run(capsys, "proxy", "--config", str(NO_RECOVERY), "--member", "h:1", "--member", "h:2",
                    "--farm", "9999")
    assert (code, problems(err, NO_RECOVERY)) == (2, [
        "--farm: must be an incoming port of the brokers (8080) (got 9999)"])


def test_a_fake_reads_a_lab_that_extends_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     taken: int) -> None:
    """serve <kind> follows extends: default: the fake kaleyra of the default lab is a kaleyra fake."""
    lab = write(tmp_path, "extends: default\n")
    code, err = run(capsys, "portico", "kaleyra", "--config", str(lab), "--port", str(taken))
    assert (code, problems(err, lab)) == (2, ["fakes.kaleyra.kind: must be 'portico' to serve it as portico "
                                              "(got 'kaleyra')"])
