"""Tests for loadtests.load (``smslab load``): short headless Locust runs against the embedded lab, through
the CLI, judged by the lab's own counts; a threshold that cannot be met; the failover shape; bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtests import load
from scenarios.cli.main import main
from scenarios.lab.processes import free_port

ROOT = Path(__file__).parents[2]


def _run(tmp_path: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    """Run ``smslab load`` with ``argv`` and ``--json``; the exit status and the figures."""
    out = tmp_path / "figures.json"
    status = main(["load", *argv, "--json", str(out)])
    return status, json.loads(out.read_text(encoding="utf-8"))


def test_a_five_second_mo_run_is_counted_by_the_lab_exactly_as_locust_counted_it(tmp_path: Path) -> None:
    """Five seconds of broker MO pushes: requests made, none failed, and the MOs the active node stored
    are exactly the ones Locust got a 2xx for, once each, with Locust's CSV report kept."""
    status, figures = _run(tmp_path, "mo_push", "-u", "4", "-t", "5", "--csv", str(tmp_path / "run"))
    total = figures["locust"]["total"]
    assert 0 == status
    assert total["requests"] > 100
    assert 0 == total["failures"]
    assert {"MO eztexting", "MO kaleyra", "MO portico"} == {r["name"] for r in figures["locust"]["rows"]}
    assert total["successes"] == figures["mo"]["acked"] == figures["mo"]["stored"]
    assert ([], [], []) == (figures["mo"]["lost"], figures["mo"]["doubled"], figures["mo"]["unacked_stored"])
    assert {"200": total["requests"]} == figures["lab"]["proxy"]
    assert (tmp_path / "run_stats.csv").is_file()


def test_agent_sends_are_captured_by_the_fakes_and_their_dlrs_timed(tmp_path: Path) -> None:
    """Three seconds of agent sends: each fake captured exactly the MTs Locust was answered for, and the
    DLRs reaching the node are Locust requests of type DLR named after each broker."""
    # The fake Portico keeps Genesys Cloud's rate limit (300 requests a minute per token), which a fast
    # run passes in its first seconds; here it is lifted, so every send the node takes reaches a broker.
    lab = tmp_path / "lab.yaml"
    lab.write_text("extends: default\nfakes: {portico: {rate_limit: {requests: 1000000}}}\n", encoding="utf-8")
    status, figures = _run(tmp_path, "agent_mt", "-u", "3", "-t", "3", "--config", str(lab))
    rows = {(r["type"], r["name"]): r for r in figures["locust"]["rows"]}
    assert 0 == status
    assert figures["mt"]["accepted"] == figures["mt"]["captured"]
    assert 0 == figures["mt"]["refused"]
    assert rows[("POST", "send")]["successes"] == sum(figures["mt"]["captured"].values())
    assert rows[("DLR", "kaleyra")]["successes"] > 0
    assert rows[("DLR", "portico")]["successes"] > 0
    timed = rows[("DLR", "kaleyra")]["successes"] + rows[("DLR", "portico")]["successes"]
    assert timed == figures["dlr"]["matched"]
    assert timed + figures["dlr"]["pending"] == sum(figures["mt"]["captured"].values())


def test_sends_a_broker_refuses_are_counted_apart(tmp_path: Path) -> None:
    """With the fake Portico's rate limit at 5 requests a minute, the node takes every send but Portico
    answers most of its MTs 429: those sends are counted as refused, and the rest were captured."""
    lab = tmp_path / "lab.yaml"
    lab.write_text("extends: default\nfakes: {portico: {rate_limit: {requests: 5}}}\n", encoding="utf-8")
    status, figures = _run(tmp_path, "agent_mt", "-u", "2", "-t", "2", "--config", str(lab))
    rows = {(r["type"], r["name"]): r for r in figures["locust"]["rows"]}
    assert 0 == status
    assert figures["mt"]["refused"] > 0
    assert figures["mt"]["captured"]["portico"] < figures["mt"]["refused"]
    assert rows[("POST", "send")]["successes"] == sum(figures["mt"]["captured"].values()) + figures["mt"]["refused"]


