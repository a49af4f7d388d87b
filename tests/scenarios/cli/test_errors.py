"""Tests for scenarios.cli.main.guarded: every smslab subcommand answers bad input with a message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.cli import core as core_commands
from scenarios.cli.main import BENCHES, DELEGATED, guarded, main
from sim.core.errors import ConfigError, InputError, Problem

MISSING = "/nonexistent/smslab/lab.yaml"

#: Bad arguments for every subcommand (and every bench); each must exit 2 with a reason on stderr.
BAD: list[tuple[str, ...]] = [
    ("segment", "--reference-bits", "9"),
    ("segment",),
    ("route", "inbound", "--ani", "1", "--dnis", "2"),
    ("route", "inbound", "--ani", "1", "--dnis", "2", "--config", MISSING),
    ("check-config", MISSING),
    ("conformance", "--core", "nosuch.module:Core"),
    ("conformance", "--core-url", "notaurl"),
    ("conformance", "--core-url", "http://127.0.0.1:1"),
    ("conformance", "--core-url", "http://127.0.0.1:1", "--timeout", "0"),
    ("up", "--port", "99999"),
    ("up", "--port", "-1"),
    ("up", "--port", "http"),
    ("up", "--config", MISSING),
    ("run", "--timeout", "0"),
    ("run", "--url", "notaurl"),
    ("run", "--url", "http://127.0.0.1:99999"),
    ("failover", "--count", "0"),
    ("failover", "--pace", "-1"),
    ("failover", "--config", MISSING),
    ("serve", "nosuch", "x"),
    ("serve",),
    ("serve", "kaleyra", "k", "--port", "99999"),
    ("serve", "kaleyra", "k", "--config", MISSING),
    ("serve", "cic", "--role", "primary", "--control-port", "99999"),
    ("serve", "cic", "--role", "primary", "--peer", "notaurl"),
    ("serve", "cic", "--role", "primary", "--config", MISSING),
    ("serve", "proxy", "--member", "127.0.0.1:1", "--port", "99999"),
    ("serve", "proxy", "--member", "nope"),
    ("serve", "core", "--core", "nosuch.module:Core"),
    ("serve", "core", "--port", "99999"),
    ("serve", "nexus", "--port", "99999"),
    ("serve", "nexus", "--config", MISSING),
    ("proxy", "haproxy-config", "--config", MISSING),
    ("certs", "--days", "0", "--out", "{tmp}/certs"),
    ("ssl-matrix", "--case", "nosuch"),
    ("simulate", MISSING),
    ("simulate", MISSING, "--sweep", "seed"),
    ("load", "nosuch"),
    ("load", "mo_push", "--url", "notaurl"),
    ("bench", "nosuch"),
    ("bench", "load", "--seconds", "0"),
    ("bench", "core", "--messages", "0"),
    ("bench", "fakes", "--seconds", "0"),
    ("bench", "proxy", "--rounds", "0"),
    ("bench", "scale", "--mos", "0"),
    ("bench", "nexus", "--seconds", "0"),
    ("bench", "carrier", "--messages", "0"),
    ("bench", "carrier", "--messages", "9"),
    ("bench", "soak", "--share", "2"),
    ("bench", "soak", "--minutes", "nan"),
]


def _exit(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refuses a value by exiting 2
        return int(exc.code or 0)


def test_the_table_names_every_subcommand() -> None:
    """Every subcommand and every bench appears in the bad-argument table, so a new one cannot be missed."""
    parser_names = set(DELEGATED) | {"segment", "route", "check-config", "conformance"}
    assert {argv[0] for argv in BAD} == parser_names | {"bench"}
    assert {argv[1] for argv in BAD if argv[0] == "bench"} == set(BENCHES) | {"nosuch"}
    assert core_commands.EXIT_CONFIG == 2


@pytest.mark.parametrize("argv", BAD, ids=" ".join)
def test_bad_arguments_exit_2_with_a_reason_and_no_traceback(
        argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The subcommand exits 2 and says why on stderr, in one short message, without a traceback."""
    code = _exit([a.replace("{tmp}", str(tmp_path)) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.strip(), "no reason on stderr"
    assert "Traceback" not in err + out
    assert not (tmp_path / "certs").exists()


@pytest.mark.parametrize("argv", [("up", "--port", "99999"), ("serve", "proxy", "--member", "127.0.0.1:1",
                                                                "--port", "99999")], ids=" ".join)
def test_the_installed_command_prints_one_usage_error(argv: tuple[str, ...]) -> None:
    """Run for real, the command prints argparse's usage and one error line, and no unclosed session warning."""
    done = subprocess.run([sys.executable, "-m", "scenarios.cli.main", *argv], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith("a port is a whole number from 0 to 65535 (got 99999)")
    assert "Traceback" not in done.stderr
    assert "Unclosed" not in done.stderr


def test_guarded_names_the_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    """An OS error that knows its file is printed with the file's name, and the exit status is 2."""
    def run() -> int:
        raise FileNotFoundError(2, "No such file or directory", "/lab/certs/proxy.pem")

    assert guarded("smslab up", run) == 2
    assert capsys.readouterr().err == "smslab up: /lab/certs/proxy.pem: No such file or directory\n"


def test_guarded_prints_every_config_problem(capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration error is printed whole (each problem on its own line) and exits 2."""
    def run() -> int:
        raise ConfigError([Problem("proxy.port", -1, "must be 0 or more"), Problem("cic", [], "must be a mapping")],
                          "lab.yaml")

    assert guarded("smslab check-config", run) == 2
    err = capsys.readouterr().err
    assert err.startswith("smslab check-config: ")
    assert "proxy.port: must be 0 or more (got -1)" in err
    assert "cic: must be a mapping (got [])" in err


def test_guarded_input_error_and_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    """An input error exits 2 with its message; Ctrl-C exits 130 saying it was interrupted."""
    def bad() -> int:
        raise InputError("the text has an unpaired surrogate")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert guarded("smslab segment", bad) == 2
    assert capsys.readouterr().err == "smslab segment: the text has an unpaired surrogate\n"
    assert guarded("smslab up", interrupted) == 130
    assert capsys.readouterr().err == "smslab up: interrupted\n"


def test_guarded_lets_a_bug_keep_its_traceback() -> None:
    """An unexpected exception is a bug: it is not turned into a message."""
    def broken() -> int:
        raise ZeroDivisionError("float division by zero")

    with pytest.raises(ZeroDivisionError):
        guarded("smslab bench core", broken)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed version and exits 0."""
    assert _exit(["--version"]) == 0
    assert capsys.readouterr().out.startswith("smslab 0.")
