"""Tests for scenarios.cli.proxy: ``smslab proxy haproxy-config`` in-process, from a lab file and without one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from certs.pki import Pki
from scenarios.cli.proxy import main
from scenarios.paths import DEFAULT_LAB, EXAMPLES_DIR

needs_haproxy = pytest.mark.skipif(shutil.which("haproxy") is None,
                                   reason="haproxy is not installed (apt-get install haproxy)")

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


# -- only files HAProxy accepts -----------------------------------------------------------------------

HTTP_ONLY = {**LAB, "brokers": LAB["brokers"][:1], "proxy": {}}


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example lab files beside a PKI in certs/ (and https-lab re-encrypting), and proxy.pem: the proxy's
    chain and key in one file."""
    folder = tmp_path_factory.mktemp("haproxy-labs")
    Pki.generate().write(folder / "certs")
    for example in ("lab.yaml", "https-lab.yaml"):
        shutil.copy(EXAMPLES_DIR / example, folder / example)
    data = yaml.safe_load((folder / "https-lab.yaml").read_text(encoding="utf-8"))
    data["proxy"]["offload"] = False
    (folder / "https-reencrypt.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    chain, key = (folder / "certs" / name for name in ("proxy-named-chain.pem", "proxy-named.key"))
    (folder / "proxy.pem").write_bytes(chain.read_bytes() + key.read_bytes())
    return folder


def config_args(folder: Path, lab: object, examples: Path | None = None) -> list[str]:
    """``--config`` for a lab: the default, an example in ``examples``, or a mapping written into ``folder``."""
    if isinstance(lab, str):
        return ["--config", str(DEFAULT_LAB if lab == "default" else Path(str(examples)) / lab)]
    return ["--config", str(write(folder, lab))] if lab is not None else []


@needs_haproxy
@pytest.mark.parametrize(("lab", "args"), [
    ({**LAB, "proxy": {**LAB["proxy"], "tls": {}}}, ["--crt", "{dir}/proxy.pem"]),  # nodes on their own hosts
    ({**HTTP_ONLY, "cic": {"nodes": {"primary": {"ports": {8080: 18080}}, "backup": {"ports": {8080: 18081}}}}},
     []),  # nodes on the proxy's host with ports of their own
    (LAB, ["--member", "127.0.0.2", "--member", "127.0.0.3", "--crt", "{dir}/proxy.pem"]),
    ("default", ["--member", "127.0.0.1:18080", "--member", "127.0.0.1:18081"]),
    ("lab.yaml", ["--member", "127.0.0.2", "--member", "127.0.0.3", "--crt", "{dir}/proxy.pem"]),
    ("https-lab.yaml", ["--member", "127.0.0.1:18443", "--member", "127.0.0.1:28443", "--crt", "{dir}/proxy.pem"]),
    ("https-reencrypt.yaml", ["--member", "localhost:18443", "--member", "localhost:28443", "--crt", "{dir}/proxy.pem"]),
    (None, ["--member", "127.0.0.1:1", "--member", "127.0.0.1:2", "--bind", "127.0.0.1:9000"]),
])
def test_every_file_written_passes_haproxy_check(lab_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 lab: object, args: list[str]) -> None:
    """What haproxy-config writes for lab files with real node addresses, or with members given, haproxy -c accepts."""
    target = tmp_path / "haproxy.cfg"
    given = [a.replace("{dir}", str(lab_dir)) for a in args]
    assert 0 == main(["haproxy-config", *config_args(tmp_path, lab, lab_dir), *given, "--output", str(target)])
    assert "" == capsys.readouterr().err
    checked = subprocess.run(["haproxy", "-c", "-f", str(target)], capture_output=True, text=True, check=False)
    assert 0 == checked.returncode, checked.stdout + checked.stderr


UNBOUND = "the lab binds its nodes to port 0"
SHARED = "the lab binds its nodes to port 0; pass --member HOST:PORT for each"


@pytest.mark.parametrize(("lab", "args", "messages"), [
    ("default", [], [
        f"farm 8080: members primary and backup are both 127.0.0.1:8080 ({SHARED})",
        f"farm 8080: member primary 127.0.0.1:8080 is the farm's own listener 127.0.0.1:8080 ({SHARED}, or "
        "--bind HOST:PORT)",
        f"farm 8080: member backup 127.0.0.1:8080 is the farm's own listener 127.0.0.1:8080 ({SHARED}, or "
        "--bind HOST:PORT)"]),
    ({**LAB, "cic": {}}, [], [
        f"farm 8080: members primary and backup are both 127.0.0.1:8080 ({UNBOUND}; pass --member HOST for each)",
        f"farm 8443: members primary and backup are both 127.0.0.1:8443 ({UNBOUND}; pass --member HOST for each)"]),
    ({**LAB, "proxy": {**LAB["proxy"], "ports": {8080: 8443, 8443: 443}}}, ["--member", "127.0.0.1", "--member", "cic"],
     ["farm 8443: member primary 127.0.0.1:8443 is farm 8080's listener 127.0.0.1:8443 (pass --member HOST for "
      "each, or change the bind port under proxy.ports)"]),
    ({**HTTP_ONLY, "brokers": [*HTTP_ONLY["brokers"], {**LAB["brokers"][0], "name": "k2", "mo": {
        "incoming_port": 80, "incoming_path": "/k2/mo"}}], "proxy": {"ports": {8080: 80}}}, [],
     ["farm 80: bind 127.0.0.1:80 is also farm 8080's listener 127.0.0.1:80 (give each farm its own bind port "
      "under proxy.ports)"]),
    (None, ["--member", "127.0.0.1:1", "--member", "127.0.0.1:2"], ["bind 127.0.0.1:0 has port 0 (pass --bind HOST:PORT)"]),
    (None, ["--member", "127.0.0.1:0", "--member", "127.0.0.1:0", "--bind", ":0"], [
        "bind :0 has port 0 (pass --bind HOST:PORT)",
        "member primary 127.0.0.1:0 has port 0 (pass --member HOST:PORT with the node's real port)",
        "member backup 127.0.0.1:0 has port 0 (pass --member HOST:PORT with the node's real port)"]),
    (None, ["--member", "cic:8080", "--member", "cic:8080", "--bind", "127.0.0.1:80"],
     ["members primary and backup are both cic:8080 (pass a different --member for each)"]),
    (None, ["--member", "127.0.0.1:9000", "--member", "127.0.0.1:1", "--bind", "0.0.0.0:9000"],
     ["member primary 127.0.0.1:9000 is the farm's own listener 0.0.0.0:9000 (pass --member HOST:PORT for each, "
      "or --bind HOST:PORT)"]),
])
def test_a_file_haproxy_would_refuse_or_that_loops_is_not_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lab: object, args: list[str], messages: list[str]) -> None:
    """Every address problem is one line on stderr saying what to pass; exit 2, no traceback, no file."""
    target = tmp_path / "haproxy.cfg"
    assert 2 == main(["haproxy-config", *config_args(tmp_path, lab), *args, "--output", str(target)])
    out = capsys.readouterr()
    assert ("", [f"smslab proxy: {m}" for m in messages]) == (out.out, out.err.splitlines())
    assert not target.exists()


