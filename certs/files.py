"""The PKI on disk: PEM files, PKCS#12 bundles, trust bundles and the ``pki.json`` manifest.

Layout of a written directory, for each party ``<p>`` of :func:`certs.layout.plan`:

- ``<p>.crt`` the certificate (PEM) and ``<p>.key`` its private key (PKCS#8 PEM, mode 0600);
- ``<p>-chain.pem`` for a leaf: the certificate and its intermediates, what a server presents;
- ``<p>.p12`` where IIS would import one (the proxy's and the nodes' certificates): key, certificate
  and issuers, encrypted with the PKCS#12 password (mode 0600);
- ``trust-<bundle>.pem`` for each bundle of :data:`certs.layout.TRUST_BUNDLES`;
- ``pki.json``, written last: the options and the list of files, so a later run can tell whether the
  directory still matches, and remove files it wrote before and no longer writes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from certs.issue import PrivateKey
from certs.layout import TRUST_BUNDLES, PkiError, PkiOptions, Spec

__all__ = ["FORMAT", "MANIFEST", "Party", "Written", "comparable", "pkcs12_bytes", "read", "write"]

MANIFEST = "pki.json"
FORMAT = 1


class Party(Protocol):
    """What is written of one party (``certs.pki.Identity`` is one): its certificate, key and chain."""

    @property
    def spec(self) -> Spec: ...
    @property
    def name(self) -> str: ...
    @property
    def cert(self) -> x509.Certificate: ...
    @property
    def key(self) -> PrivateKey: ...
    @property
    def issuers(self) -> tuple[x509.Certificate, ...]: ...
    @property
    def cert_pem(self) -> bytes: ...
    @property
    def key_pem(self) -> bytes: ...
    @property
    def chain_pem(self) -> bytes: ...


class Written(Protocol):
    """What ``write`` needs of a PKI (``certs.pki.Pki`` is one); ``certs.pki`` imports this module, so
    this module sees the PKI through this view and imports nothing back."""

    options: PkiOptions

    def __iter__(self) -> Iterator[Party]: ...
    def trust_pem(self, bundle: str | Sequence[str]) -> bytes: ...


def comparable(options: PkiOptions) -> dict[str, Any]:
    """The options as stored in the manifest: JSON types, without the PKCS#12 password."""
    data = dataclasses.asdict(options)
    del data["p12_password"]
    plain: dict[str, Any] = json.loads(json.dumps(data))
    return plain


def _options(data: object, source: Path) -> PkiOptions:
    defaults = comparable(PkiOptions())
    if not isinstance(data, dict) or set(data) != set(defaults):
        raise PkiError([f"{source}: 'options' must hold exactly {sorted(defaults)} (got {data!r})"])
    wrong = [
        key
        for key, value in data.items()
        if type(value) is not type(defaults[key])
        or (isinstance(value, list) and not all(isinstance(i, str) for i in value))
    ]
    if wrong:
        raise PkiError(
            [f"{source}: 'options' have values of the wrong type: {', '.join(wrong)} (got {data!r})"]
        )
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    options = PkiOptions(**values)
    if problems := options.problems():
        raise PkiError([f"{source}: {problem}" for problem in problems])
    return options


def _put(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` atomically; a private file is 0600 from its creation on."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with open(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def pkcs12_bytes(identity: Party, password: str) -> bytes:
    """A PKCS#12 bundle of ``identity``'s key, certificate and issuers, encrypted with ``password``.

    The bundle uses PBES1 SHA-1/3DES with a SHA-1 MAC rather than cryptography's AES-256 default,
    which older Windows releases cannot import (cryptography docs, ``PrivateFormat.PKCS12``), and
    OpenSSL's default of 2048 KDF rounds (``PKCS12_DEFAULT_ITER``): a lab password needs no more.
    """
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password.encode())
    )
    return pkcs12.serialize_key_and_certificates(
        identity.name.encode(), identity.key, identity.cert, list(identity.issuers) or None, encryption
    )


def _files(identity: Party, password: str) -> list[tuple[str, bytes, bool, str]]:
    name, role = identity.name, identity.spec.role
    found = [
        (f"{name}.crt", identity.cert_pem, False, role),
        (f"{name}.key", identity.key_pem, True, "private key, 0600"),
    ]
    if not identity.spec.ca:
        found.append((f"{name}-chain.pem", identity.chain_pem, False, "certificate + intermediates"))
    if identity.spec.pkcs12:
        found.append((f"{name}.p12", pkcs12_bytes(identity, password), True, "PKCS#12 for IIS import"))
    return found


def write(pki: Written, directory: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Write ``pki`` into ``directory``; returns ``(file name, what)`` for each file written."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    entries = [entry for identity in pki for entry in _files(identity, pki.options.p12_password)]
    entries += [
        (f"trust-{b}.pem", pki.trust_pem(b), False, f"trust bundle: {', '.join(p)}")
        for b, p in TRUST_BUNDLES.items()
    ]
    for file_name, data, private, _ in entries:
        _put(root / file_name, data, private=private)
    names = [entry[0] for entry in entries]
    _remove_stale(root, set(names))
    manifest = {"format": FORMAT, "options": comparable(pki.options), "files": names}
    _put(root / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
    return [(file_name, what) for file_name, _, _, what in entries]


def _ours(file_name: object) -> bool:
    """Whether a manifest entry names a file this module writes (so never a path elsewhere)."""
    return (
        isinstance(file_name, str)
        and file_name == Path(file_name).name
        and file_name.endswith((".crt", ".key", ".pem", ".p12"))
    )


def _remove_stale(root: Path, keep: set[str]) -> None:
    """Remove files an earlier run listed in its manifest and this run no longer writes."""
    try:
        earlier = json.loads((root / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    for file_name in earlier if isinstance(earlier, list) else []:
        if _ours(file_name) and file_name not in keep:
            (root / file_name).unlink(missing_ok=True)


def _load(path: Path, parse: Callable[[bytes], object], problems: list[str]) -> object:
    try:
        return parse(path.read_bytes())
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror}")
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
    return None


def _key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"must be an RSA or EC key (got {type(key).__name__})")
    return key


def read(
    directory: str | os.PathLike[str], plan: Callable[[PkiOptions], list[Spec]]
) -> tuple[PkiOptions, dict[str, tuple[x509.Certificate, PrivateKey]]]:
    """Read the manifest's options and every party's certificate and key.

    Raises:
        PkiError: the manifest or a file is missing or unreadable (every such file listed).
    """
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise PkiError([f"{root / MANIFEST}: {exc}"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PkiError([f"{root / MANIFEST}: 'format' must be {FORMAT}"])
    options = _options(manifest.get("options"), root / MANIFEST)
    parts: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
    problems: list[str] = []
    for spec in plan(options):
        cert = _load(root / f"{spec.name}.crt", x509.load_pem_x509_certificate, problems)
        key = _load(root / f"{spec.name}.key", _key, problems)
        if isinstance(cert, x509.Certificate) and isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        ):
            parts[spec.name] = (cert, key)
    if problems:
        raise PkiError(problems)
    return options, parts
