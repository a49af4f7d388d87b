"""``smslab serve kaleyra|portico|http-broker NAME``: run one fake broker standalone until signalled.

Reads the lab file (``--config``), takes the mapping at ``fakes.NAME`` (defaults when absent), builds the
fake through ``fakes.registry`` (relative certificate and CA paths read against the file's folder, as
``smslab up`` reads them), starts it, prints one JSON line ``{"name", "kind", "url"}`` once it
listens (so a parent process can read the real port), and serves until SIGINT or SIGTERM; exit 0.
A bad configuration prints every problem to stderr and exits 2.

The lab file is read with ``sim.labfile``, the one reader of lab files (``extends`` followed).
``smslab serve`` hands ``main`` the lab's own check as ``read`` (``scenarios.lab.check.serve_fake``), so the
file gets the verdict ``smslab check-config`` gives it; ``python -m fakes.serve`` (a ``--processes`` lab's
child) reads ``fakes.NAME`` alone.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from fakes import registry
from fakes.common import FakeBroker, server_tls
from sim.cliargs import port
from sim.core.errors import ConfigError, Problem
from sim.labfile import read_lab_data
from sim.serving import serve_until_stopped

__all__ = ["Load", "build", "load", "main", "run"]

#: What reads the lab file for a fake: (file, fake name) -> the fake's settings mapping.
Load = Callable[[Path, str], Mapping[str, Any]]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab serve", description="Run one fake SMS broker standalone.")
    p.add_argument("kind", choices=registry.kinds(), help="the kind of fake")
    p.add_argument("name", help="its name; its settings are read from fakes.NAME in the config file (for "
                                "http-broker without one, NAME is the shipped definition: eztexting, "
                                "generic-form, generic-json, kaleyra-directtext)")
    p.add_argument("--config", type=Path, help="the lab YAML file (without one, defaults apply; portico gets "
                                               "the demo OAuth client smslab-demo / smslab-demo-secret)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=0, help="port to listen on (default 0: any free port)")
    p.add_argument("--cert", type=Path, help="PEM certificate chain: serve HTTPS (needs --key)")
    p.add_argument("--key", type=Path, help="PEM private key for --cert")
    return p


#: What a fake served without ``--config`` is given beyond its defaults: only what it cannot run without.
#: Portico needs an OAuth client to hand out tokens; the demo one is ``smslab-demo`` / ``smslab-demo-secret``.
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "portico": {"clients": [{"id": "smslab-demo", "secret": "smslab-demo-secret"}]},
}


def load(config: Path, name: str) -> Any:
    """The mapping at ``fakes.NAME`` of the lab file (``{}`` when absent; paths read beside the file).

    Raises:
        ConfigError: the file cannot be read, or its ``fakes`` section is not a mapping.
    """
    data = read_lab_data(config)  # tls.cert, tls.key, push.ca: beside the lab file
    fakes = data.get("fakes") or {}
    if not isinstance(fakes, Mapping):
        problem = Problem("fakes", fakes, "must be a mapping of fake names to settings")
        raise ConfigError([problem], str(config))
    return fakes.get(name) or {}


def build(kind: str, name: str, config: Path | None = None, read: Load | None = None) -> FakeBroker:
    """The fake ``kind`` named ``name``, configured from ``config``'s ``fakes.NAME``.

    Args:
        kind: the kind of fake.
        name: its name in the lab file.
        config: the lab file (defaults without one).
        read: what reads ``config`` (``load`` when ``None``).

    Raises:
        ConfigError: the file cannot be read, or its settings have problems.
    """
    settings = (read or load)(config, name) if config is not None else DEMO_SETTINGS.get(kind, {})
    source = str(config or "")
    path = f"fakes.{name}"
    if isinstance(settings, Mapping) and settings.get("kind", kind) != kind:
        wrong = Problem(f"{path}.kind", settings["kind"], f"must be {kind!r} to serve it as {kind}")
        raise ConfigError([wrong], source)
    try:
        return registry.create(kind, name, settings, path)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from exc


async def run(fake: FakeBroker, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None,
              stop: asyncio.Event | None = None, out: TextIO | None = None) -> int:
    """Start ``fake``, print its JSON line, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    return await serve_until_stopped(lambda: fake.start(host, port, tls), fake.stop,
                                     lambda url: {"name": fake.name, "kind": fake.kind, "url": url},
                                     stop=stop, out=out)


def main(argv: list[str] | None = None, *, read: Load | None = None) -> int:
    """Run ``smslab serve``; 0 after a signal, 2 for a bad configuration or bad TLS files.

    Args:
        argv: the arguments after ``serve``; ``sys.argv[1:]`` when ``None``.
        read: what reads ``--config`` (``load`` when ``None``; ``smslab`` gives the lab's check).
    """
    args = _parser().parse_args(argv)
    if (args.cert is None) != (args.key is None):
        print("smslab serve: --cert and --key go together", file=sys.stderr)
        return 2
    try:
        fake = build(args.kind, args.name, args.config, read)
        tls = server_tls(fake.settings)
        if args.cert is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args.cert, args.key)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError) as exc:
        print(f"smslab serve: cannot load the TLS certificate: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(fake, args.host, args.port, tls=tls))
    except OSError as exc:
        print(f"smslab serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
