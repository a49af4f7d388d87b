"""``smslab certs``: write the lab's PKI to a directory, reusing what is already there.

Idempotence, decided: a second run **reuses** the keys and certificates of the directory when its
manifest was written for the same options and :meth:`certs.pki.Pki.check` finds nothing wrong (keys
match, signatures hold, every validity window still plays its part). Otherwise, or with ``--force``, it
**regenerates everything**, so the files always form one consistent PKI. The derived files (chains,
PKCS#12 bundles, trust bundles) are rewritten on every run, so a new ``--p12-password`` takes effect
without new keys. Reusing keeps a root that someone imported (the "broker imports the proxy's
self-signed certificate" step of the SMS Technical Reference) valid across runs.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from certs.layout import PkiError, PkiOptions
from certs.pki import Pki

__all__ = ["DEFAULT_OUT", "main", "obtain"]

DEFAULT_OUT = Path("certs/out")
_DEFAULTS = PkiOptions()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smslab certs", description="Write the smslab PKI.")
    add = parser.add_argument
    add("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    add("--domain", default=_DEFAULTS.domain, help="DNS domain of the lab's host names")
    add("--fqdn", default="", help="the proxy's public name (default webportal.<domain>)")
    add("--node", action="append", dest="nodes", metavar="NAME", help="CIC node (repeat; primary, backup)")
    add("--broker", action="append", dest="brokers", metavar="NAME", help="broker with HTTPS (repeat)")
    add("--key-type", choices=("rsa", "ec"), default=_DEFAULTS.key_type, help="key algorithm")
    add("--key-size", type=int, default=_DEFAULTS.key_size, help="RSA key size in bits")
    add("--days", type=int, default=_DEFAULTS.days, help="validity of server certificates")
    add("--ca-days", type=int, default=_DEFAULTS.ca_days, help="validity of CA certificates")
    add("--p12-password", default=_DEFAULTS.p12_password, help="password of the PKCS#12 bundles")
    add("--force", action="store_true", help="regenerate everything even if the directory matches")
    return parser


def _options(args: argparse.Namespace) -> PkiOptions:
    return PkiOptions(
        domain=args.domain,
        fqdn=args.fqdn,
        nodes=tuple(args.nodes or _DEFAULTS.nodes),
        brokers=tuple(args.brokers or _DEFAULTS.brokers),
        key_type=args.key_type,
        key_size=args.key_size,
        days=args.days,
        ca_days=args.ca_days,
        p12_password=args.p12_password,
    )


def obtain(
    options: PkiOptions, directory: Path, *, now: datetime.datetime | None = None, force: bool = False
) -> tuple[Pki, str]:
    """The PKI to write into ``directory``: the one already there if it still fits, else a new one.

    Returns:
        The PKI and what was decided, e.g. ``"reused"`` or ``"generated (no PKI in certs/out yet)"``.

    Raises:
        PkiError: the options are invalid.
    """
    options.check()
    if force:
        reason = "--force"
    elif not (directory / "pki.json").exists():
        reason = f"no PKI in {directory} yet"
    else:
        try:
            pki = Pki.load(directory, options)
        except PkiError as exc:
            reason = str(exc)
        else:
            if not (problems := pki.check(now)):
                return pki, "reused"
            reason = problems[0]
    return Pki.generate(options, now=now), f"generated ({reason})"


def main(argv: list[str] | None = None, *, now: datetime.datetime | None = None) -> int:
    """Run ``smslab certs``; returns the exit status (0 written; 2 for a usage error, invalid options or a
    folder it cannot write, as every smslab command exits on an expected error).

    Args:
        argv: the arguments after ``certs``; ``sys.argv[1:]`` when None.
        now: the clock for validity windows; the wall clock when None.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        pki, decision = obtain(_options(args), args.out, now=now, force=args.force)
        written = pki.write(args.out)
    except PkiError as exc:
        for problem in exc.problems:
            print(f"smslab certs: {problem}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"smslab certs: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {decision}, {len(written)} files")
    width = max(len(file_name) for file_name, _ in written)
    for file_name, what in written:
        print(f"  {file_name:<{width}}  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
