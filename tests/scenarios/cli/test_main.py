"""Tests for scenarios.cli.main and scenarios.cli.core: the smslab command, in process and once for real."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.cli.main import main

EXAMPLE = str(Path(__file__).parents[3] / "scenarios" / "examples" / "lab.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_segment_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The human output names encoding, units, count and each part with units/capacity."""
    code, out, _ = run(capsys, "segment", "a" * 161)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "encoding GSM-7, 161 units, 2 segment(s), mode split"
    assert lines[1].split()[:2] == ["1", "153/153"]
    assert lines[2].split()[:2] == ["2", "8/153"]


def test_segment_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object with encoding, segments and per-part units and capacity."""
    code, out, _ = run(capsys, "segment", "--json", "--mode", "truncate", "😜" + "1" * 80)
    data = json.loads(out)
    assert code == 0
    assert (data["encoding"], data["segments"], data["truncated"]) == ("UCS-2", ["😜" + "1" * 68], True)
    assert data["parts"] == [{"text": "😜" + "1" * 68, "units": 70, "capacity": 70}]


def test_segment_sixteen_bit_reference(capsys: pytest.CaptureFixture[str]) -> None:
    """--reference-bits 16 uses 152-septet parts."""
    _, out, _ = run(capsys, "segment", "--json", "--reference-bits", "16", "a" * 161)
    assert [p["units"] for p in json.loads(out)["parts"]] == [152, 9]


def test_segment_jsonl_goes_on_after_bad_lines(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """--jsonl answers each line; bad lines give an error line and the run continues."""
    lines = ['{"text": "hello", "mode": "none"}', "not json", '{"text": 5}', '{"text": "x", "mode": "cut"}',
             "", '{"text": "\\ud800"}', '{"text": "€"}']
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, _ = run(capsys, "segment", "--jsonl")
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert len(answers) == 6
    assert (answers[0]["encoding"], answers[0]["segments"], answers[0]["mode"]) == ("GSM-7", ["hello"], "none")
    assert [a.get("line") for a in answers[1:5]] == [2, 3, 4, 6]
    assert answers[1]["error"].startswith("line is not JSON")
    assert answers[2]["error"] == 'each line must be a JSON object with a string "text"'
    assert answers[3]["error"] == "mode must be one of none, split, truncate (got 'cut')"
    assert "unpaired surrogate" in answers[4]["error"]
    assert answers[5]["segments"] == ["€"]


def test_segment_without_text(capsys: pytest.CaptureFixture[str]) -> None:
    """segment with neither TEXT nor --jsonl says what to give and exits 2."""
    code, _, err = run(capsys, "segment")
    assert (code, err.strip()) == (2, "smslab segment: give a TEXT, or --jsonl to read JSON lines from stdin")


def test_route_inbound(capsys: pytest.CaptureFixture[str]) -> None:
    """route inbound names the route, its type and regex, and the destination."""
    code, out, _ = run(capsys, "route", "--config", EXAMPLE, "--json", "inbound", "--ani", "+13175551212",
                       "--dnis", "8005550100", "--body", "hi")
    assert code == 0
    assert json.loads(out) == {"direction": "inbound", "via": "route", "route_index": 1, "type": "ANI",
                               "regex": "\\+?1?317.*",
                               "destination": {"kind": "Queue", "name": "Indianapolis Support"}}


def test_route_options_after_the_direction(capsys: pytest.CaptureFixture[str]) -> None:
    """--config and --json may follow inbound|outbound, as the README's examples write them."""
    before = run(capsys, "route", "--config", EXAMPLE, "--json", "inbound", "--ani", "+13175551212",
                 "--dnis", "8005550100")
    after = run(capsys, "route", "inbound", "--ani", "+13175551212", "--dnis", "8005550100", "--config", EXAMPLE,
                "--json")
    assert after == before
    assert json.loads(after[1])["destination"] == {"kind": "Queue", "name": "Indianapolis Support"}


def test_route_without_config_says_it_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --config anywhere, route exits 2 saying so."""
    code, _, err = run(capsys, "route", "outbound", "--dnis", "3175551212", "--classification", "Local")
    assert code == 2
    assert err == "smslab route: --config FILE is required (the lab file whose routes decide)\n"


@pytest.mark.parametrize("argv", [["failover"], ["bench", "soak"], ["bench", "scale"], ["bench", "proxy"],
                                  ["bench", "fakes"], ["bench", "core"], ["ssl-matrix"], ["serve"],
                                  ["check-config"], ["route", "inbound"], ["conformance"]], ids=" ".join)
def test_help_is_plain_text_and_describes_every_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--help shows no reST markup, and every option has a description."""
    out = _help(capsys, argv)
    assert "``" not in out
    lines = out.split("options:")[-1].splitlines()[1:]
    for i, line in enumerate(lines):
        if line.startswith("  -") and "--help" not in line:
            described = "  " in line.strip() or (i + 1 < len(lines) and lines[i + 1].startswith(" " * 8))
            assert described, f"no description: {line!r}"


def _help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    try:
        code = main([*argv, "--help"])
    except SystemExit as exited:
        code = int(exited.code or 0)
    assert code == 0
    return capsys.readouterr().out


def test_serve_help_lists_every_component(capsys: pytest.CaptureFixture[str]) -> None:
    """smslab serve --help names the fake kinds, cic and proxy."""
    out = _help(capsys, ["serve"])
    assert "one of http-broker, kaleyra, portico" in out
    assert "  cic --role primary|backup" in out
    assert "  proxy --member HOST:PORT" in out


