"""Tests for scenarios.lab.external_pair: the external pair as the farms' health shows it, no sockets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from scenarios.lab.external_pair import ExternalPair
from sim.core.errors import InputError

MEMBERS = {8080: {"primary": "127.0.0.1:1001", "backup": "127.0.0.1:1002"}}


class Farms:
    """The proxies' farm reports, as a test sets them."""

    def __init__(self) -> None:
        self.healthy = {"127.0.0.1:1001": True, "127.0.0.1:1002": True}

    async def __call__(self) -> list[dict[str, Any]]:
        return [{"incoming_port": 8080, "members": [{"member": m, "healthy": h} for m, h in self.healthy.items()]}]


def pair(farms: Farms) -> ExternalPair:
    """A pair over two stand-in members (the pair reads only their names and faults here)."""
    servers = {n: SimpleNamespace(fault="") for n in ("primary", "backup")}
    return ExternalPair(servers, MEMBERS, farms)  # type: ignore[arg-type]


async def test_the_first_member_every_farm_finds_healthy_is_active() -> None:
    """Both healthy: the primary is active, the backup its backup; the primary out: the backup is promoted."""
    farms = Farms()
    p = pair(farms)
    await p.poll()
    assert (p.active_name(), p.role_of("primary"), p.role_of("backup")) == ("primary", "active", "backup")
    farms.healthy["127.0.0.1:1001"] = False
    await p.poll()
    assert (p.active_name(), p.role_of("primary"), p.role_of("backup")) == ("backup", "down", "active")
    assert [(e["event"], e["node"]) for e in p.timeline] == [
        ("serving", "primary"), ("serving", "backup"), ("promoted", "primary"), ("down", "primary"),
        ("promoted", "backup")]


async def test_no_member_healthy_means_none_active() -> None:
    """Neither member healthy: no active member (the control API's send answers 503)."""
    farms = Farms()
    farms.healthy = dict.fromkeys(farms.healthy, False)
    p = pair(farms)
    await p.poll()
    assert p.active_name() is None
    assert p.status()["roles"] == {"primary": "down", "backup": "down"}


async def test_wait_until_reads_the_farms_and_gives_up_in_time() -> None:
    """wait_until polls the farms itself, and returns False once its time is up."""
    farms = Farms()
    p = pair(farms)
    assert await p.wait_until(lambda: p.active_name() == "primary", 1.0) is True
    assert await p.wait_until(lambda: p.active_name() == "backup", 0.05) is False


async def test_manual_switchover_is_not_implemented_for_an_external_pair() -> None:
    """The proxy's health test chooses: a switchover request is a 501 saying what to do instead."""
    with pytest.raises(InputError, match="fail the active member") as info:
        await pair(Farms()).manual_switchover()
    assert info.value.status == 501
