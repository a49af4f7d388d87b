"""Tests of certs.files: writing, permissions, PKCS#12 bundles, the manifest and reading back."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from certs.files import MANIFEST, pkcs12_bytes
from certs.pki import Pki, PkiError, PkiOptions


@pytest.fixture
def written(fixed_pki: Pki, tmp_path: Path) -> Path:
    """The fixed-clock PKI written into a fresh directory."""
    fixed_pki.write(tmp_path / "out")
    return tmp_path / "out"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_manifest_lists_every_file(written: Path) -> None:
    """The manifest names exactly the files written, and records the options without the password."""
    manifest = json.loads((written / MANIFEST).read_text())
    assert sorted([*manifest["files"], MANIFEST]) == sorted(p.name for p in written.iterdir())
    assert manifest["format"] == 1
    assert "p12_password" not in manifest["options"]
    assert manifest["options"]["brokers"] == ["kaleyra", "portico", "eztexting"]


def test_write_returns_files_and_roles(fixed_pki: Pki, tmp_path: Path) -> None:
    """write() reports each file with what it is."""
    written = dict(fixed_pki.write(tmp_path))
    assert written["cic-ca.crt"] == "CIC Certificate Authority (intermediate)"
    assert written["node-backup.p12"] == "PKCS#12 for IIS import"
    assert written["trust-proxy.pem"] == "trust bundle: servergroup-root, cic-ca"
    assert "cic-ca-chain.pem" not in written


def test_private_files_are_0600(written: Path) -> None:
    """Keys and PKCS#12 bundles are readable by the owner only; certificates by everyone."""
    assert {0o600} == {_mode(p) for p in written.glob("*.key")} | {_mode(p) for p in written.glob("*.p12")}
    assert {0o644} == {_mode(p) for p in written.glob("*.crt")} | {_mode(p) for p in written.glob("*.pem")}


def test_existing_key_file_gets_0600(fixed_pki: Pki, tmp_path: Path) -> None:
    """A world-readable key file left from elsewhere is replaced by a 0600 one."""
    (tmp_path / "cic-ca.key").write_text("old")
    (tmp_path / "cic-ca.key").chmod(0o644)
    fixed_pki.write(tmp_path)
    assert (0o600, fixed_pki.cic_ca.key_pem) == (
        _mode(tmp_path / "cic-ca.key"),
        (tmp_path / "cic-ca.key").read_bytes(),
    )


@pytest.mark.parametrize("party", ["node-primary", "proxy-self-signed", "proxy-named", "proxy-wildcard"])
def test_pkcs12_loads_with_password(fixed_pki: Pki, written: Path, party: str) -> None:
    """Each PKCS#12 bundle opens with the password and holds the key, certificate and issuers."""
    key, cert, extra = pkcs12.load_key_and_certificates((written / f"{party}.p12").read_bytes(), b"smslab")
    identity = fixed_pki[party]
    assert key is not None
    assert (identity.cert, list(identity.issuers)) == (cert, extra)
    assert identity.key.public_key() == key.public_key()


def test_pkcs12_wrong_password(fixed_pki: Pki) -> None:
    """A PKCS#12 bundle does not open with another password."""
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_key_and_certificates(pkcs12_bytes(fixed_pki.proxy_named, "right"), b"wrong")


@pytest.mark.parametrize(
    ("bundle", "parties"),
    [
        ("proxy", ["servergroup-root", "cic-ca"]),
        ("broker", ["public-ca"]),
        ("broker-imported", ["public-ca", "proxy-self-signed"]),
        ("node", ["public-ca"]),
    ],
)
def test_trust_bundle_files(fixed_pki: Pki, written: Path, bundle: str, parties: list[str]) -> None:
    """Each trust bundle file contains exactly the certificates it should."""
    found = x509.load_pem_x509_certificates((written / f"trust-{bundle}.pem").read_bytes())
    assert [fixed_pki[p].cert for p in parties] == found


def test_chain_file(fixed_pki: Pki, written: Path) -> None:
    """A node's chain file is its certificate then the CIC CA."""
    found = x509.load_pem_x509_certificates((written / "node-primary-chain.pem").read_bytes())
    assert [fixed_pki.node("primary").cert, fixed_pki.cic_ca.cert] == found


def test_load_round_trip(fixed_pki: Pki, written: Path) -> None:
    """Loading a written PKI gives the same certificates, keys and chains."""
    loaded = Pki.load(written)
    assert fixed_pki.options == loaded.options
    for identity in fixed_pki:
        other = loaded[identity.name]
        assert (identity.cert, identity.key_pem, identity.issuers) == (
            other.cert,
            other.key_pem,
            other.issuers,
        )


def test_load_other_options(written: Path) -> None:
    """Loading with options other than those written is refused."""
    with pytest.raises(PkiError, match="was written for other options"):
        Pki.load(written, PkiOptions(key_type="ec", brokers=("kaleyra",)))


def test_load_without_manifest(tmp_path: Path) -> None:
    """Loading a directory without a manifest names the missing file."""
    with pytest.raises(PkiError, match=r"pki\.json"):
        Pki.load(tmp_path)


def test_load_damaged_files(written: Path) -> None:
    """A missing certificate and an unreadable key are both reported."""
    (written / "cic-ca.crt").unlink()
    (written / "proxy-named.key").write_text("not a key")
    with pytest.raises(PkiError) as caught:
        Pki.load(written)
    missing, damaged = caught.value.problems
    assert missing == f"{written}/cic-ca.crt: No such file or directory"
    assert damaged.startswith(f"{written}/proxy-named.key: ")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"format": 2}, "'format' must be 1"),
        ({"format": 1, "options": {"domain": "x"}}, "'options' must hold exactly"),
        ("[]", "'format' must be 1"),
    ],
)
def test_load_bad_manifest(written: Path, manifest: object, message: str) -> None:
    """A manifest of another format or with incomplete options is refused."""
    (written / MANIFEST).write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(PkiError, match=message):
        Pki.load(written)


def test_load_manifest_wrong_types(written: Path) -> None:
    """Options of the wrong JSON type are refused rather than half-used."""
    manifest = json.loads((written / MANIFEST).read_text())
    manifest["options"]["days"] = "397"
    manifest["options"]["nodes"] = ["primary", 2]
    (written / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(PkiError, match="values of the wrong type: nodes, days"):
        Pki.load(written)


def test_load_manifest_invalid_options(written: Path) -> None:
    """Options a user could not have passed (a 1024-bit key size) are refused with the rule."""
    manifest = json.loads((written / MANIFEST).read_text())
    manifest["options"]["key_size"] = 1024
    (written / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(PkiError, match="'key_size' must be between 2048 and 8192"):
        Pki.load(written)


def test_stale_files_removed(fixed_pki: Pki, fixed_now: object, tmp_path: Path) -> None:
    """Files an earlier run wrote and this run does not are removed; other files are left alone."""
    fixed_pki.write(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    fewer = Pki.generate(PkiOptions(key_type="ec", brokers=("kaleyra",)), now=fixed_now)  # type: ignore[arg-type]
    fewer.write(tmp_path)
    assert not (tmp_path / "broker-portico.crt").exists()
    assert (tmp_path / "broker-kaleyra.crt").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_manifest_cannot_remove_other_files(fixed_pki: Pki, tmp_path: Path) -> None:
    """Manifest entries naming paths elsewhere or files of other kinds are never removed."""
    out = tmp_path / "out"
    fixed_pki.write(out)
    (tmp_path / "victim.crt").write_text("keep")
    (out / "notes.txt").write_text("keep")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["../victim.crt", "notes.txt", "..", 7]
    (out / MANIFEST).write_text(json.dumps(manifest))
    fixed_pki.write(out)
    assert ((tmp_path / "victim.crt").read_text(), (out / "notes.txt").read_text()) == ("keep", "keep")