def test_a_key_haproxy_cannot_find_is_refused(lab_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """HAProxy reads the key from the crt file or <crt>.key: the example's separate key file needs --crt."""
    target = tmp_path / "haproxy.cfg"
    assert 2 == main(["haproxy-config", "--config", str(lab_dir / "https-lab.yaml"), "--member", "127.0.0.1:18443",
                      "--member", "127.0.0.1:28443", "--output", str(target)])
    certs = lab_dir / "certs"
    assert [f"proxy.tls.key: is its own file, but HAProxy reads the key from the certificate's file or from "
            f"{certs}/proxy-named-chain.pem.key; pass --crt with one PEM holding the chain and the key (got "
            f"'{certs}/proxy-named.key')"] == capsys.readouterr().err.splitlines()
    assert not target.exists()


def test_a_lab_file_that_extends_the_default_gives_the_default_farm(capsys: pytest.CaptureFixture[str]) -> None:
    """A shipped lab (extends: default) is read with the default lab's brokers: one farm on 8080."""
    lab = Path(__file__).parents[3] / "scenarios" / "builtin" / "labs" / "no-recovery.yaml"
    assert 0 == main(["haproxy-config", "--config", str(lab), "--member", "cic-a", "--member", "cic-b"])
    lines = capsys.readouterr().out.splitlines()
    assert ["frontend fe_8080", "backend cic_8080"] == [x for x in lines if x.startswith(("frontend", "backend"))]
    assert "    option httpchk GET '/kaleyra/mo?healthcheckignore=1'" in lines
