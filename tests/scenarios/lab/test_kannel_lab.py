"""The Kannel example (scenarios/examples/kannel-lab.yaml): a real, independent gateway as the external pair.

Skipped, with the reason, where Debian's kannel package (bearerbox, smsbox) is not installed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import main as cli
from scenarios.lab.client import LabClient
from scenarios.paths import EXAMPLES_DIR
from scenarios.scenario.runner import in_process_lab, load_lab_file

KANNEL_LAB = EXAMPLES_DIR / "kannel-lab.yaml"
BINARIES = ("/usr/sbin/bearerbox", "/usr/sbin/smsbox")
pytestmark = pytest.mark.skipif(not all(shutil.which(b) for b in BINARIES),
                                reason="Kannel is not installed (apt-get install kannel: /usr/sbin/bearerbox, "
                                       "/usr/sbin/smsbox)")
CUSTOMER, LOCAL = "+13175550177", "8005550100"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabClient]:
    """The Kannel lab, started from its file once for the module."""
    with in_process_lab(load_lab_file(KANNEL_LAB)) as url:
        yield LabClient(url)


def _received(lab: LabClient, kind: str) -> list[dict[str, Any]]:
    """What both members handed to the sink, of one kind."""
    return [r for name in ("primary", "backup") for r in lab.received(name, kind)]


def test_an_mo_from_the_fake_kaleyra_reaches_kannel_through_the_proxy(lab: LabClient) -> None:
    """The fake's MO push goes through the proxy into a bearerbox; its smsbox hands it to the sink."""
    lab.reset()
    lab.mo("kaleyra", sender=CUSTOMER, to=LOCAL, text="hello kannel")
    mo = lab.wait_for(lambda: _received(lab, "mo"), bool, timeout=10)[0]["fields"]
    # Kannel reads `to` from device_address (the handset) so that DLRs match: the number comes as account.
    assert (mo["from"], mo["account"], mo["text"], mo["smsc"]) == (CUSTOMER, LOCAL, "hello kannel", "kaleyra")


def test_kannel_sends_an_mt_to_the_fake_kaleyra_and_gets_the_dlr_back(lab: LabClient) -> None:
    """POST /_smslab/send goes to smsbox's sendsms; bearerbox sends it; the fake's DR comes back as a DLR."""
    lab.reset()
    answer = lab.send("13175550177", "your order shipped", sender=LOCAL)
    assert (answer["member"], answer["status"], answer["body"]) == ("primary", 202, "0: Accepted for delivery")
    mt = lab.wait_for(lambda: lab.messages("kaleyra", kind="mt"), bool, timeout=10)[0]
    assert (mt["to"], mt["from"], mt["text"]) == ("13175550177", LOCAL, "your order shipped")
    dlr = lab.wait_for(lambda: _received(lab, "dlr"), bool, timeout=10)[0]["fields"]
    assert (dlr["type"], dlr["to"], dlr["from"]) == ("1", "13175550177", LOCAL)  # 1: delivered to the phone
    # What Kannel matched the DR by: its own message id, sent as reporting_key1, echoed as client_message_id.
    dr = lab.messages("kaleyra", kind="dlr")[0]
    assert dr["fields"]["client_message_id"] == mt["fields"]["reporting_key1"]


def test_a_sigstop_of_the_primary_bearerbox_moves_the_traffic(lab: LabClient) -> None:
    """hang is a real SIGSTOP of bearerbox: the proxy takes the primary out, MTs and MOs go to the backup."""
    lab.reset()
    pid = lab.health()["nodes"]["primary"]["processes"]["bearerbox"]["pid"]
    lab.fail("primary", "hang")
    # The kernel's state of the process: T, stopped (a signal is delivered a moment after it is sent).
    lab.wait_for(lambda: Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0], "T".__eq__)
    lab.wait_for(lambda: lab.health()["switchover"]["active"], lambda a: a == "backup", timeout=10)
    assert lab.send("13175550177", "from the backup", sender=LOCAL)["member"] == "backup"
    lab.mo("kaleyra", sender=CUSTOMER, to=LOCAL, text="after the stop")
    mo = lab.wait_for(lambda: _received(lab, "mo"), bool, timeout=10)[0]
    assert (mo["member"], mo["fields"]["text"]) == ("backup", "after the stop")
    lab.reset()
    assert lab.health()["switchover"]["active"] == "primary"


@pytest.mark.parametrize("mode", ["hang", "kill"])
def test_smslab_failover_across_a_stop_or_kill_of_bearerbox(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab failover` on the Kannel lab, across a SIGSTOP or a SIGKILL of the primary's bearerbox: every
    acknowledged MO reached a Kannel exactly once (those the stopped or killed bearerbox had acknowledged,
    once it was restored: from its store file after a kill)."""
    code = cli.main(["failover", "--json", "--config", str(KANNEL_LAB), "--mode", mode, "--count", "12",
                     "--kill-after", "4"])
    result = json.loads(capsys.readouterr().out)
    assert (code, result["acked"], result["lost"], result["doubled"]) == (0, 12, [], [])
    assert result["conversation"] == "not tracked (external pair)"
    assert len(result["held"]) <= 4  # at most what the primary took before its stop
    assert result["detection"] is not None


def test_the_kannel_failover_scenario_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab run scenarios/examples/kannel-failover.yaml`: MT and DLR through each Kannel across the stop."""
    out = tmp_path / "results.json"
    code = cli.main(["run", str(EXAMPLES_DIR / "kannel-failover.yaml"), "--json", str(out)])
    capsys.readouterr()
    result = json.loads(out.read_text())["scenarios"][0]
    assert (code, result["status"]) == (0, "passed")
    assert [c["status"] for c in result["checks"]] == ["passed"] * 11