def test_a_threshold_that_cannot_be_met_exits_1_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    """--min-rps 1000000 fails the run with exit 1; with --json - the figures alone are stdout and the
    table, naming the threshold and the rate, is stderr."""
    status = main(["load", "mo_push", "-u", "2", "-t", "1", "--min-rps", "1000000", "--json", "-"])
    out, err = capsys.readouterr()
    figures = json.loads(out)
    failed = [name for name, ok in figures["checks"].items() if not ok]
    assert 1 == status
    assert 1 == len(failed)
    assert failed[0].startswith("rate ")
    assert failed[0].endswith(">= --min-rps 1e+06")
    assert f"FAIL  {failed[0]}" in err


def test_the_active_node_killed_mid_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """--fail-at 1.5: the primary is killed under load, the backup takes over, the requests failed in the
    gap are counted, and every acknowledged MO is stored once (none lost, none doubled)."""
    status, figures = _run(tmp_path, "mo_push", "-u", "4", "-t", "4", "--fail-at", "1.5", "--wait", "0.01")
    fo = figures["failover"]
    assert 0 == status, figures["checks"]
    assert ("primary", "kill") == (fo["node"], fo["mode"])
    assert 0 < fo["gap"] <= fo["expected_gap_at_most"] + 0.25
    assert fo["failed_in_gap"] > 0
    assert figures["locust"]["total"]["failures"] == fo["failed"]
    assert ([], []) == (figures["mo"]["lost"], figures["mo"]["doubled"])
    assert figures["mo"]["acked"] == figures["mo"]["stored"] == figures["locust"]["total"]["successes"]


