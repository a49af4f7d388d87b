"""``smslab failover``: an MO stream across a kill of the active node, through the whole path, measured.

Theory of operation. A lab starts (the embedded default, or ``--config``); a customer's MOs are injected at
the Kaleyra fake at a steady pace, and the fake pushes each one through the proxy to the active node, as
the real broker would (with its retry schedule scaled down). After ``--kill-after`` MOs the active node is
failed (``kill`` by default: SIGKILL with ``--processes``). The pair detects the loss (TS ping), the backup
takes over, the proxy's next probe finds it, and the broker's retries land there. When every push has
settled, the run checks, from the broker's own attempt log and the new active node's interactions:

- every MO the broker got a 2xx for is stored exactly once (none lost, none doubled: a retry of an MO the
  old node had already taken is recognised by the broker's message id);
- with SMS Interaction Recovery in effect the conversation goes on: one interaction holds every MO, in
  order; without it the MOs taken by the backup start a new interaction (SMS Technical Reference,
  "Recovery of SMS Interactions in Switchover");
- the failover gap, from the start of the first push that failed to the start of the first one the backup
  accepted, against the sum of the terms the path has (``gap_bound``):

  * the detection time, from the fault to the backup's promotion (the pair's timeline);
  * one proxy probe interval: the proxy routes to the new active node once a probe has found it healthy;
  * one broker retry interval: a push that failed waits that long before it is sent again;
  * with ``hang`` only, the hold: a push in flight to a hung node gets no answer, so it is settled only
    when the proxy's time-out answers 502.3 or the broker's own push time-out fires, whichever comes
    first; until then it holds one of the broker's concurrent pushes, and once they are all held no new
    push starts (a killed node refuses the connection at once: no hold). A hung node is a stopped
    server in both modes: SIGSTOP with ``--processes``, a node that hears nothing in process (its held
    requests are not released by the takeover);
  * 0.25 s of scheduling slack (event loops and processes on a shared machine).

With an external pair (a lab file whose ``cic.nodes`` are ``external``, as
``scenarios/examples/kannel-lab.yaml``) the fault is the member's own (``hang``: a SIGSTOP of the Kannel
example's bearerbox), "stored" means what the members' sink received (by the MO's text), the detection is
the proxies' health test taking the member out (the external pair's ``promoted`` timeline entry), and the
conversation check, which needs the simulated pair's interactions, is left out and said so. Once the pushes
settled the victim is restored, and what it hands on then is reported apart: ``held``, MOs it had
acknowledged and stored nowhere yet (they count as stored: late, not lost), and ``redelivered``, requests it
had read while stopped and whose pushes the broker retried elsewhere (a second copy: the gateway keeps no
record of the broker's message ids; said, not failed). Both members
take traffic while both are healthy (the farm's round robin), so the gap is the time until a push lands
on the other member: usually the next push.

Exit 0 when every check holds, 1 otherwise, 2 for a bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

from scenarios.lab.assembly import Lab
from scenarios.scenario.runner import load_lab_file
from sim.cliargs import positive_int, seconds, summary, whole
from sim.core.errors import ConfigError
from sim.labfile import LabConfig

__all__ = ["SLACK", "detection_time", "failover_gap", "gap_bound", "main", "measure", "verdicts"]

BROKER = "kaleyra"
CUSTOMER = "+13175550177"
LOCAL = "8005550100"


async def _call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Any:
    async with session.request(method, url, **kwargs) as resp:
        body = await resp.json()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {url} answered {resp.status}: {body}")
        return body


async def _settled(session: aiohttp.ClientSession, fake_url: str, ids: list[str],
                   timeout: float) -> list[dict]:
    """The MO push attempts once every injected MO was delivered or given up (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while True:
        attempts = await _call(session, "GET", f"{fake_url}/_smslab/pushes", params={"kind": "mo"})
        final = {a["message_id"] for a in attempts if a["outcome"] in ("delivered", "gave_up", "dropped")}
        if all(i in final for i in ids) or time.monotonic() > deadline:
            return list(attempts)
        await asyncio.sleep(0.05)


async def measure(config: LabConfig | None, *, count: int, kill_after: int, pace: float, mode: str,
                  processes: bool, settle: float) -> dict[str, Any]:
    """Run the stream on a fresh lab; returns what was seen (attempts, interactions, timeline, timers)."""
    lab = Lab(config, processes=processes)
    url = await lab.start()
    try:
        # The lab's own trust (its fakes and proxy may serve HTTPS with the lab's certificates).
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=lab.trust)) as session:
            ids: list[str] = []
            victim = lab.pair.active_name() if lab.pair else "primary"
            failed_at = 0.0
            for n in range(count):
                if n == kill_after:
                    failed_at = time.time()  # epoch seconds, as the timeline's `at`
                    await _call(session, "POST", f"{url}/_smslab/nodes/{victim}/fail", json={"mode": mode})
                mo = await _call(session, "POST", f"{url}/_smslab/brokers/{BROKER}/mo",
                                 json={"from": CUSTOMER, "to": LOCAL, "text": f"message {n + 1}"})
                ids.append(mo["message_id"])
                await asyncio.sleep(pace)
            attempts = await _settled(session, lab.fake_urls[BROKER], ids, settle)
            restored = None
            if lab.external:
                # The victim is restored once the members handed on what they took, and what it hands on
                # then is told apart (held: late, not lost; redelivered: a second copy).
                interactions = await _quiet(session, url, ids, settle)
                await _call(session, "POST", f"{url}/_smslab/nodes/{victim}/restore", json={})
                restored = await _quiet(session, url, ids, settle)
            else:
                interactions = await _stored(session, url, ids, False)
            timeline = (await _call(session, "GET", f"{url}/_smslab/timeline"))
        assert lab.pair is not None
        farm = lab.spec.farms[0]
        fake = lab.config.fakes[BROKER]
        retry = float(fake.get("retry", {}).get("interval", 60)) * float(fake.get("time_scale", 1.0))
        push_timeout = float(fake.get("push", {}).get("timeout", 10.0))
        return {"proxy_timeout": lab.spec.proxy.timeout, "push_timeout": push_timeout,
                "ids": ids, "attempts": attempts, "interactions": interactions, "timeline": timeline,
                "kill_after": kill_after,
                "failed_at": failed_at, "victim": victim, "mode": mode,
                "recovery": lab.pair.status()["recovery"]["effective"], "external": bool(lab.external),
                "after_restore": restored,
                "probe_interval": farm.health.interval, "retry_interval": retry}
    finally:
        await lab.stop()


