"""``smslab up [--config FILE] [--port N] [--processes] [--json]``: start the whole lab and serve it.

Starts the fakes, the proxy, the CIC pair and the control API (the embedded default lab without
``--config``; the web console at ``/`` and Prometheus metrics at ``/metrics`` on the same port:
``scenarios.lab.console``), prints a table of endpoints (each broker, the proxy, the nodes, the control
API), and serves until Ctrl-C or SIGTERM, then stops everything. ``--json`` prints one JSON line instead
of the table (``{"url", "components", "started_in"}``), for scripts that read the real ports. Exit status:
0 after a signal, 2 for a bad configuration, 1 when the lab cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from sim.cliargs import port
from sim.core.errors import ConfigError
from sim.labfile import LabConfig
from sim.serving import announce, stop_event

__all__ = ["endpoint_table", "main", "next_steps", "nexus_urls", "serve", "sms_urls"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab up", description="Start the whole lab and serve until Ctrl-C.")
    p.add_argument("--config", type=Path, help="the lab file (default: the embedded default lab)")
    p.add_argument("--port", type=port, default=0, help="the control API's port (default 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="the address every component listens on")
    p.add_argument("--processes", action="store_true", help="each fake, node and proxy in its own process")
    p.add_argument("--json", action="store_true", help="print one JSON line of endpoints instead of a table")
    return p


def endpoint_table(components: list[dict[str, str]], nodes: dict[str, dict[str, object]]) -> Table:
    """The endpoints as a rich table: one row per component (nodes with their role); URLs are never cut."""
    table = Table(title="smslab lab", show_lines=False)
    for column in ("component", "kind", "url", "detail"):
        table.add_column(column, overflow="fold")
    for c in components:
        node = nodes.get(c["name"]) if c["kind"] == "cic" else None
        detail = f"role {node.get('role')}" if node is not None else ""
        table.add_row(c["name"], c["kind"], c["url"], detail)
    return table


def sms_urls(nodes: dict[str, dict[str, object]]) -> str:
    """Each node's SMS URL per broker, one per line (after the table, so a narrow terminal cuts none)."""
    lines = ["SMS URLs (behind the proxy; the brokers push to the proxy):"]
    for name, node in nodes.items():
        for broker, url in dict(node.get("sms_urls") or {}).items():  # type: ignore[call-overload]
            lines.append(f"  {name} {broker}: {url}")
    return "\n".join(lines)


def nexus_urls(components: list[dict[str, str]]) -> str:
    """Digital Channels' endpoints when the lab has a Nexus (``""`` otherwise)."""
    from scenarios.lab.nexus import nexus_endpoints  # noqa: PLC0415 - only a lab with a nexus: section

    base = next((c["url"] for c in components if c["kind"] == "nexus"), "")
    return "" if not base else "Digital Channels (Nexus):\n" + "\n".join(
        f"  {what}: {url}" for what, url in nexus_endpoints(base).items())


def next_steps(url: str) -> str:
    """What to try once the lab is up: a request to the control API and the scenarios against this lab."""
    return (f"next:\n  curl -s {url}/_smslab/health\n"
            f"  smslab run --url {url}        (the control API's URL {url}/_smslab/ works too)")


async def serve(config: LabConfig | None, *, host: str = "127.0.0.1", port: int = 0, processes: bool = False,
                as_json: bool = False, stop: asyncio.Event | None = None, out: TextIO | None = None) -> int:
    """Start the lab, print its endpoints, serve until ``stop`` is set (or SIGINT/SIGTERM), stop it."""
    from scenarios.lab.assembly import Lab  # noqa: PLC0415 - `smslab up --help` does not pay for the whole lab

    out = out or sys.stdout
    stop = stop_event(stop)
    lab = Lab(config, processes=processes, host=host, port=port)
    try:
        await lab.start()
        health = await lab.health()
        if as_json:
            line = {"url": lab.url, "components": health["components"], "started_in": lab.timings["start"]}
            announce(line, out)
        else:
            console = Console(file=out)  # the terminal's width (80 columns when not a terminal)
            console.print(endpoint_table(health["components"], health["nodes"]))
            console.print(sms_urls(health["nodes"]), highlight=False, soft_wrap=True)
            if nexus_urls(health["components"]):
                console.print(nexus_urls(health["components"]), highlight=False, soft_wrap=True)
            console.print(f"up in {lab.timings['start']:.2f} s; control API {lab.url}/_smslab/ "
                          f"(OpenAPI at {lab.url}/_smslab/openapi.json); Ctrl-C stops the lab")
            console.print(f"console {lab.url}/ (live); metrics {lab.url}/metrics", highlight=False,
                          soft_wrap=True)
            console.print(next_steps(lab.url), highlight=False, soft_wrap=True)
        await stop.wait()
    finally:
        await lab.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``smslab up``; returns the exit status."""
    args = _parser().parse_args(argv)
    from scenarios.lab.check import load_lab  # noqa: PLC0415 - `smslab up --help` does not pay for the lab

    try:
        config = load_lab(args.config) if args.config is not None else None
        return asyncio.run(serve(config, host=args.host, port=args.port, processes=args.processes,
                                 as_json=args.json))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:
        print(f"smslab up: the lab did not start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