@pytest.mark.parametrize(("argv", "message"), [
    (["no_such_file"], "unknown locustfile 'no_such_file': give one of mo_push, agent_mt, conversation, "
                       "fake_mt or the path of a .py locustfile"),
    (["--url", "http://127.0.0.1:9"], "--url http://127.0.0.1:9: cannot reach the lab:"),
    (["-t", "3", "--fail-at", "3"], "--fail-at 3 must be before the end of --run-time (3 s)"),
    (["--brokers", "kaleyra,nope", "-t", "1"], "--brokers 'kaleyra,nope': nope not a broker of the lab (its "
                                               "brokers: kaleyra, portico, eztexting)"),
])
def test_bad_input_is_one_message_and_exit_2(argv: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown locustfile, an unreachable --url, a fault after the end, a broker the lab lacks: exit 2,
    one message, no traceback."""
    assert 2 == main(["load", *argv])
    err = capsys.readouterr().err
    assert err.startswith(f"smslab load: {message}")
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--max-fail-ratio", "2"], "argument --max-fail-ratio: must be from 0 to 1 (got 2)"),
    (["--p95-ms", "-5"], "argument --p95-ms: must be above 0 (got -5)"),
    (["--min-rps", "fast"], "argument --min-rps: must be a number (got 'fast')"),
    (["-t", "soon"], "argument --run-time/-t: must be seconds or a time such as 30s, 2m, 1h30m (got 'soon')"),
])
def test_invalid_thresholds_are_refused_by_the_parser_with_exit_2(argv: list[str], message: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A threshold or run time that is not a valid value is refused before anything starts."""
    with pytest.raises(SystemExit) as stopped:
        main(["load", *argv])
    assert 2 == stopped.value.code
    assert message in capsys.readouterr().err


def test_a_locustfile_that_cannot_start_is_exit_2_with_locusts_own_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A locustfile Locust cannot import: exit 2, and the message ends with Locust's own error line."""
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_for_smslab\n", encoding="utf-8")
    assert 2 == main(["load", str(broken), "-t", "1"])
    err = capsys.readouterr().err
    assert err.startswith("smslab load: Locust failed to start (exit 1):")
    assert "no_such_module_for_smslab" in err
    assert "Traceback" not in err.splitlines()[0]


def test_locust_missing_is_exit_2_saying_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Without Locust in this Python the command says so, and how to install it, before starting a lab."""
    real = load.importlib.util.find_spec
    monkeypatch.setattr(load.importlib.util, "find_spec", lambda name: None if name == "locust" else real(name))
    assert 2 == main(["load", "mo_push"])
    assert "smslab load: Locust is not installed in this Python: pip install 'locust>=2.30'\n" == \
        capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [("30", 30), ("90s", 90), ("2m", 120), ("1h30m", 5400)])
def test_run_times_are_read_in_seconds_or_locusts_own_form(text: str, seconds: int) -> None:
    """--run-time takes plain seconds or Locust's 90s / 2m / 1h30m."""
    assert seconds == load.duration(text)


def test_processes_run_locusts_own_workers_and_keep_its_html_report(tmp_path: Path) -> None:
    """--processes 2: two Locust worker processes push MOs (each writes its own log), the lab still stores
    exactly Locust's successes, and --html keeps Locust's report."""
    report = tmp_path / "report.html"
    status, figures = _run(tmp_path, "mo_push", "-u", "4", "-t", "3", "--processes", "2", "--html", str(report))
    assert 0 == status, figures["checks"]
    assert 2 == figures["user_processes"]
    assert figures["locust"]["total"]["successes"] == figures["mo"]["stored"] > 0
    assert "<html" in report.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(("locustfile", "names"), [
    ("conversation", {("POST", "MO kaleyra"), ("POST", "reply"), ("DLR", "kaleyra")}),
    ("fake_mt", {("POST", "MT kaleyra"), ("POST", "MT eztexting")}),
])
def test_conversations_and_the_fakes_mt_api_are_counted_exactly(tmp_path: Path, locustfile: str,
                                                                names: set[tuple[str, str]]) -> None:
    """Conversations (MO, reply, MO) and a node's MTs straight to the fakes: no failure, every request type
    seen, and the lab's MOs stored and MTs captured equal what Locust was answered for."""
    status, figures = _run(tmp_path, locustfile, "-u", "3", "-t", "2")
    assert 0 == status, figures["checks"]
    assert 0 == figures["locust"]["total"]["failures"]
    assert names == {(r["type"], r["name"]) for r in figures["locust"]["rows"]}
    assert figures["mt"]["accepted"] == figures["mt"]["captured"]
    if locustfile == "conversation":
        assert figures["mo"]["stored"] == figures["mo"]["acked"] > 0
        assert ([], []) == (figures["conversations"]["split"], figures["conversations"]["replies_missing"])


def test_a_worker_on_another_host_runs_the_users_with_the_printed_command(tmp_path: Path) -> None:
    """--expect-workers 1: smslab load prints the worker's command and waits; that command, run as it is
    printed (here on the same host), joins the master, and the lab stores exactly Locust's MO successes
    (judged by count: the worker's logs stay on its host)."""
    port = str(free_port("127.0.0.1"))
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    master = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli.main", "load", "mo_push", "--expect-workers", "1",
         "--master-bind-port", port, "-u", "3", "-t", "3", "--json", str(out)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    assert master.stderr is not None
    lines = [master.stderr.readline(), master.stderr.readline()]
    assert lines[0].startswith("smslab load: waiting up to 120 s for 1 worker(s)")
    command = lines[1].strip()
    assert f"--worker --master-host 127.0.0.1 --master-port {port}" in command
    worker = subprocess.Popen(["bash", "-c", command], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert 0 == master.wait(timeout=90)
    finally:
        master.stderr.close()
        worker.wait(timeout=30)  # a worker quits when its master does
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["mo"]["by_count"]
    assert figures["locust"]["total"]["successes"] == figures["mo"]["stored"] > 0
    assert (0, []) == (figures["mo"]["missing"], figures["mo"]["doubled"])


def test_the_worker_command_names_this_host_when_the_master_listens_on_every_address() -> None:
    """With --master-bind-host 0.0.0.0 the printed command names this host by its name, the port given, and
    the plan inline."""
    args = load._parser().parse_args(["--expect-workers", "2", "--master-bind-host", "0.0.0.0",
                                      "--master-bind-port", "6000"])
    plan = load.Plan("http://10.0.0.5:8700", (), "ab12", "/tmp/x")
    command = load.worker_command(args, Path("/opt/lf.py"), plan)
    assert command == (f"SMSLAB_LOAD_PLAN={load.shlex.quote(plan.inline())} python -m locust -f /opt/lf.py "
                       f"--worker --master-host {load.socket.getfqdn()} --master-port 6000")
