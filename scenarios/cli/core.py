"""``smslab segment``, ``smslab route``, ``smslab check-config`` and ``smslab conformance``: the core from
the command line, for people (tables) and for machines (``--json``, ``--jsonl``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from scenarios import conformance
from scenarios.core_http import reach, remote_factory
from scenarios.paths import NAMED_LABS
from sim.cliargs import http_url, positive_float
from sim.core.errors import ConfigError, InputError
from sim.core.remote import CoreCallError
from sim.core.routing import (
    AccessDenied,
    InboundDecision,
    NoOutboundRoute,
    OutboundDecision,
    route_inbound,
    route_outbound,
)
from sim.core.segmentation import ParsingMode, ReferenceCounter, ReferenceSize, Segmentation, segment
from sim.labfile import load_lab_config

__all__ = ["add_commands", "segmentation_json"]

EXIT_NO_ROUTE = 1
EXIT_CONFIG = 2


def add_commands(sub: Any) -> None:
    """Add the core subcommands to the ``smslab`` subparsers."""
    p = sub.add_parser("segment", help="encoding, segment count and parts of a text")
    p.add_argument("text", nargs="?", help="the message text (omit with --jsonl)")
    p.add_argument("--mode", choices=[m.value for m in ParsingMode], default="split",
                   help="the broker's Message Parsing mode (none = do not alter)")
    p.add_argument("--reference-bits", type=int, choices=[8, 16], default=8,
                   help="concatenation reference size: 8 (153/67 per part) or 16 (152/66)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--jsonl", action="store_true",
                     help='read JSON lines {"text": ..., "mode": ...} from stdin, write one line each')
    p.set_defaults(handler=cmd_segment)

    p = sub.add_parser("route", help="the routing decision for an inbound or outbound SMS")
    # --config and --json are accepted before or after inbound|outbound; SUPPRESS keeps a value given
    # before the direction from being reset by the direction's parser.
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="the lab file whose sms: routes and brokers decide (required)")
    shared.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object")
    p.add_argument("--config", metavar="FILE",
                   help="the lab file whose sms: routes and brokers decide (required)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    direction = p.add_subparsers(dest="direction", required=True, metavar="inbound|outbound")
    i = direction.add_parser("inbound", parents=[shared], help="route an MO by ANI, DNIS and body")
    i.add_argument("--ani", required=True, help="the sender's number (the customer)")
    i.add_argument("--dnis", required=True, help="the number the MO was sent to (the broker account's)")
    i.add_argument("--body", default="", help="the MO text, for Keyword routes (default: empty)")
    o = direction.add_parser("outbound", parents=[shared],
                             help="route an MT by DNIS and the sender's classification")
    o.add_argument("--dnis", required=True, help="the number to send to, as the agent typed it")
    o.add_argument("--classification", required=True,
                   help="the classification the number falls in (e.g. Local, National, International)")
    p.set_defaults(handler=cmd_route)

    p = sub.add_parser("check-config", help='validate a lab configuration: "ok" or every error')
    p.add_argument("file", help="the lab file (YAML) to check, as smslab up --config would read it")
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("conformance", help="run the SMS core conformance checks against a core")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--core", default="reference", help="module:Class or a registered core name")
    which.add_argument("--core-url", type=http_url, metavar="URL",
                       help="a core served over HTTP (smslab serve core, or your own) instead")
    p.add_argument("--timeout", type=positive_float, default=5.0,
                   help="seconds to wait for each answer of a --core-url core (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON list of {check, passed, detail}")
    p.set_defaults(handler=cmd_conformance)


# -- segment --------------------------------------------------------------------------------------------


def segmentation_json(text: str, seg: Segmentation) -> dict[str, Any]:
    """The JSON form of a segmentation, shared by ``--json`` and ``--jsonl``."""
    return {
        "text": text, "mode": seg.mode.value, "encoding": seg.encoding.value, "units": seg.units,
        "segments": seg.texts,
        "parts": [{"text": s.text, "units": s.units, "capacity": s.capacity} for s in seg.segments],
        "reference": seg.reference, "truncated": seg.truncated, "oversize": seg.oversize,
    }


def _segment(text: str, mode: str, bits: int, references: ReferenceCounter) -> Segmentation:
    size = ReferenceSize.SIXTEEN_BIT if bits == 16 else ReferenceSize.EIGHT_BIT
    return segment(text, ParsingMode(mode), reference_size=size, next_reference=references)


def _counter(bits: int) -> ReferenceCounter:
    """One counter per run, so the split messages of a --jsonl stream get successive references."""
    return ReferenceCounter(0, ReferenceSize.SIXTEEN_BIT if bits == 16 else ReferenceSize.EIGHT_BIT)


def cmd_segment(args: argparse.Namespace) -> int:
    """``smslab segment``."""
    if args.jsonl:
        return _segment_lines(sys.stdin, sys.stdout, args.reference_bits)
    if args.text is None:
        print("smslab segment: give a TEXT, or --jsonl to read JSON lines from stdin", file=sys.stderr)
        return EXIT_CONFIG
    try:
        seg = _segment(args.text, args.mode, args.reference_bits, _counter(args.reference_bits))
    except InputError as exc:
        print(f"smslab segment: {exc}", file=sys.stderr)
        return EXIT_NO_ROUTE
    if args.json:
        print(json.dumps(segmentation_json(args.text, seg), ensure_ascii=False))
        return 0
    notes = " (truncated)" if seg.truncated else " (over one part, sent unaltered)" if seg.oversize else ""
    print(f"encoding {seg.encoding.value}, {seg.units} units, {len(seg.segments)} segment(s), "
          f"mode {seg.mode.value}{notes}")
    for n, part in enumerate(seg.segments, start=1):
        print(f"  {n:>3}  {part.units:>4}/{part.capacity:<4} {part.text!r}")
    return 0


def _segment_lines(stdin: TextIO, stdout: TextIO, bits: int) -> int:
    references = _counter(bits)
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line is not JSON: {exc}") from exc
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('each line must be a JSON object with a string "text"')
            mode = item.get("mode", "split")
            if mode not in {m.value for m in ParsingMode}:
                raise ValueError(f"mode must be one of none, split, truncate (got {mode!r})")
            out = segmentation_json(item["text"], _segment(item["text"], mode, bits, references))
        except (ValueError, InputError) as exc:
            out = {"line": number, "error": str(exc)}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


# -- route ----------------------------------------------------------------------------------------------


def cmd_route(args: argparse.Namespace) -> int:
    """``smslab route``."""
    if not args.config:
        print("smslab route: --config FILE is required (the lab file whose routes decide)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        cic = load_lab_config(args.config, named=NAMED_LABS).cic
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if args.direction == "inbound":
        sms = cic.sms
        decision = route_inbound(sms.inbound_routes, sms.default_route, args.ani, args.dnis, args.body)
        return _emit(args.json, _inbound_json(cic.sms.inbound_routes, decision), _inbound_line(decision))
    result = route_outbound(cic.sms.outbound_routes, args.dnis, args.classification)
    if isinstance(result, (NoOutboundRoute, AccessDenied)):
        kind = "no-route" if isinstance(result, NoOutboundRoute) else "access-denied"
        if args.json:
            print(json.dumps({"direction": "outbound", "error": kind, "reason": result.reason}))
        print(f"smslab route: {result.reason}", file=sys.stderr)
        return EXIT_NO_ROUTE
    try:
        data = _outbound_json(cic, result)
    except InputError as exc:
        print(f"smslab route: {exc}", file=sys.stderr)
        return EXIT_NO_ROUTE
    line = (f"outbound route {result.route_index} ({result.route.pattern.pattern}) -> {data['recipient']} "
            f"via broker {data['broker']}, account {data['account']}")
    return _emit(args.json, data, line)


def _emit(as_json: bool, data: dict[str, Any], line: str) -> int:
    print(json.dumps(data, ensure_ascii=False) if as_json else line)
    return 0


def _inbound_json(routes: Any, decision: InboundDecision) -> dict[str, Any]:
    data: dict[str, Any] = {
        "direction": "inbound", "via": decision.via, "route_index": decision.route_index,
        "destination": {"kind": decision.destination.kind.value, "name": decision.destination.name},
    }
    if decision.route_index is not None:
        route = routes[decision.route_index]
        data |= {"type": route.type.value, "regex": route.pattern.pattern}
    return data


def _inbound_line(decision: InboundDecision) -> str:
    how = {"route": f"inbound route {decision.route_index}", "default": "the default route",
           "email": "email routing (no inbound routes are configured)"}[decision.via]
    return f"{how} -> {decision.destination}"


def _outbound_json(cic: Any, decision: OutboundDecision) -> dict[str, Any]:
    broker = cic.broker(decision.route.broker)
    account = broker.account(decision.route.account)
    recipient = broker.mt.recipient(decision.number)
    return {
        "direction": "outbound", "route_index": decision.route_index, "regex": decision.route.pattern.pattern,
        "number": decision.number, "recipient": recipient, "broker": broker.name, "account": account.id,
        "sender": account.local_address, "internationalized": broker.mt.internationalize,
    }


# -- check-config, conformance --------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    """``smslab check-config``: "ok" on stdout and 0, or every problem on stderr and 2.

    The whole lab file is checked as ``smslab up`` checks it, every problem at once
    (``scenarios.lab.check``): the CIC sections, the ``cic`` and ``proxy`` sections, each fake's settings
    and the files the lab names (the fakes are built, nothing is started).
    """
    from scenarios.lab.check import check_lab_file  # noqa: PLC0415  (the lab layer: aiohttp and the fakes)

    try:
        check_lab_file(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    print("ok")
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    """``smslab conformance``: every conformance check against one core, with a summary line."""
    try:
        if args.core_url:
            reach(args.core_url, args.timeout)
            results = conformance.run_all(args.core_url, remote_factory(args.core_url, args.timeout))
        else:
            results = conformance.run_all(args.core)
    except CoreCallError as exc:
        print(f"smslab conformance: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    failed = [r for r in results if not r.passed]
    if args.json:
        print(json.dumps([{"check": r.name, "passed": r.passed, "detail": r.detail} for r in results]))
    else:
        for r in results:
            print(f"{'PASS' if r.passed else 'FAIL'}  {r.name}" + (f": {r.detail}" if r.detail else ""))
        print(f"conformance: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
