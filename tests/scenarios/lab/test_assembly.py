"""Tests for scenarios.lab.assembly: assembling, starting and stopping a lab in process."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import Any

import pytest

from scenarios.lab.assembly import Lab
from scenarios.lab.backends import LabStartError
from scenarios.lab.spec import default_lab_config
from sim.core.errors import ConfigError
from sim.labfile import parse_lab_config

START_BUDGET = 3.0  # issue 5 §1: the embedded default lab is up in under 3 seconds


def _fds() -> int:
    # An earlier test's unreferenced socket is closed by the collector at a time of its choosing: collect
    # first, so the count is of what is really held.
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def _others() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


async def _settle() -> None:
    for _ in range(5):  # closed transports finish on the next loop iterations
        await asyncio.sleep(0)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counting open files needs /proc")
async def test_default_lab_starts_in_budget_and_stops_clean() -> None:
    """The embedded default lab is up in under 3 s and stops leaving no task and no open socket."""
    before_fds, before_tasks = _fds(), _others()
    began = time.perf_counter()
    lab = Lab()
    await lab.start()
    took = time.perf_counter() - began
    try:
        assert took < START_BUDGET
        health = await lab.health()
        assert health["switchover"]["active"] == "primary"
        assert _fds() > before_fds
    finally:
        await lab.stop()
    await _settle()
    assert _others() == before_tasks
    assert _fds() == before_fds
    assert lab.timings["stop"] < 1.0


async def test_fakes_and_nodes_are_pointed_at_the_proxy() -> None:
    """Fakes push to the proxy at their broker's paths; Portico's number too; nodes hand out the proxy."""
    async with Lab() as lab:
        proxy = lab.proxy_urls[8080]
        fakes = lab.backend.fakes
        assert (fakes["kaleyra"].settings.mo_url, fakes["kaleyra"].settings.dr_url) == (
            f"{proxy}/kaleyra/mo", f"{proxy}/kaleyra/dr")
        assert fakes["eztexting"].settings.mo_url == f"{proxy}/receivesms.php"
        number = fakes["portico"].model.numbers.active("18885550199", fakes["portico"].clock.now())
        assert (number.details["moUrl"], number.details["drUrl"]) == (f"{proxy}/portico/mo", f"{proxy}/portico/dr")
        for node in lab.backend.nodes.values():
            assert node.public_bases == {"kaleyra": proxy, "portico": proxy, "eztexting": proxy}
        assert lab.members[8080] == {n: f"127.0.0.1:{lab.backend.nodes[n].bound_ports[8080]}"
                                     for n in ("primary", "backup")}


async def test_gateways_are_the_fakes_urls() -> None:
    """Each node sends to the fake its broker's fake:<name> gateway names."""
    async with Lab() as lab:
        for node in lab.backend.nodes.values():
            assert [b.mt.gateway for b in node.config.brokers] == [
                lab.fake_urls["kaleyra"], lab.fake_urls["portico"], lab.fake_urls["eztexting"]]


def test_bad_fake_settings_fail_before_anything_starts() -> None:
    """Every problem in the fakes' settings is reported, with its path, when the Lab is made."""
    data = {"fakes": {"a": {"kind": "telegraph"}, "b": {"kind": "kaleyra", "time_scale": -1}, "c": {}}}
    with pytest.raises(ConfigError) as info:
        Lab(parse_lab_config(data, "lab.yaml"))
    assert {(p.path, p.reason) for p in info.value.problems} == {
        ("fakes.a.kind", "must be one of asyncgw, http-broker, kaleyra, portico"),
        ("fakes.b.time_scale", "must be at least 0.0"),
        ("fakes.c.kind", "must be one of asyncgw, http-broker, kaleyra, portico")}


async def test_a_farm_that_never_sees_the_node_is_a_start_error_and_nothing_is_left() -> None:
    """A health test the node can never pass: start raises LabStartError and stops what it started."""
    base = default_lab_config()
    data = dict(base.data)
    data["proxy"] = {**data["proxy"], "health": {"interval": 0.05, "timeout": 0.5, "response_match": "never"}}
    before_fds, before_tasks = _fds(), _others()
    lab = Lab(parse_lab_config(data), ready_timeout=0.3)
    with pytest.raises(LabStartError, match="did not see the active node"):
        await lab.start()
    await _settle()
    assert _others() == before_tasks
    assert _fds() == before_fds


async def test_processes_mode_kill_is_sigkill_and_nothing_is_left() -> None:
    """--processes: every component its own process; a kill is SIGKILL; stop leaves no process behind."""
    lab = Lab(processes=True)
    await lab.start()
    try:
        pids = lab.backend.pids()
        assert len(pids) == 6  # three fakes, two nodes, one proxy
        proxy = lab.proxy_urls[8080]
        handed = {"kaleyra": f"{proxy}/kaleyra/dr", "portico": f"{proxy}/portico/dr",
                  "eztexting": f"{proxy}/eztexting/dr"}
        for handle in lab.handles.values():  # the ExternalDeliveryStatusURI is the proxy's, as in process
            assert handed == (await handle.describe())["public_dr_urls"]
        primary = lab.handles["primary"].process
        await lab.fail("primary", "kill")
        assert primary.running is False  # SIGKILLed and reaped
        await lab.pair.wait_until(lambda: lab.pair.active_name() == "backup", 10)
        answer = await lab.reset()
        assert (answer["restored"], answer["switched_back"], answer["active"]) == (["primary"], True, "primary")
        pids = lab.backend.pids()
        assert len(pids) == 7  # the primary's restart is a new process
        assert handed == (await lab.handles["primary"].describe())["public_dr_urls"]
    finally:
        await lab.stop()
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []
