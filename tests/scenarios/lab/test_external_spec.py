"""Tests for scenarios.lab.external_spec: an external member's section, read and checked with the lab file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.cli import main as cli
from scenarios.lab.check import check_lab
from scenarios.lab.external_spec import Action, template_names
from scenarios.paths import EXAMPLES_DIR
from sim.core.errors import ConfigError
from sim.labfile import read_lab

BROKER = {"name": "k", "type": "kaleyra", "accounts": [{"id": "a", "local_address": "8005550100"}],
          "mo": {"incoming_port": 8080, "incoming_path": "/k/mo"}, "mt": {"gateway": "fake:k"}}
MEMBER: dict[str, Any] = {
    "ports": ["sms", "api"],
    "start": [{"name": "gw", "argv": ["/usr/bin/gw", "--port", "{port.sms}"], "listens": "sms"}],
    "sms_url": "http://{host}:{port.sms}",
    "send": {"url": "http://{host}:{port.api}/send?to={to}&text={text}", "expect": "^OK"},
    "faults": {"hang": {"fail": {"signal": "STOP", "process": "gw"}, "restore": {"signal": "cont", "process": "gw"}}},
}


def lab(primary: Any = None, backup: Any = None, **sections: Any) -> dict[str, Any]:
    """A lab of one broker and its fake, with the given members (the test's MEMBER by default)."""
    return {"brokers": [BROKER], "fakes": {"k": {"kind": "kaleyra"}},
            "cic": {"nodes": {"primary": primary if primary is not None else {"external": MEMBER},
                              "backup": backup if backup is not None else {"external": MEMBER}}},
            **sections}


def changed(**fields: Any) -> dict[str, Any]:
    """MEMBER with ``fields`` replaced."""
    return {"external": {**copy.deepcopy(MEMBER), **fields}}


def problems(data: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """Every problem the lab's one check finds in ``data``: (path, value, reason)."""
    with pytest.raises(ConfigError) as info:
        check_lab(read_lab(data, "lab.yaml"))
    return [(p.path, p.value, p.reason) for p in info.value.problems]


def test_a_member_reads_into_its_settings() -> None:
    """Ports, processes, URL, the send template and each fault's two actions, as the file gives them."""
    member = check_lab(read_lab(lab(), "lab.yaml")).spec.external["primary"]
    assert (member.ports, member.sms_url, member.start[0].argv, member.start[0].listens) == (
        ("sms", "api"), "http://{host}:{port.sms}", ("/usr/bin/gw", "--port", "{port.sms}"), "sms")
    assert member.send.expect is not None
    assert member.send.expect.pattern == "^OK"
    assert member.faults["hang"] == ((Action(signal="STOP", process="gw"),), (Action(signal="CONT", process="gw"),))


def test_a_server_the_lab_does_not_start_needs_only_its_url_and_send() -> None:
    """No ports, files, processes or faults: a server already running elsewhere."""
    bare = {"external": {"sms_url": "http://10.0.0.5:8080", "send": {"url": "http://10.0.0.5:9000/send?to={to}"}}}
    member = check_lab(read_lab(lab(primary=bare, backup=bare), "lab.yaml")).spec.external["backup"]
    assert (member.ports, member.start, member.faults, member.ready) == ((), (), {}, None)


def test_a_simulated_lab_has_no_external_members() -> None:
    """Without `external` the pair is simulated, as before."""
    data = lab(primary={}, backup={})
    assert check_lab(read_lab(data, "lab.yaml")).spec.external == {}


def test_an_unknown_placeholder_names_the_known_ones() -> None:
    """{port.x} of a port the member does not list is refused, listing every placeholder it may use."""
    found = problems(lab(backup=changed(sms_url="http://{host}:{port.smss}")))
    assert found == [("cic.nodes.backup.external.sms_url", "http://{host}:{port.smss}",
                      "names an unknown placeholder {port.smss}; known: {host}, {name}, {dir}, {sink}, "
                      "{port.sms}, {port.api}, {fake.k}, {fakehost.k}")]


def test_send_fields_are_placeholders_of_send_only() -> None:
    """{to} in a process's argv is refused there (it is a send template's own)."""
    start = [{"name": "gw", "argv": ["/usr/bin/gw", "{to}"]}]
    found = problems(lab(primary=changed(start=start)))
    assert [(p, v) for p, v, _ in found] == [("cic.nodes.primary.external.start[0].argv", "{to}")]
    assert found[0][2].startswith("names an unknown placeholder {to}; known: {host}")


def test_one_external_member_alone_is_refused() -> None:
    """A simulated node beside an external member: the missing external section is required, saying why."""
    found = problems(lab(backup={}))
    assert found == [("cic.nodes.backup.external", None,
                      "is required: primary is external, and a pair is either two simulated nodes (with "
                      "their switchover) or two external members (the proxy's health test choosing between "
                      "them)")]


def test_a_simulated_setting_beside_external_is_refused() -> None:
    """A node setting next to `external` would be ignored: it is a problem instead."""
    found = problems(lab(primary={"external": MEMBER, "store": "x.db"}))
    assert found == [("cic.nodes.primary.store", "x.db",
                      "is a simulated node's setting; an external member has only 'external'")]


def test_the_sms_url_is_a_base_without_a_path() -> None:
    """The proxy forwards each request's own path, over HTTP: the SMS URL is http://host:port only."""
    found = problems(lab(primary=changed(sms_url="https://{host}:{port.sms}/mo")))
    assert [(p, v) for p, v, _ in found] == [("cic.nodes.primary.external.sms_url", "https://{host}:{port.sms}/mo")]


def test_actions_name_one_kind_and_a_process_the_lab_starts() -> None:
    """Two kinds at once, an unknown signal and a process not started: each a problem at its own path."""
    faults = {"hang": {"fail": {"signal": "STOP", "command": ["kill"]},
                       "restore": {"signal": "WAKE", "process": "other"}}}
    found = problems(lab(primary=changed(faults=faults)))
    at = "cic.nodes.primary.external.faults.hang"
    assert found == [
        (f"{at}.fail", {"signal": "STOP", "command": ["kill"]},
         "must have exactly one of signal, restart, request, command"),
        (f"{at}.restore.signal", "WAKE", "must be one of STOP, CONT, KILL, TERM, HUP, INT, USR1, USR2"),
        (f"{at}.restore.process", "other", "must name a process the lab starts for this member (gw)"),
    ]


def test_an_action_list_is_carried_out_in_order_and_each_checked() -> None:
    """restore may be a list of actions; each one is checked at its own index."""
    faults = {"kill": {"fail": {"signal": "KILL", "process": "gw"},
                       "restore": [{"restart": "gw"}, {"restart": "nope"}]}}
    found = problems(lab(primary=changed(faults=faults)))
    assert found == [("cic.nodes.primary.external.faults.kill.restore[1].restart", "nope",
                      "must name a process the lab starts for this member (gw)")]


def test_a_fault_mode_of_the_simulated_pair_alone_is_refused() -> None:
    """isolate (the simulated backup's NetTest) is no fault of an external member."""
    found = problems(lab(primary=changed(faults={"isolate": {}})))
    assert found == [("cic.nodes.primary.external.faults.isolate", {},
                      "is not a fault mode an external member has; use kill, hang, slow, partition")]


def test_send_is_required_and_its_regex_is_compiled() -> None:
    """No send template: required; a bad expect: the regex error, at load time."""
    member = {k: v for k, v in MEMBER.items() if k != "send"}
    assert ("cic.nodes.primary.external.send.url", None, "is required") in problems(lab(primary={"external": member}))
    found = problems(lab(primary=changed(send={"url": "http://{host}/", "expect": "("})))
    assert [(p, v) for p, v, _ in found] == [("cic.nodes.primary.external.send.expect", "(")]


def test_listens_names_a_port_of_the_member() -> None:
    """A process's `listens` must be one of the member's ports."""
    start = [{"name": "gw", "argv": ["/usr/bin/gw"], "listens": "box"}]
    assert problems(lab(primary=changed(start=start))) == [
        ("cic.nodes.primary.external.start[0].listens", "box", "must be one of the member's ports (sms, api)")]


def test_the_proxy_must_offload_ssl_for_external_members() -> None:
    """A re-encrypting proxy would speak HTTPS to them: refused, the members are reached over HTTP."""
    found = problems(lab(proxy={"offload": False, "tls": {"cert": "", "key": ""}}))
    assert ("proxy.offload", False, "must be true with external members: the proxy reaches them over HTTP "
                                    "(their sms_url)") in found


def test_literal_braces_are_not_placeholders() -> None:
    """{{ and }} stand for braces; only {name} is a placeholder."""
    assert template_names('{"to": "{to}", "x": "{{y}}"}') == ["to"]


def test_check_config_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab check-config` on a lab file with two bad members: every problem, path and value, exit 2."""
    file = tmp_path / "lab.yaml"
    file.write_text(yaml.safe_dump(lab(primary=changed(ports=["9bad"]), backup=changed(timeout=0))))
    assert cli.main(["check-config", str(file)]) == 2
    err = capsys.readouterr().err
    assert f"{file}: cic.nodes.primary.external.ports: each name must match" in err
    assert f"{file}: cic.nodes.backup.external.timeout: must be at least 0.001 (got 0)" in err


def test_the_kannel_example_checks() -> None:
    """The shipped Kannel lab file passes the lab's one check, both members external."""
    assert cli.main(["check-config", str(EXAMPLES_DIR / "kannel-lab.yaml")]) == 0


def test_serve_cic_refuses_an_external_member(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab serve cic --role primary` on a lab whose primary is external: exit 2 saying why."""
    data = lab()
    data["brokers"] = [{**BROKER, "mt": {"gateway": "http://127.0.0.1:9"}}]
    file = tmp_path / "lab.yaml"
    file.write_text(yaml.safe_dump(data))
    assert cli.main(["serve", "cic", "--config", str(file), "--role", "primary"]) == 2
    assert (f"{file}: cic.nodes.primary.external: names an external member: smslab serve cic serves a simulated "
            "node") in capsys.readouterr().err