async def _quiet(session: aiohttp.ClientSession, url: str, ids: list[str],
                 settle: float) -> list[dict[str, Any]]:
    """What the external members' sinks hold once it stopped growing for a second (a gateway hands an MO
    on some time after it acknowledged it), at most ``settle`` seconds."""
    def count(stored: list[dict[str, Any]]) -> int:
        return sum(1 for i in stored for e in i["transcript"] if e["message_id"])

    deadline, quiet = time.monotonic() + settle, time.monotonic()
    stored = await _stored(session, url, ids, True)
    while time.monotonic() < deadline and time.monotonic() - quiet < 1.0:
        await asyncio.sleep(0.1)
        now = await _stored(session, url, ids, True)
        if count(now) != count(stored):
            quiet = time.monotonic()
        stored = now
    return stored


async def _stored(session: aiohttp.ClientSession, url: str, ids: list[str],
                  external: bool) -> list[dict[str, Any]]:
    """The interactions holding the MOs: the active node's, or, for an external pair, one per member made
    of what its sink received (each MO is known by its text, ``message <n>``, the only field every gateway
    hands on)."""
    if not external:
        return list((await _call(session, "GET", f"{url}/_smslab/interactions"))["interactions"])
    by_text = {f"message {n + 1}": i for n, i in enumerate(ids)}
    out = []
    for name in ("primary", "backup"):
        got = (await _call(session, "GET", f"{url}/_smslab/nodes/{name}/received", params={"kind": "mo"}))
        out.append({"id": name, "transcript": [
            {"direction": "in", "message_id": by_text.get(str(r["fields"].get("text", "")), "")}
            for r in got["received"]]})
    return out


