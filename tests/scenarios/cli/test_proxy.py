"""Tests for scenarios.cli.proxy: ``smslab proxy haproxy-config`` in-process, from a lab file and without one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scenarios.cli.proxy import main

LAB = {
    "brokers": [
        {"name": "kaleyra", "type": "kaleyra", "accounts": [{"id": "a"}],
         "mo": {"incoming_port": 8080, "incoming_path": "/kaleyra/mo", "delivery_receipt_url": "/kaleyra/dr"}},
        {"name": "portico", "type": "portico", "encryption": "HTTPS", "accounts": [{"id": "b"}],
         "mt": {"gateway": "https://127.0.0.1:9002"},
         "mo": {"incoming_port": 8443, "incoming_path": "/portico/mo"}},
    ],
    "cic": {"nodes": {"primary": {"host": "10.0.0.1", "ports": {8080: 18080}}, "backup": {"host": "10.0.0.2"}}},
    "proxy": {"ports": {8080: 80, 8443: 443}, "tls": {"cert": "/etc/proxy.pem", "key": "/etc/proxy.pem"},
              "health": {"interval": 5, "timeout": 2, "response_match": "OK"}},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_lab_file_gives_one_frontend_and_backend_per_farm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Farms, listeners, URL tests and members come from the lab file's brokers, proxy and nodes."""
    assert 0 == main(["haproxy-config", "--config", str(write(tmp_path, LAB)), "--stats-socket", "/run/s.sock"])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert "" == out.err
    assert [
        "    bind 127.0.0.1:80",
        "    option httpchk GET '/kaleyra/mo?healthcheckignore=1'",
        "    http-check expect string 'OK'",
        "    timeout check 2s",
        "    server primary 10.0.0.1:18080 check inter 5s fall 1 rise 1",
        "    server backup 10.0.0.2:8080 check inter 5s fall 1 rise 1 backup",
        "    bind 127.0.0.1:443 ssl crt /etc/proxy.pem",
        "    option httpchk GET '/portico/mo?healthcheckignore=1'",
        "    http-check expect string 'OK'",
        "    timeout check 2s",
        "    server primary 10.0.0.1:8443 check inter 5s fall 1 rise 1",
        "    server backup 10.0.0.2:8443 check inter 5s fall 1 rise 1 backup",
    ] == [x for x in lines if x.startswith(("    bind", "    server", "    option httpchk", "    timeout check",
                                            "    http-check expect string"))]
    assert ["frontend fe_8080", "backend cic_8080", "frontend fe_8443", "backend cic_8443"] == [
        x for x in lines if x.startswith(("frontend", "backend"))]
    assert "    stats socket /run/s.sock mode 600 level admin" in lines
    assert sum("replace-path '^/kaleyra/" in x for x in lines) == 2  # incoming and delivery-receipt paths


def test_members_by_host_take_each_farms_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--member HOST names the nodes; each farm adds its incoming port; --output writes the file."""
    target = tmp_path / "haproxy.cfg"
    assert 0 == main(["haproxy-config", "--config", str(write(tmp_path, LAB)), "--member", "cic-a",
                      "--member", "cic-b", "--output", str(target)])
    assert "" == capsys.readouterr().out
    servers = [x for x in target.read_text().splitlines() if x.startswith("    server")]
    assert [
        "    server primary cic-a:8080 check inter 5s fall 1 rise 1",
        "    server backup cic-b:8080 check inter 5s fall 1 rise 1 backup",
        "    server primary cic-a:8443 check inter 5s fall 1 rise 1",
        "    server backup cic-b:8443 check inter 5s fall 1 rise 1 backup",
    ] == servers


def test_without_a_lab_file_every_path_is_forwarded(capsys: pytest.CaptureFixture[str]) -> None:
    """Two members and a listener make one farm with a catch-all rule and the /?healthcheckignore=1 probe."""
    assert 0 == main(["haproxy-config", "--member", "127.0.0.1:1", "--member", "127.0.0.1:2",
                      "--bind", "127.0.0.1:9000", "--crt", "/p.pem"])
    lines = capsys.readouterr().out.splitlines()
    assert [
        "frontend fe_farm",
        "    bind 127.0.0.1:9000 ssl crt /p.pem",
        "    http-request set-var(txn.smslab_rule) int(0) if !{ var(txn.smslab_rule) -m found } "
        "{ path_reg '^(/+(.*))?$' }",
        "    http-request replace-path '^(/+(.*))?$' '/\\2' if { var(txn.smslab_rule) -m int 0 }",
    ] == lines[lines.index("frontend fe_farm"):lines.index("frontend fe_farm") + 4]
    assert "    option httpchk GET '/?healthcheckignore=1'" in lines
    assert "    server backup 127.0.0.1:2 check inter 30s fall 1 rise 1 backup" in lines


@pytest.mark.parametrize(("args", "data", "message"), [
    ([], None, "--member: is required without --config (HOST:PORT, repeat) (got None)"),
    (["--member", "10.0.0.1:8080"], LAB, "--member: names one port but the lab has 2 farms; give the host only"),
    (["--bind", "127.0.0.1:1"], LAB, "--bind: names one listener but the lab has 2 farms"),
    ([], {**LAB, "proxy": {}}, "proxy.tls.cert: is required: the farm of port 8443 serves HTTPS brokers (portico)"),
    ([], {**LAB, "proxy": {"health": {"interval": "soon"}}}, "lab.yaml: proxy.health.interval: must be a number"),
    (["--member", "nohost"], None, "--member: must be HOST:PORT without a lab file (got 'nohost')"),
])
def test_bad_input_exits_2_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                        data: object, message: str) -> None:
    """Each mistake exits 2 with the path, the reason and the value on stderr, and prints no configuration."""
    config = ["--config", str(write(tmp_path, data))] if data is not None else []
    assert 2 == main(["haproxy-config", *config, *args])
    out = capsys.readouterr()
    assert "" == out.out
    assert message in out.err


def test_nodes_on_one_address_are_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two nodes with the same host and port make the same member twice: a warning says so."""
    lab = {**LAB, "cic": {}}
    assert 0 == main(["haproxy-config", "--config", str(write(tmp_path, lab))])
    err = capsys.readouterr().err
    assert "farm 8080 lists the same member twice (127.0.0.1:8080, 127.0.0.1:8080)" in err


def test_a_lab_file_that_extends_the_default_gives_the_default_farm(capsys: pytest.CaptureFixture[str]) -> None:
    """A shipped lab (extends: default) is read with the default lab's brokers: one farm on 8080."""
    lab = Path(__file__).parents[3] / "scenarios" / "builtin" / "labs" / "no-recovery.yaml"
    assert 0 == main(["haproxy-config", "--config", str(lab), "--member", "cic-a", "--member", "cic-b"])
    lines = capsys.readouterr().out.splitlines()
    assert ["frontend fe_8080", "backend cic_8080"] == [x for x in lines if x.startswith(("frontend", "backend"))]
    assert "    option httpchk GET '/kaleyra/mo?healthcheckignore=1'" in lines