def test_ssl_matrix_unknown_case_lists_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --case exits 2 and lists the case names."""
    code, _, err = run(capsys, "ssl-matrix", "--case", "nosuch")
    assert code == 2
    assert err.startswith("smslab ssl-matrix: no case named nosuch; the cases are: broker-to-proxy-self-signed, ")


def test_route_inbound_body_beats_ani(capsys: pytest.CaptureFixture[str]) -> None:
    """A STOP message is routed by the higher-priority Body route, not the ANI route."""
    code, out, _ = run(capsys, "route", "--config", EXAMPLE, "inbound", "--ani", "3175551212", "--dnis", "1",
                       "--body", "please STOP")
    assert (code, out.strip()) == (0, "inbound route 0 -> Handler CustomSMSOptOut")


def test_route_outbound(capsys: pytest.CaptureFixture[str]) -> None:
    """route outbound gives the formatted and internationalised number, broker, account and sender."""
    code, out, _ = run(capsys, "route", "--config", EXAMPLE, "--json", "outbound", "--dnis", "(317)555-1212",
                       "--classification", "Local")
    assert code == 1  # the punctuated number matches no route: regexes see the DNIS as typed
    code, out, _ = run(capsys, "route", "--config", EXAMPLE, "--json", "outbound", "--dnis", "3175551212",
                       "--classification", "Local")
    assert code == 0
    assert json.loads(out) == {"direction": "outbound", "route_index": 0, "regex": "\\+?1?(\\d{3})(\\d{3})(\\d{4})",
                               "number": "13175551212", "recipient": "+13175551212", "broker": "kaleyra",
                               "account": "support", "sender": "8005550100", "internationalized": True}


def test_route_outbound_access_denied(capsys: pytest.CaptureFixture[str]) -> None:
    """A classification the route does not permit exits 1 with the reason on stderr and in JSON."""
    code, out, err = run(capsys, "route", "--config", EXAMPLE, "--json", "outbound", "--dnis", "3175551212",
                         "--classification", "International")
    assert code == 1
    assert json.loads(out)["error"] == "access-denied"
    assert "does not permit classification 'International'" in err


def test_route_outbound_no_route(capsys: pytest.CaptureFixture[str]) -> None:
    """A DNIS no route matches exits 1 with a clear message."""
    code, _, err = run(capsys, "route", "--config", EXAMPLE, "outbound", "--dnis", "12", "--classification",
                       "Local")
    assert (code, err.strip()) == (1, "smslab route: no outbound route matches '12'")


def test_route_with_invalid_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """route with a broken config prints the problems and exits 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("sms: {purge_days: 1}\n")
    code, _, err = run(capsys, "route", "--config", str(bad), "inbound", "--ani", "1", "--dnis", "2")
    assert code == 2
    assert err.strip() == f"{bad}: sms.purge_days: must be greater than 1 (got 1)"


def test_check_config_ok_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """check-config prints ok and exits 0, or the errors on stderr and exits 2."""
    assert run(capsys, "check-config", EXAMPLE) == (0, "ok\n", "")
    bad = tmp_path / "bad.yaml"
    bad.write_text("brokers:\n  - {name: k, type: kaleyra, encryption: HTTPS, mt: {gateway: 'http://x'}}\n")
    code, out, err = run(capsys, "check-config", str(bad))
    assert (code, out) == (2, "")
    assert "brokers[0].mt.gateway: must use https like the broker's encryption HTTPS" in err


def test_conformance_command(capsys: pytest.CaptureFixture[str]) -> None:
    """conformance runs every check on the reference core and ends with the count line."""
    code, out, _ = run(capsys, "conformance")
    assert code == 0
    assert out.splitlines()[-1] == "conformance: 12 passed, 0 failed"


def test_conformance_bad_core(capsys: pytest.CaptureFixture[str]) -> None:
    """conformance with an unknown core exits 2 naming the problem."""
    code, _, err = run(capsys, "conformance", "--core", "no.such:Core")
    assert code == 2
    assert "core: cannot be imported" in err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown subcommand is an argparse usage error."""
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_console_script_in_a_real_process() -> None:
    """The installed smslab entry point runs segment --json in a subprocess."""
    done = subprocess.run([sys.executable, "-m", "scenarios.cli.main", "segment", "--json", "hi {there}"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["units"] == 12


def test_segment_jsonl_references_follow_a_counter(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Split messages in one --jsonl run get successive concatenation references; single parts none."""
    lines = [json.dumps({"text": "a" * 200}), json.dumps({"text": "short"}), json.dumps({"text": "b" * 170})]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    _, out, _ = run(capsys, "segment", "--jsonl")
    assert [0, None, 1] == [json.loads(line)["reference"] for line in out.splitlines()]


def test_check_config_reads_the_lab_sections_and_the_fakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-config reports problems in the cic, proxy and fakes sections as `smslab up` would."""
    bad = tmp_path / "lab.yaml"
    bad.write_text("cic:\n  switchover: {ts_timeout: 1}\nproxy: {health: {interval: -1}}\n", encoding="utf-8")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cic.switchover.ts_timeout: must be at least 5 (got 1)" in err
    assert "proxy.health.interval: must be at least 0.01 (got -1)" in err
    bad.write_text("fakes:\n  k: {kind: kaleyra, time_scale: -1}\n", encoding="utf-8")
    assert main(["check-config", str(bad)]) == 2
    assert "fakes.k.time_scale" in capsys.readouterr().err