def failover_gap(attempts: list[dict]) -> tuple[float | None, float | None, float | None]:
    """(first failed attempt, first 2xx after it, gap) on the broker's clock (``smslab load`` reads its
    requests the same way: ``at`` and ``status``, ``None`` for no answer)."""
    failed = next((a for a in attempts if not (a["status"] and 200 <= a["status"] < 300)), None)
    if failed is None:
        return None, None, None
    back = next((a for a in attempts if a["at"] >= failed["at"] and a["status"]
                 and 200 <= a["status"] < 300), None)
    if back is None:
        return failed["at"], None, None
    return failed["at"], back["at"], back["at"] - failed["at"]


def detection_time(timeline: Any, failed_at: float) -> float | None:
    """Seconds from the fault to the promotion of the backup, from the pair's timeline."""
    events = timeline.get("timeline", timeline) if isinstance(timeline, dict) else timeline
    promoted = next((e["at"] for e in events
                     if e["at"] >= failed_at and "promot" in str(e.get("event", ""))), None)
    return None if promoted is None else promoted - failed_at


SLACK = 0.25  # seconds of scheduling slack in the gap bound


def gap_bound(seen: dict[str, Any], detection: float | None) -> tuple[float | None, dict[str, float]]:
    """The largest gap the path allows (without the slack) and its terms, as the module docstring lists."""
    if detection is None:
        return None, {}
    hold = min(seen["proxy_timeout"], seen["push_timeout"]) if seen["mode"] == "hang" else 0.0
    terms = {"detection": detection, "probe interval": seen["probe_interval"],
             "retry interval": seen["retry_interval"], "hold": hold}
    return sum(terms.values()), terms


def verdicts(seen: dict[str, Any]) -> dict[str, Any]:
    """The checks of the module docstring over what ``measure`` saw."""
    acked = [i for i in seen["ids"] if any(a["message_id"] == i and a["status"] and 200 <= a["status"] < 300
                                           for a in seen["attempts"])]
    stored = Counter(e["message_id"] for i in seen["interactions"] for e in i["transcript"]
                     if e["direction"] == "in" and e["message_id"])
    after = {i for i in acked if _taken_after_switch(i, seen)}
    external = bool(seen.get("external", False))
    late = _late(seen, stored)
    # An external member keeps what it took whatever happens to the other, so none may be missing once the
    # stopped one has handed on what it held.
    lost = [i for i in acked if stored[i] + late["held"].get(i, 0) == 0
            and (seen["recovery"] or external or i in after)]
    doubled = [i for i, n in stored.items() if n > 1]
    holders = {i["id"] for i in seen["interactions"]
               if any(e["message_id"] in acked for e in i["transcript"] if e["direction"] == "in")}
    first_failed, first_back, gap = failover_gap(seen["attempts"])
    if external and first_failed is None:
        gap = 0.0  # the proxy moved every push to the other member before any failed: no gap at all
    detection = detection_time(seen["timeline"], seen["failed_at"])
    expected, terms = gap_bound(seen, detection)
    conversation = ("continued" if len(holders) == 1 and not [i for i in acked if stored[i] == 0]
                    else "new interaction" if holders else "none")
    wanted = "continued" if seen["recovery"] else "new interaction"
    checks = {
        "nothing lost": not lost, "nothing doubled": not doubled,
        f"conversation {wanted}": conversation == wanted,
        "backup took over": _other_took_over(seen, late) if external else gap is not None,
    }
    if external:  # two gateways share no conversation: that check is the simulated pair's
        del checks[f"conversation {wanted}"]
        conversation = "not tracked (external pair)"
    checks |= {
        "gap within detection + probe interval + retry interval + hold": (
            gap is not None and expected is not None and gap <= expected + SLACK),
    }
    return {"acked": len(acked), "lost": lost, "doubled": doubled, "held": sorted(late["held"]),
            "redelivered": sorted(late["redelivered"]),
            "conversation": conversation,
            "interactions": len(holders), "first_failed": first_failed, "first_back": first_back,
            "gap": gap, "detection": detection, "expected_gap_at_most": expected, "bound_terms": terms,
            "recovery": seen["recovery"], "checks": checks, "passed": all(checks.values())}


