"""Tests for scenarios.lab.external: a lab whose pair is two external gateways, each its own process."""

from __future__ import annotations

import copy
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.cli import main as cli
from scenarios.lab.client import LabClient, LabError
from scenarios.lab.spec import DEFAULT_LAB
from scenarios.scenario.runner import in_process_lab
from sim.labfile import parse_lab_config

GATEWAY = str(Path(__file__).resolve().parents[2] / "support" / "mini_gateway.py")
CUSTOMER, LOCAL = "+13175550177", "8005550100"


def member(*extra: str) -> dict[str, Any]:
    """An external member running tests/support/mini_gateway.py, sending to the fake Kaleyra."""
    return {
        "ports": ["sms", "send"],
        "start": [{"name": "gateway", "argv": [sys.executable, GATEWAY, "--sms-port", "{port.sms}",
                                               "--send-port", "{port.send}", "--sink", "{sink}",
                                               "--gateway", "{fake.kaleyra}/a2w_preRouter/httpApiRouter",
                                               *extra]}],
        "ready": {"url": "http://{host}:{port.send}/ready", "timeout": 10},
        "sms_url": "http://{host}:{port.sms}",
        "send": {"url": "http://{host}:{port.send}/send?to={to}&text={text}&from={from}",
                 "expect": "<code>100</code>"},
        "timeout": 2,
        "faults": {"hang": {"fail": {"signal": "STOP", "process": "gateway"},
                            "restore": {"signal": "CONT", "process": "gateway"}},
                   "kill": {"fail": {"signal": "KILL", "process": "gateway"},
                            "restore": {"restart": "gateway"}}},
    }


def lab_data(primary: dict[str, Any] | None = None, backup: dict[str, Any] | None = None) -> dict[str, Any]:
    """The embedded default lab with two external members in place of the simulated pair."""
    data = copy.deepcopy(yaml.safe_load(DEFAULT_LAB.read_text(encoding="utf-8")))
    data["cic"]["nodes"] = {"primary": {"external": primary or member()},
                            "backup": {"external": backup or member()}}
    return data


@pytest.fixture(scope="module")
def lab() -> Iterator[LabClient]:
    """One lab of two mini gateways for the module, reset before each use."""
    with in_process_lab(parse_lab_config(lab_data(), "external-lab.yaml")) as url:
        yield LabClient(url)


def _received(lab: LabClient, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ("primary", "backup"):
        found += lab.request("GET", f"/_smslab/nodes/{name}/received", query={"kind": kind})["received"]
    return found


def test_an_mo_reaches_a_member_through_the_proxy(lab: LabClient) -> None:
    """An MO the fake Kaleyra pushes goes through the proxy to a member, whose callback reaches the sink."""
    lab.reset()
    lab.mo("kaleyra", sender=CUSTOMER, to=LOCAL, text="hello gateway")
    found = lab.wait_for(lambda: _received(lab, "mo"), bool, timeout=5)
    assert found[0]["fields"]["device_address"] == CUSTOMER
    assert found[0]["fields"]["message"] == "hello gateway"


def test_send_uses_the_mt_template_and_the_dlr_comes_back(lab: LabClient) -> None:
    """POST /_smslab/send fills the member's MT template; the fake's DR reaches the member and its sink."""
    lab.reset()
    answer = lab.send("13175550177", "your order shipped", sender=LOCAL)
    assert answer["member"] == "primary"
    mts = lab.messages("kaleyra", kind="mt")
    assert (mts[0]["to"], mts[0]["from"], mts[0]["text"]) == ("13175550177", LOCAL, "your order shipped")
    dlrs = lab.wait_for(lambda: _received(lab, "dlr"), bool, timeout=5)
    assert dlrs[0]["fields"]["message_id"] == mts[0]["message_id"]


def test_health_lists_the_members_with_their_processes(lab: LabClient) -> None:
    """GET /_smslab/health shows each external member, its process and the external switchover status."""
    health = lab.health()
    assert health["nodes"]["primary"]["mode"] == "external"
    assert health["nodes"]["primary"]["processes"]["gateway"]["running"] is True
    assert health["switchover"]["kind"] == "external"


def test_a_hang_moves_the_traffic_to_the_backup(lab: LabClient) -> None:
    """SIGSTOP of the primary's process: the proxy's health test takes it out and sends go to the backup."""
    lab.reset()
    lab.fail("primary", "hang")
    lab.wait_for(lambda: lab.health()["switchover"]["active"], lambda a: a == "backup", timeout=5)
    assert lab.send("13175550177", "after the hang", sender=LOCAL)["member"] == "backup"
    events = [(e["event"], e["node"]) for e in lab.timeline()]
    assert ("fault", "primary") in events
    assert ("promoted", "backup") in events
    lab.reset()
    assert lab.health()["switchover"]["active"] == "primary"


def test_a_fault_the_member_lacks_is_a_501(lab: LabClient) -> None:
    """Failing a member with a mode its section does not define is refused, naming the modes it has."""
    with pytest.raises(LabError, match=r"has no 'slow' fault in the lab file \(it has: hang, kill\)") as info:
        lab.fail("primary", "slow")
    assert info.value.status == 501


def test_interactions_and_switchover_are_refused_with_the_reason(lab: LabClient) -> None:
    """An external pair has no interactions and no switchover control: 501, each saying why."""
    with pytest.raises(LabError, match="the pair is external") as info:
        lab.interactions()
    assert info.value.status == 501
    with pytest.raises(LabError, match="no switchover control") as info:
        lab.switchover()
    assert info.value.status == 501


def test_a_kill_and_restart_brings_a_new_process(lab: LabClient) -> None:
    """kill is SIGKILL of the process the lab started; restore starts it again under a new PID."""
    lab.reset()
    before = lab.health()["nodes"]["backup"]["processes"]["gateway"]["pid"]
    lab.fail("backup", "kill")
    lab.restore("backup")
    after = lab.health()["nodes"]["backup"]["processes"]["gateway"]
    assert after["running"] is True
    assert after["pid"] != before


def test_the_lab_ends_every_process_it_started() -> None:
    """Stopping the lab ends each member's process by its PID, a stopped (SIGSTOP) one included."""
    with in_process_lab(parse_lab_config(lab_data(), "external-lab.yaml")) as url:
        client = LabClient(url)
        pids = [client.health()["nodes"][n]["processes"]["gateway"]["pid"] for n in ("primary", "backup")]
        client.fail("primary", "hang")
    time.sleep(0.1)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert signal.SIGSTOP  # the fault above was a real SIGSTOP


def test_smslab_run_skips_what_needs_the_simulated_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab run` on an external pair: nothing fails; what needs interactions or routing is skipped, saying why."""
    lab_file = tmp_path / "external-lab.yaml"
    lab_file.write_text(yaml.safe_dump(lab_data()), encoding="utf-8")
    out = tmp_path / "results.json"
    code = cli.main(["run", "--config", str(lab_file), "--json", str(out)])
    capsys.readouterr()
    results = {r["name"]: r for r in json.loads(out.read_text())["scenarios"]}
    assert code == 0
    assert {r["status"] for r in results.values()} == {"passed", "skipped"}
    assert results["kaleyra MO and MT with DLR"]["reason"].startswith("steps[1].wait: skipped: the pair is external")
    assert "classification only mean something to a simulated CIC node" in (
        results["segmentation (split and truncate)"]["reason"])
