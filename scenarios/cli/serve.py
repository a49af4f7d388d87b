"""``smslab serve COMPONENT ...``: run one piece of the lab standalone, in its own process.

``cic`` (a CIC node) and ``proxy`` (the ARR-style reverse proxy) have their own ``main``; every other
component name is a fake broker kind, handed to ``fakes.serve``. Each prints one JSON line with its URLs
once it is ready and serves until SIGINT or SIGTERM. Every component also runs embedded, on one event
loop beside the others; this is the distributed form, for faults that must be real (SIGKILL, SIGSTOP).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ["COMPONENTS", "main"]

# component -> module whose main(argv) serves it; anything else is a fake broker kind.
COMPONENTS: dict[str, str] = {"cic": "sim.cic.serve", "proxy": "sim.proxy.serve"}
_FAKES = "fakes.serve"


def main(argv: list[str] | None = None) -> int:
    """Serve the named component; the rest of ``argv`` is that component's own arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMPONENTS:
        module, rest = COMPONENTS[args[0]], args[1:]
    else:
        module, rest = _FAKES, args
    entry: Callable[[list[str]], int] = importlib.import_module(module).main
    return int(entry(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
