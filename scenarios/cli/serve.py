"""``smslab serve COMPONENT ...``: run one piece of the lab standalone, in its own process.

``cic`` (a CIC node) and ``proxy`` (the ARR-style reverse proxy) have their own ``main``; every other
component name is a fake broker kind, handed to ``fakes.serve``. Each prints one JSON line with its URLs
once it is ready and serves until SIGINT or SIGTERM. Every component also runs embedded, on one event
loop beside the others; this is the distributed form, for faults that must be real (SIGKILL, SIGSTOP).

Each component's ``main`` is handed the lab's own check of ``--config`` as its ``read``
(``scenarios.lab.check``: ``serve_node``, ``serve_proxy``, ``serve_fake``), so a lab file gets the same
verdict here as from ``smslab check-config`` and ``smslab up``, every problem at once, and may
``extends: default``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from scenarios.lab import check

__all__ = ["COMPONENTS", "READERS", "main"]

# component -> module whose main(argv) serves it; anything else is a fake broker kind.
COMPONENTS: dict[str, str] = {"cic": "sim.cic.serve", "proxy": "sim.proxy.serve",
                              "core": "sim.cic.core_server",
                              "nexus": "sim.nexus.serve"}
_FAKES = "fakes.serve"
#: module -> the function of scenarios.lab.check its main reads --config with (a served core reads none).
READERS: dict[str, str] = {"sim.cic.serve": "serve_node", "sim.proxy.serve": "serve_proxy",
                           _FAKES: "serve_fake", "sim.nexus.serve": "serve_nexus"}


def usage() -> str:
    """What ``smslab serve`` can run: the fake broker kinds, a CIC node and the proxy, each with its help."""
    from fakes import registry  # noqa: PLC0415 - the fakes load only when a fake is served

    kinds = ", ".join(sorted(registry.kinds()))
    return (
        "usage: smslab serve COMPONENT [options]\n\n"
        "Run one component of the lab alone, in its own process; it prints one JSON line with its URLs\n"
        "once ready and serves until SIGINT or SIGTERM.\n\n"
        "components:\n"
        f"  KIND NAME [--config FILE]      a fake broker; KIND is one of {kinds}\n"
        "  cic --role primary|backup      one simulated CIC node\n"
        "  proxy --member HOST:PORT ...   the ARR-style reverse proxy in front of the nodes\n"
        "  core [--core module:Class]     an SMS core over HTTP (JSON; GET /openapi.json)\n"
        "  nexus [--config FILE]          Genesys Multicloud CX Digital Channels (its nexus: section)\n\n"
        "smslab serve COMPONENT --help shows that component's options.\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Serve the named component; the rest of ``argv`` is that component's own arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(), end="", file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] in COMPONENTS:
        module, rest = COMPONENTS[args[0]], args[1:]
    else:
        module, rest = _FAKES, args
    entry: Callable[..., int] = importlib.import_module(module).main
    read = getattr(check, READERS[module]) if module in READERS else None
    return int(entry(rest, read=read) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
