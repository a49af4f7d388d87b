"""Tests of certs.cli (``smslab certs``): writing, reuse across runs, regeneration, errors."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from certs.cli import main
from certs.pki import Pki
from scenarios.cli.main import main as smslab_main

EC = ["--key-type", "ec"]


def _keys(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("*.key")}


def test_first_run_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_now: datetime.datetime
) -> None:
    """A first run generates the PKI, writes it and lists the files."""
    out = tmp_path / "out"
    assert main(["--out", str(out), *EC], now=fixed_now) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{out}: generated (no PKI in {out} yet), 59 files"
    assert lines[1].split() == ["servergroup-root.crt", "ServerGroup", "certificate", "(self-signed", "root)"]
    assert Pki.load(out).check(fixed_now) == []


def test_second_run_reuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_now: datetime.datetime
) -> None:
    """A second run with the same options keeps every key and certificate and stays consistent."""
    assert main(["--out", str(tmp_path), *EC], now=fixed_now) == 0
    keys, root = _keys(tmp_path), (tmp_path / "servergroup-root.crt").read_bytes()
    capsys.readouterr()
    assert main(["--out", str(tmp_path), *EC], now=fixed_now + datetime.timedelta(days=30)) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path}: reused, 59 files")
    assert (keys, root) == (_keys(tmp_path), (tmp_path / "servergroup-root.crt").read_bytes())
    assert Pki.load(tmp_path).check(fixed_now + datetime.timedelta(days=30)) == []


def test_new_password_applies_on_reuse(tmp_path: Path, fixed_now: datetime.datetime) -> None:
    """Reusing the keys still rewrites the PKCS#12 bundles with the new password."""
    assert main(["--out", str(tmp_path), *EC], now=fixed_now) == 0
    assert main(["--out", str(tmp_path), *EC, "--p12-password", "n3w"], now=fixed_now) == 0
    key, _, _ = pkcs12.load_key_and_certificates((tmp_path / "proxy-named.p12").read_bytes(), b"n3w")
    assert key is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((["--broker", "kaleyra"], 0), "was written for other options"),
        ((["--force"], 0), "--force"),
        (([], 400), "node-primary: expired at"),
    ],
)
def test_regenerates(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fixed_now: datetime.datetime,
    change: tuple[list[str], int],
    reason: str,
) -> None:
    """Other options, --force, or expired leaves regenerate everything, with new keys."""
    assert main(["--out", str(tmp_path), *EC], now=fixed_now) == 0
    keys = _keys(tmp_path)["servergroup-root.key"]
    capsys.readouterr()
    second, later = change
    now = fixed_now + datetime.timedelta(days=later)
    assert main(["--out", str(tmp_path), *EC, *second], now=now) == 0
    assert reason in capsys.readouterr().out.splitlines()[0]
    assert keys != _keys(tmp_path)["servergroup-root.key"]
    assert Pki.load(tmp_path).check(now) == []


def test_damaged_directory_regenerates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory with a missing file is regenerated whole."""
    assert main(["--out", str(tmp_path), *EC]) == 0
    (tmp_path / "cic-ca.key").unlink()
    capsys.readouterr()
    assert main(["--out", str(tmp_path), *EC]) == 0
    assert "cic-ca.key: No such file or directory" in capsys.readouterr().out
    assert Pki.load(tmp_path).check() == []


def test_invalid_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid options exit 2, list each problem on stderr, and write nothing."""
    out = tmp_path / "out"
    assert main(["--out", str(out), "--key-size", "1024", "--days", "0", "--broker", "A B"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "smslab certs: 'broker' must be a DNS label (got 'A B')",
        "smslab certs: 'key_size' must be between 2048 and 8192 (got 1024)",
        "smslab certs: 'days' must be at least 1 (got 0)",
    ]
    assert not out.exists()


def test_unwritable_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An output path that is a file exits 2 with the OS error."""
    (tmp_path / "file").write_text("x")
    assert main(["--out", str(tmp_path / "file" / "out"), *EC]) == 2
    assert capsys.readouterr().err.startswith("smslab certs: ")


def test_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and an unknown option exits 2, both without raising."""
    assert main(["--help"]) == 0
    assert "--key-size" in capsys.readouterr().out
    assert main(["--key-type", "dsa"]) == 2
    assert "invalid choice: 'dsa'" in capsys.readouterr().err


def test_smslab_certs_runs_this_command(tmp_path: Path) -> None:
    """`smslab certs` hands its arguments to this command."""
    assert smslab_main(["certs", "--out", str(tmp_path), *EC]) == 0
    assert (tmp_path / "pki.json").exists()


def test_subprocess(tmp_path: Path) -> None:
    """`python -m certs.cli` writes a PKI from a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "certs.cli", "--out", str(tmp_path), *EC],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert f"{tmp_path}: generated" in done.stdout
    assert Pki.load(tmp_path).check() == []
