"""Tests for scenarios.lab.external: a lab whose pair is two external gateways, each its own process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from external_labs import GATEWAY, lab_data, member

from scenarios.cli import main as cli
from scenarios.lab import external as external_module
from scenarios.lab.backends import LabStartError
from scenarios.lab.check import check_lab
from scenarios.lab.client import LabClient, LabError
from scenarios.lab.external import ExternalServer, render
from scenarios.lab.processes import free_port
from scenarios.scenario.runner import in_process_lab
from sim.core.errors import InputError
from sim.labfile import parse_lab_config, read_lab

CUSTOMER, LOCAL = "+13175550177", "8005550100"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabClient]:
    """One lab of two mini gateways for the module, reset before each use."""
    with in_process_lab(parse_lab_config(lab_data(), "external-lab.yaml")) as url:
        yield LabClient(url)


def _received(lab: LabClient, kind: str) -> list[dict[str, Any]]:
    """What both members handed to the sink, of one kind."""
    return [r for name in ("primary", "backup") for r in lab.received(name, kind)]


def test_an_mo_reaches_a_member_through_the_proxy(lab: LabClient) -> None:
    """An MO the fake Kaleyra pushes goes through the proxy to a member, whose callback reaches the sink."""
    lab.reset()
    lab.mo("kaleyra", sender=CUSTOMER, to=LOCAL, text="hello gateway")
    found = lab.wait_for(lambda: _received(lab, "mo"), bool, timeout=5)
    assert found[0]["fields"] == {"from": CUSTOMER, "to": LOCAL, "text": "hello gateway"}


def test_send_uses_the_mt_template_and_the_dlr_comes_back(lab: LabClient) -> None:
    """POST /_smslab/send fills the member's MT template; the fake's DR reaches the member and its sink."""
    lab.reset()
    answer = lab.send("13175550177", "your order shipped", sender=LOCAL)
    assert answer["member"] == "primary"
    mts = lab.messages("kaleyra", kind="mt")
    assert (mts[0]["to"], mts[0]["from"], mts[0]["text"]) == ("13175550177", LOCAL, "your order shipped")
    dlrs = lab.wait_for(lambda: _received(lab, "dlr"), bool, timeout=5)
    assert dlrs[0]["fields"] == {"id": mts[0]["message_id"], "status": "Carrier Success"}


def test_health_lists_the_members_with_their_processes(lab: LabClient) -> None:
    """GET /_smslab/health shows each external member, its process and the external switchover status."""
    health = lab.health()
    assert health["nodes"]["primary"]["mode"] == "external"
    assert health["nodes"]["primary"]["processes"]["gateway"]["running"] is True
    sms = health["nodes"]["primary"]["sms_url"]
    assert health["nodes"]["primary"]["sms_urls"]["kaleyra"] == f"{sms}/kaleyra/mo"
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
    with urllib.request.urlopen(f"{lab.base_url}/metrics", timeout=5) as resp:
        metrics = resp.read().decode()
    assert 'smslab_node_role{node="backup",role="active"} 1.0' in metrics
    lab.reset()
    assert lab.health()["switchover"]["active"] == "primary"


def test_request_actions_fail_and_restore(lab: LabClient) -> None:
    """A fault whose actions are HTTP requests: each made with its method, query and body, in order."""
    lab.reset()
    lab.fail("backup", "slow")
    assert lab.health()["switchover"]["faults"] == {"backup": "slow"}
    lab.restore("backup")
    sent = lab.request("GET", "/_smslab/nodes/backup/received", query={"kind": "admin"})["received"]
    assert [(r["method"], r["fields"]) for r in sent] == [("POST", {"slow": "1", "delay": "2"}),
                                                         ("GET", {"slow": "0"})]


def test_a_fault_the_member_lacks_is_a_501(lab: LabClient) -> None:
    """Failing a member with a mode its section does not define is refused, naming the modes it has."""
    with pytest.raises(LabError, match=r"has no 'partition' fault in the lab file \(it has: hang, kill, "
                                       r"slow\)") as info:
        lab.fail("primary", "partition")
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
        client.fail("primary", "hang")  # left stopped: the lab must still end it
    time.sleep(0.1)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


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


# -- the remote side failing: each a clear error, never a hang -------------------------------------------


def server(section: dict[str, Any]) -> ExternalServer:
    """An ExternalServer for ``section`` (checked as a lab file's member), sink and fake on closed ports."""
    data = lab_data(primary=section)
    member = check_lab(read_lab(data, "lab.yaml")).spec.external["primary"]
    return ExternalServer(member, "127.0.0.1", "http://127.0.0.1:9", {"kaleyra": "http://127.0.0.1:9",
                                                                      "portico": "", "eztexting": ""})


async def test_a_slow_member_is_a_504_naming_the_request_and_the_limit() -> None:
    """A send template answered after the member's timeout: 504, the URL and the limit in the message."""
    gw = server(member("--slow", "3"))
    await gw.start()
    try:
        began = time.monotonic()
        with pytest.raises(InputError, match=r"external member primary did not answer the MT request \(GET "
                                             r"http://127\.0\.0\.1:\d+/send\?to=1317&text=hi%20there&from=\) "
                                             r"within 2\.0 s") as info:
            await gw.send("1317", "hi there")
        assert info.value.status == 504
        assert time.monotonic() - began < 2.9  # the member's timeout, not the gateway's 3 s
    finally:
        await gw.stop()


async def test_a_malformed_answer_is_a_502_quoting_it() -> None:
    """A 200 whose body does not match send.expect is refused as malformed, quoting the body."""
    gw = server(member("--garbage"))
    await gw.start()
    try:
        with pytest.raises(InputError, match=r"with 200 but a body that does not match '<code>100</code>': "
                                             r"'\\x00not a send answer'") as info:
            await gw.send("1317", "hi")
        assert info.value.status == 502
    finally:
        await gw.stop()


async def test_a_member_that_is_down_is_a_502_naming_the_url() -> None:
    """A send template pointing where nothing listens: 502, cannot be reached, with the URL and the cause."""
    section = {**member(), "ports": ["sms", "send", "dead"]}
    section["send"] = {"url": "http://{host}:{port.dead}/send?to={to}&text={text}"}
    gw = server(section)
    await gw.start()
    try:
        with pytest.raises(InputError, match=r"external member primary cannot be reached for the MT request "
                                             r"\(GET http://127\.0\.0\.1:\d+/send\?to=1&text=x\): "
                                             r"ClientConnectorError") as info:
            await gw.send("1", "x")
        assert info.value.status == 502
    finally:
        await gw.stop()


async def test_a_process_that_exits_at_once_is_a_start_error_with_its_output() -> None:
    """A member whose process exits while starting: an error with its status and the end of its output."""
    section = {**member(), "start": [{"name": "gateway", "argv": [
        sys.executable, "-c", "print('bad config line 3'); raise SystemExit(3)"]}]}
    gw = server(section)
    with pytest.raises(InputError, match=r"external member primary: gateway exited with status 3; its output ends: "
                                         r"bad config line 3"):
        await gw.start()
    await gw.stop()
    assert not gw.dir.exists()


async def test_a_member_that_lost_a_port_to_another_process_starts_again_on_new_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first port picked is taken before the gateway binds it: the gateway exits saying so, and the
    member is started again on new ports and comes up; any other start failure is not retried."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks = iter([taken.getsockname()[1]])
    real = external_module.free_port
    monkeypatch.setattr(external_module, "free_port", lambda host: next(picks, None) or real(host))
    gw = server(member())
    try:
        await gw.start()
        assert gw.values["port.sms"] != str(taken.getsockname()[1])
        assert all(proc.returncode is None for proc in gw.procs.values())
    finally:
        await gw.stop()
        taken.close()


async def test_a_missing_program_and_a_silent_member_are_start_errors() -> None:
    """No such program: said so; a member whose ready URL never answers: said so after its timeout."""
    missing = server({**member(), "start": [{"name": "gateway", "argv": ["/nonexistent/gateway"]}]})
    with pytest.raises(InputError, match=r"cannot start gateway \(/nonexistent/gateway\): \[Errno 2\]"):
        await missing.start()
    await missing.stop()
    silent = server({**member(), "start": [{"name": "gateway", "argv": [sys.executable, "-c",
                                                                  "import time; time.sleep(30)"]}],
                     "ready": {"url": "http://{host}:{port.send}/", "timeout": 0.3}})
    with pytest.raises(InputError, match=r"was not ready within 0\.3 s \(http://127\.0\.0\.1:\d+/ never "
                                         r"answered\)"):
        await silent.start()
    pid = silent.pids()[0]
    await silent.stop()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


async def test_a_failing_command_action_is_a_409_with_its_output() -> None:
    """A fault whose command exits non-zero: 409 with its status and output; the fault is not recorded."""
    section = {**member(), "faults": {"slow": {"fail": {"command": [sys.executable, "-c",
                                                                   "print('no such rule'); raise SystemExit(1)"]},
                                               "restore": {"command": ["true"]}}}}
    gw = server(section)
    await gw.start()
    try:
        with pytest.raises(InputError, match=r"for the slow fault exited with status 1: no such rule") as info:
            await gw.fail("slow")
        assert (info.value.status, gw.fault) == (409, "")
    finally:
        await gw.stop()


def test_a_slow_member_through_the_control_api_is_a_json_504() -> None:
    """POST /_smslab/send on a lab whose active member is too slow: a 504 with the error, not a hang."""
    data = lab_data(primary=member("--slow", "3"))
    with in_process_lab(parse_lab_config(data, "slow-lab.yaml")) as url:
        client = LabClient(url)
        with pytest.raises(LabError, match="did not answer the MT request") as info:
            client.send("13175550177", "hello")
        assert info.value.status == 504


def test_render_fills_encodes_and_keeps_literal_braces() -> None:
    """Member values as they are, send fields percent-encoded, {{ }} as braces."""
    assert render('{"u": "{host}/x?t={text}"}{{}}', {"host": "h"}, {"text": "a b&c"}) == (
        '{"u": "h/x?t=a%20b%26c"}{}')


def test_failover_with_processes_across_a_sigstop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab failover --processes --mode hang` on two gateways: the fakes and proxy in their own processes."""
    lab_file = tmp_path / "external-lab.yaml"
    lab_file.write_text(yaml.safe_dump(lab_data()), encoding="utf-8")
    code = cli.main(["failover", "--json", "--processes", "--config", str(lab_file), "--mode", "hang",
                     "--count", "10", "--kill-after", "4"])
    result = json.loads(capsys.readouterr().out)
    assert (code, result["acked"], result["lost"], result["doubled"]) == (0, 10, [], [])
    assert result["checks"]["backup took over"] is True


def test_a_member_that_cannot_start_stops_the_lab_and_every_process(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The backup exits at once: LabStartError with its output; the primary is ended, its folder removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the members' folders are made here
    backup = {**member(), "start": [{"name": "gateway", "argv": [
        sys.executable, "-c", "print('port in use'); raise SystemExit(1)"]}]}
    config = parse_lab_config(lab_data(backup=backup), "external-lab.yaml")
    with pytest.raises(LabStartError, match=r"external member backup: gateway exited with status 1; its output "
                                            r"ends: port in use"), in_process_lab(config):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_server_the_lab_does_not_start() -> None:
    """A member with no start list: the lab only points the proxy at it, sends through it and runs its
    fault commands (here kill -STOP / -CONT of a gateway the test started itself)."""
    sms, send = free_port("127.0.0.1"), free_port("127.0.0.1")
    gateway = subprocess.Popen([sys.executable, GATEWAY, "--sms-port", str(sms), "--send-port", str(send),
                                "--sink", "http://127.0.0.1:9", "--gateway", "http://127.0.0.1:9"])
    try:
        pid = str(gateway.pid)
        section = {"sms_url": f"http://127.0.0.1:{sms}",
                   "ready": {"url": f"http://127.0.0.1:{sms}/?healthcheckignore=1", "timeout": 10},
                   "send": {"url": f"http://127.0.0.1:{send}/send?to={{to}}&text={{text}}"},
                   "faults": {"hang": {"fail": {"command": ["kill", "-STOP", pid]},
                                       "restore": {"command": ["kill", "-CONT", pid]}}}}
        with in_process_lab(parse_lab_config(lab_data(primary=section), "external-lab.yaml")) as url:
            client = LabClient(url)
            assert client.health()["nodes"]["primary"]["processes"] == {}
            client.fail("primary", "hang")
            client.wait_for(lambda: client.health()["switchover"]["active"], lambda a: a == "backup", timeout=5)
            assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
            client.restore("primary")
            client.wait_for(lambda: client.health()["switchover"]["active"], lambda a: a == "primary", timeout=5)
        assert gateway.poll() is None  # the lab did not start it, so it does not end it
    finally:
        gateway.kill()
        gateway.wait()
