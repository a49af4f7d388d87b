"""``smslab serve core``, ``smslab conformance --core-url`` and ``smslab run --config`` with ``core: {url}``:
the core over HTTP through the commands a user runs (the served core is a real child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.cli.main import main
from scenarios.cli.run import builtin_files
from scenarios.cli.run import main as run_main
from scenarios.paths import EXAMPLES_DIR
from sim.core.remote import CALLS


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """``smslab serve core`` in a child process; its ready line."""
    with subprocess.Popen([sys.executable, "-m", "scenarios.cli.main", "serve", "core"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            assert proc.stdout is not None
            yield json.loads(proc.stdout.readline())
        finally:
            proc.terminate()  # the child this fixture started, by its own handle
            proc.communicate(timeout=10)
    assert proc.returncode == 0


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, object]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_core_prints_one_ready_line_and_serves_its_openapi(served: dict[str, str]) -> None:
    """The ready line names the URL, the core and the OpenAPI document, which has an operation per call."""
    assert (served["core"], served["openapi"]) == ("reference", served["url"] + "/openapi.json")
    with urllib.request.urlopen(served["openapi"], timeout=5) as response:
        document = json.loads(response.read())
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert operations == {*CALLS, "create", "delete"}
    assert document["openapi"] == "3.1.0"


def test_serve_core_refuses_bodies_it_cannot_read_in_its_own_error_body(served: dict[str, str]) -> None:
    """Wrong content type 415, not JSON 400, unknown core 404, each {"error": ...}; it keeps serving."""
    assert (415, {"error": "the body must be application/json (got 'text/plain')"}) == post(
        served["url"] + "/cores", b"{}", "text/plain")
    status, data = post(served["url"] + "/cores", b"{")
    assert (400, True) == (status, str(data).startswith("{'error': 'the body is not JSON"))
    assert (404, {"error": "no core 'core-0'"}) == post(served["url"] + "/cores/core-0/due", b'{"now": 0}')
    assert 201 == post(served["url"] + "/cores", b'{"config": {}}')[0]


def test_conformance_against_the_served_core_passes_every_check(served: dict[str, str],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``smslab conformance --core-url`` runs every check over HTTP; the reference core passes them all."""
    assert 0 == main(["conformance", "--core-url", served["url"], "--json"])
    results = json.loads(capsys.readouterr().out)
    assert (12, []) == (len(results), [r for r in results if not r["passed"]])


def test_conformance_against_nothing_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An unreachable --core-url exits 2 with one line naming it."""
    assert 2 == main(["conformance", "--core-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert err.startswith("smslab conformance: core at http://127.0.0.1:1 cannot be reached")
    assert len(err.strip().splitlines()) == 1


def test_every_builtin_scenario_passes_with_the_reference_core_served(served: dict[str, str],
                                                                       tmp_path: Path) -> None:
    """``smslab run --config`` with ``core: {url}``: every built-in scenario passes, those with a lab of
    their own too, and the served core made the cores (one per node at least)."""
    lab = tmp_path / "remote-core.yaml"
    lab.write_text(f'extends: default\ncore: {{url: "{served["url"]}", timeout: 5}}\n')
    before = int(post(served["url"] + "/cores", b'{"config": {}}')[1]["core"].split("-")[1])  # type: ignore[index]
    out = tmp_path / "results.json"
    assert 0 == run_main(["--config", str(lab), "--json", str(out)])
    results = json.loads(out.read_text())
    assert len(builtin_files()) == len(results["scenarios"])
    after = int(post(served["url"] + "/cores", b'{"config": {}}')[1]["core"].split("-")[1])  # type: ignore[index]
    assert after - before > 2 * 6  # two nodes for each of the six labs the run starts, and each recovery


def test_a_lab_file_with_a_bad_core_url_is_a_config_error_naming_field_value_and_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``core: {url: ftp://..., timeout: 0}``: check-config names both fields, their values and why."""
    lab = tmp_path / "bad-core.yaml"
    lab.write_text("extends: default\ncore: {url: 'ftp://core', timeout: 0, retries: 3}\n")
    assert 2 == main(["check-config", str(lab)])
    err = capsys.readouterr().err
    assert ("core.url: must be an http:// or https:// URL of the served core (smslab serve core) "
            "(got 'ftp://core')") in err
    assert "core.timeout: must be more than 0 seconds (got 0.0)" in err
    assert "core.retries: is not a known field (got 3)" in err


def test_the_example_lab_with_a_served_core_checks_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """scenarios/examples/remote-core.yaml is a valid lab file (the core need not be up to check it)."""
    assert 0 == main(["check-config", str(EXAMPLES_DIR / "remote-core.yaml")])
    assert "ok" == capsys.readouterr().out.strip()
