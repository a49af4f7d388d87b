"""``smslab ssl-matrix``: run every SSL experiment on loopback and report expected against actual.

Each case of :data:`certs.experiments.CASES` performs a real handshake on ``127.0.0.1`` (port 0)
between two of the lab's parties, using a PKI generated in memory for the run, and is reported with its
expected and actual outcome and the exact reason (stdlib ``ssl`` verify code and message, OpenSSL error
reason, or the negotiated protocol). The exit status is 1 when any actual outcome differs from the
expected one, so the matrix can gate CI on a new OpenSSL or Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from certs.cases import Case, Result, run_case
from certs.pki import Pki, PkiOptions

__all__ = ["main", "render", "run"]


def run(cases: Sequence[Case] | None = None, pki: Pki | None = None) -> list[Result]:
    """Run ``cases`` (all of :data:`~certs.experiments.CASES` when None) against ``pki``.

    Args:
        cases: the experiments, in report order.
        pki: the PKI to use; a fresh one with the default options when None.
    """
    if cases is None:
        from certs.experiments import CASES  # noqa: PLC0415  (the registry imports pyOpenSSL; load on use)

        cases = CASES
    pki = pki or Pki.generate(PkiOptions())
    return [run_case(case, pki) for case in cases]


def render(results: Sequence[Result]) -> str:
    """A plain-text report: one block per case, then a summary line."""
    lines = []
    for result in results:
        mark = "skip" if result.actual == "skipped" else "ok" if result.passed else "FAIL"
        case = result.case
        lines.append(f"[{mark:>4}] {case.name}: {result.client} -> {result.server}")
        lines.append(f"       expected {case.expected}: {result.expected_reason}")
        lines.append(f"       actual   {result.actual}: {result.reason}")
        lines += [f"       mismatch: {m}" for m in result.mismatches]
    failed = sum(not r.passed for r in results)
    skipped = sum(r.actual == "skipped" for r in results)
    lines.append(f"{len(results)} cases, {failed} failed, {skipped} skipped")
    return "\n".join(lines)


def main(
    argv: list[str] | None = None, *, cases: Sequence[Case] | None = None, pki: Pki | None = None
) -> int:
    """Run ``smslab ssl-matrix [--json] [--case NAME ...]``; 0 when every case went as expected.

    Args:
        argv: the arguments after ``ssl-matrix``; ``sys.argv[1:]`` when None.
        cases: the experiments to choose from; the whole registry when None.
        pki: the PKI to run them with; a fresh default one when None.
    """
    summary = " ".join(__doc__.split("\n\n")[0].replace("``", "").split())  # help text, no reST quotes
    parser = argparse.ArgumentParser(prog="smslab ssl-matrix", description=summary)
    parser.add_argument("--json", action="store_true", help="print one JSON document (a list of cases)")
    parser.add_argument("--case", action="append", metavar="NAME", help="run only this case (repeat)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if cases is None:
        from certs.experiments import CASES  # noqa: PLC0415  (see run)

        cases = CASES
    if args.case:
        unknown = sorted(set(args.case) - {c.name for c in cases})
        if unknown:
            names = ", ".join(c.name for c in cases)
            print(f"smslab ssl-matrix: no case named {', '.join(unknown)}; the cases are: {names}",
                  file=sys.stderr)
            return 2
        cases = [c for c in cases if c.name in args.case]
    results = run(cases, pki)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        print(render(results))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
