"""Tests of sim.core.remote: the SmsCore protocol as JSON, both halves, without sockets.

A ``CoreHost`` (the server's half) and ``RemoteSmsCore`` (the caller's half) talk through an in-memory
transport that round-trips every body through ``json``, as a socket would.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from scenarios import conformance
from sim.core.protocol import CoreContext
from sim.core.reference import ReferenceCore
from sim.core.remote import CoreCallError, CoreClient, CoreHost, CoreLost, RemoteSmsCore
from sim.core.segmentation import ReferenceCounter
from sim.core.types import InboundSms, OutboundSms


class Memory:
    """An in-memory transport to a ``CoreHost`` (JSON both ways, like the wire)."""

    def __init__(self, host: CoreHost) -> None:
        self.host = host
        self.bodies: list[tuple[str, Any]] = []

    def __call__(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        body = json.loads(json.dumps(body))
        self.bodies.append((path, body))
        parts = path.strip("/").split("/")
        if method == "DELETE":
            status, data = self.host.delete(parts[1])
        elif len(parts) == 1:
            status, data = self.host.create(body)
        else:
            status, data = self.host.call(parts[1], parts[2], body)
        return status, json.loads(json.dumps(data))


def remote_factory(host: CoreHost) -> Any:
    memory = Memory(host)
    return lambda config, context: RemoteSmsCore(config, context, "http://core.test", memory)


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
def test_the_reference_core_over_the_protocol_passes_every_conformance_check(check: Any) -> None:
    """Every conformance check passes with the reference core behind the JSON protocol."""
    check(remote_factory(CoreHost(ReferenceCore)))


def _pair(host: CoreHost) -> tuple[RemoteSmsCore, ReferenceCore]:
    def context() -> CoreContext:
        counter = itertools.count(1)
        return CoreContext(lambda: f"id-{next(counter)}", ReferenceCounter(250))
    local = conformance.make_core(lambda cfg, _: ReferenceCore(cfg, context()))
    over = conformance.make_core(lambda cfg, _: RemoteSmsCore(cfg, context(), "http://core.test", Memory(host)))
    assert isinstance(over, RemoteSmsCore)
    assert isinstance(local, ReferenceCore)
    return over, local


def test_ids_and_references_are_the_callers_and_match_in_process() -> None:
    """Over HTTP the core uses the caller's ids in order and its references (wrapping at 256), so a run
    gives the same interactions and MT requests as in process."""
    over, local = _pair(CoreHost(ReferenceCore))
    for core in (over, local):
        core.receive(InboundSms("b1", "3175550000", "555", "one", "m1"), 0.0)
    for n in range(8):
        long = OutboundSms("93175550123", "a" * 200, "Local")
        a, b = over.send(long, float(n)), local.send(long, float(n))
        assert a == b
    assert over.interactions() == local.interactions()
    assert [r.reference for r in over.send(long, 9.0).requests] == [2, 2]  # 250 + 8 sends, modulo 256
    assert over.client.core_id == "core-1"


def test_the_host_refuses_bad_bodies_with_400_naming_the_field() -> None:
    """A call body with a wrong field is 400 with a sentence naming it; an unknown call and core say so."""
    host = CoreHost(ReferenceCore)
    assert (201, {"core": "core-1"}) == host.create({"config": {}})
    status, data = host.call("core-1", "receive", {"sms": {"broker": "b", "ani": 1, "dnis": "d", "body": ""},
                                                   "now": 0})
    assert (400, "the body of receive is malformed: TypeError: 'ani' must be a string (got 1)") == (status,
                                                                                                     data["error"])
    assert (400, "the body of due is malformed: KeyError: 'now'") == (host.call("core-1", "due", {})[0],
                                                                      host.call("core-1", "due", {})[1]["error"])
    assert 400 == host.call("core-1", "nosuch", {})[0]
    assert (404, {"error": "no core 'core-9'"}) == host.call("core-9", "due", {"now": 0})
    assert 400 == host.create({"config": {"sms": {"purge_days": "x"}}})[0]
    assert (400, True) == (host.create([])[0], "'config'" in host.create([])[1]["error"])


def test_a_core_that_raises_is_a_500_and_a_core_asking_too_many_ids_is_told_so() -> None:
    """What the core raises comes back as 500 with its type and message; ids beyond the call's are refused."""
    host = CoreHost(ReferenceCore)
    host.create({"config": {}})
    status, data = host.call("core-1", "receive", {"sms": {"broker": "b", "ani": "1", "dnis": "2", "body": "x"},
                                                   "now": 0, "ids": []})
    assert (500, "the core raised UsageError: the core asked for more ids than the call carried (at most 4 "
                 "a call)") == (status, data["error"])


def test_the_client_reads_errors_and_bad_answers_as_core_call_errors() -> None:
    """404 is CoreLost (and the next call makes a new core); 500 and malformed answers are CoreCallError
    naming the URL and the call; a bad answer never advances the caller's ids."""
    client = CoreClient(conformance.make_core(lambda c, _: ReferenceCore(c, CoreContext(str, int))).config,
                        CoreContext(lambda: "x", ReferenceCounter(0)), "http://core.test/")
    client.created(201, {"core": "core-1"})
    client.request("next_due")
    with pytest.raises(CoreLost, match=r"core at http://core\.test no longer knows this core"):
        client.answer("next_due", 404, {"error": "no core 'core-1'"})
    assert client.core_id is None
    client.created(201, {"core": "core-2"})
    with pytest.raises(CoreCallError, match=r"core at http://core.test failed due: HTTP 500: boom"):
        client.answer("due", 500, {"error": "boom"})
    with pytest.raises(CoreCallError, match=r"answered next_due badly: the answer to next_due is malformed: "
                                            r"TypeError: 'next_due' must be a number or null"):
        client.answer("next_due", 200, {"next_due": "soon"})
    with pytest.raises(CoreCallError, match=r"'used_ids' must be an integer from 0 to 4"):
        client.answer("next_due", 200, {"next_due": None, "used_ids": 9})
    with pytest.raises(CoreCallError, match="refused to make a core: HTTP 400: bad"):
        client.created(400, {"error": "bad"})
    assert 503 == CoreCallError("x").status