def _other_took_over(seen: dict[str, Any], late: dict[str, Counter[str]]) -> bool:
    """External pair: an MO injected after the fault reached the member that was not failed."""
    after_fault = set(seen["ids"][seen.get("kill_after", 0):])
    other = [i for i in seen.get("after_restore") or seen["interactions"] if i["id"] != seen["victim"]]
    return any(e["message_id"] in after_fault for i in other for e in i["transcript"])


def _late(seen: dict[str, Any], stored: Counter[str]) -> dict[str, Counter[str]]:
    """What an external victim handed on only once restored: ``held`` (MOs stored nowhere before) and
    ``redelivered`` (MOs the broker had retried elsewhere, so stored twice: a property of the gateway, which
    keeps no record of a broker's message ids; reported, not failed)."""
    final = Counter(e["message_id"] for i in seen.get("after_restore") or () for e in i["transcript"]
                    if e["direction"] == "in" and e["message_id"])
    more = final - stored
    return {"held": Counter({i: n for i, n in more.items() if stored[i] == 0}),
            "redelivered": Counter({i: n for i, n in more.items() if stored[i] > 0})}


def _taken_after_switch(message_id: str, seen: dict[str, Any]) -> bool:
    """Whether the broker's 2xx for this MO came after its first failed push (so from the backup)."""
    first_failed, _, _ = failover_gap(seen["attempts"])
    oks = [a["at"] for a in seen["attempts"] if a["message_id"] == message_id and a["status"]
           and 200 <= a["status"] < 300]
    return first_failed is not None and bool(oks) and oks[0] >= first_failed


def _print(result: dict[str, Any]) -> None:
    gap = "-" if result["gap"] is None else f"{result['gap']:.3f} s"
    det = "-" if result["detection"] is None else f"{result['detection']:.3f} s"
    exp = "-" if result["expected_gap_at_most"] is None else f"{result['expected_gap_at_most']:.3f} s"
    recovery = "yes" if result["recovery"] else "no"
    external = result["conversation"].startswith("not tracked")
    held = "" if external else f" ({result['interactions']} interaction(s))"
    print(f"recovery in effect: {recovery}; MOs acknowledged: {result['acked']}; "
          f"conversation: {result['conversation']}{held}")
    print(f"failover gap: {gap} (detection {det}; expected at most {exp})")
    if result["held"]:
        print(f"  {len(result['held'])} MO(s) the stopped member held arrived once it was restored")
    if result["redelivered"]:
        print(f"  {len(result['redelivered'])} MO(s) the restored member handed on again after the broker's "
              "retry had delivered them elsewhere (the gateway keeps no record of message ids)")
    if result["bound_terms"]:
        print("  bound: " + " + ".join(f"{k} {v:.3f} s" for k, v in result["bound_terms"].items())
              + f" (+ {SLACK} s slack)")
    for name, ok in result["checks"].items():
        print(f"  {'pass' if ok else 'FAIL'}  {name}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smslab failover", description=summary(__doc__))
    p.add_argument("--config", help="lab file (default: the embedded lab, recovery in effect)")
    p.add_argument("--count", type=positive_int, default=30, help="MOs in the stream (30)")
    p.add_argument("--kill-after", type=whole, default=10, help="fail the active node before this MO (10)")
    p.add_argument("--pace", type=seconds, default=0.03, help="seconds between MOs (0.03)")
    p.add_argument("--mode", default="kill", choices=["kill", "hang"], help="the fault (kill)")
    p.add_argument("--processes", action="store_true", help="each component in its own process")
    p.add_argument("--settle", type=seconds, default=20.0, help="seconds to wait for pushes to settle (20)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the failover measurement; 0 when every check holds."""
    args = _parser().parse_args(argv)
    if not 0 < args.kill_after < args.count:
        print("smslab failover: --kill-after must be between 1 and --count - 1", file=sys.stderr)
        return 2
    try:
        config = load_lab_file(args.config) if args.config else None
        seen = asyncio.run(measure(config, count=args.count, kill_after=args.kill_after, pace=args.pace,
                                   mode=args.mode, processes=args.processes, settle=args.settle))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    result = verdicts(seen)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
