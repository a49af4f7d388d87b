"""Tests for scenarios.cli.main and scenarios.cli.core: the smslab command, in process and once for real."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from labfiles import (
    HTTPS_WITHOUT_PROXY_CERT,
    HTTPS_WITHOUT_PROXY_CERT_PROBLEM,
    STAGED,
    STAGED_PROBLEMS,
    problems,
    write,
)

from scenarios.cli.main import main
from scenarios.paths import BUILTIN_DIR, EXAMPLES_DIR

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
    assert "one of asyncgw, http-broker, kaleyra, portico" in out
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


def test_check_config_reports_the_problems_of_every_section_at_once(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Problems in the CIC sections, a fake, proxy and cic are all reported in one run, in file order."""
    bad = write(tmp_path, STAGED)
    code, out, err = run(capsys, "check-config", str(bad))
    assert (code, out) == (2, "")
    assert problems(err, bad) == STAGED_PROBLEMS


def check(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[str]]:
    """check-config on ``path``: its exit status and the problems it printed about the file."""
    code, _, err = run(capsys, "check-config", str(path))
    return code, problems(err, path)


def test_check_config_lab_sections_must_be_mappings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """proxy: [], cic: [] and fakes: [] are each a problem, not an empty section."""
    bad = write(tmp_path, "proxy: []\ncic: []\nfakes: []\n")
    assert check(capsys, bad) == (2, ["proxy: must be a mapping (got [])", "cic: must be a mapping (got [])",
                                      "fakes: must be a mapping of fake names to their settings (got [])"])


def test_check_config_reports_each_problem_once_and_only_the_wrong_field(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A node that is not a mapping is reported once; a bad distribution, not the seconds beside it."""
    bad = write(tmp_path, "fakes:\n  k: {kind: kaleyra, dlr: {delay: {distribution: nosuch, seconds: 1}}}\n"
                          "cic: {nodes: {primary: 3}}\n")
    assert check(capsys, bad) == (2, [
        "fakes.k.dlr.delay.distribution: must be one of fixed, uniform, exponential, lognormal, empirical (got 'nosuch')",
        "cic.nodes.primary: must be a mapping (got 3)"])


@pytest.mark.parametrize("lab", sorted((BUILTIN_DIR / "labs").glob("*.yaml")), ids=lambda p: p.name)
def test_check_config_accepts_every_shipped_lab(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each lab under scenarios/builtin/labs (extends: default) is ok, as smslab run reads it."""
    assert run(capsys, "check-config", str(lab)) == (0, "ok\n", "")


def test_check_config_reads_the_lab_a_file_extends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """extends: default and extends: <file> merge the base under the file; a problem in either is named."""
    write(tmp_path, "extends: default\ncic: {nodes: {primary: {backup_answer: maybe}}}\n", "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nproxy: {timeout: 0}\n")
    assert check(capsys, child) == (2, [
        "proxy.timeout: must be at least 0.01 (got 0)",
        "cic.nodes.primary.backup_answer: must be one of refuse, 503, 404, hang (got 'maybe')"])


def test_route_reads_a_lab_that_extends_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    """route --config on a shipped lab (extends: default) routes with the default lab's routes."""
    code, out, _ = run(capsys, "route", "--config", str(BUILTIN_DIR / "labs" / "no-recovery.yaml"), "--json",
                       "outbound", "--dnis", "3175551212", "--classification", "Local")
    assert (code, json.loads(out)["broker"]) == (0, "kaleyra")


def test_every_command_refuses_an_https_farm_without_a_proxy_certificate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-config, up, serve cic and serve proxy give an HTTPS broker behind a certless proxy one verdict."""
    lab = write(tmp_path, HTTPS_WITHOUT_PROXY_CERT)
    for argv in (["check-config", str(lab)], ["up", "--config", str(lab)],
                 ["serve", "cic", "--config", str(lab), "--role", "primary"],
                 ["serve", "proxy", "--config", str(lab), "--member", "h:1", "--member", "h:2", "--farm", "8080"]):
        code, out, err = run(capsys, *argv)
        assert (argv[0], code, out, problems(err, lab)) == (argv[0], 2, "", [HTTPS_WITHOUT_PROXY_CERT_PROBLEM])


def test_the_example_lab_is_served_as_it_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """The example lab passes check-config, and the proxy's farms for it are the plain HTTP ones it names."""
    assert run(capsys, "check-config", EXAMPLE) == (0, "ok\n", "")
    code, out, _ = run(capsys, "proxy", "haproxy-config", "--config", EXAMPLE, "--member", "127.0.0.2",
                       "--member", "127.0.0.3")  # the example's nodes share one host: name them apart
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("    bind ")] == [
        "    bind 127.0.0.1:8080", "    bind 127.0.0.1:8081"]


def test_check_config_names_every_missing_certificate_and_how_to_make_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTPS example before smslab certs: each file it names, where it was looked for, the command."""
    folder = tmp_path / "lab"
    folder.mkdir()
    text = (EXAMPLES_DIR / "https-lab.yaml").read_text(encoding="utf-8")
    lab = write(folder, text.replace("timeout: 3\n  health", "timeout: 0\n  health"), "https-lab.yaml")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check-config", str(lab))
    certs = folder.resolve() / "certs"
    how = "names no file; make it with `smslab certs --out lab/certs`"
    assert (code, out, "Traceback" in err) == (2, "", False)
    assert problems(err, lab) == [
        f"fakes.kaleyra.tls.cert: {how} (got '{certs}/broker-kaleyra-chain.pem')",
        f"fakes.kaleyra.tls.key: {how} (got '{certs}/broker-kaleyra.key')",
        f"fakes.kaleyra.push.ca: {how} (got '{certs}/trust-broker.pem')",
        f"proxy.tls.cert: {how} (got '{certs}/proxy-named-chain.pem')",
        f"proxy.tls.key: {how} (got '{certs}/proxy-named.key')",
        f"proxy.upstream_ca: {how} (got '{certs}/trust-proxy.pem')",
        "proxy.timeout: must be at least 0.01 (got 0)",
        *(f"cic.nodes.{node}.{key}: {how} (got '{certs}/{file}')" for node in ("primary", "backup")
          for key, file in (("tls_cert", f"node-{node}-chain.pem"), ("tls_key", f"node-{node}.key"),
                            ("mt_ca", "trust-node.pem")))]
