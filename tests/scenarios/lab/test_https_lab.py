"""HTTPS end to end through the lab (issue 4 §7): scenarios/examples/https-lab.yaml, with SSL offload and with
re-encrypt, MO, MT and DR over TLS, an untrusted node chain (502.3), and a kill of the primary over HTTPS.

One PKI per module (``Pki.generate`` takes about a second), written where the lab file expects it: a
``certs/`` folder beside a copy of the lab file, as ``smslab certs --out <folder>/certs`` would.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from certs.pki import Pki
from scenarios.cli import failover, up
from scenarios.cli.main import main as smslab
from scenarios.lab.assembly import Lab
from scenarios.lab.backends import LabStartError
from scenarios.lab.spec import read_lab_spec
from sim.labfile import load_lab_config, read_yaml
from sim.proxy.config import proxy_settings, server_ssl_context
from sim.proxy.server import SUBSTATUS_HEADER, ProxyServer

EXAMPLE = Path(__file__).resolve().parents[3] / "scenarios" / "examples" / "https-lab.yaml"
CUSTOMER, LOCAL = "+13175550101", "8005550100"
PORT = 8443  # the Kaleyra broker's Incoming HTTP Port in the lab file


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of the example lab file and the PKI in certs/ beside it."""
    folder = tmp_path_factory.mktemp("https-lab")
    Pki.generate().write(folder / "certs")
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    return folder


def variant(folder: Path, name: str, **proxy: Any) -> Path:
    """The example lab file with proxy keys changed, written beside it (so its relative paths still hold)."""
    data = read_yaml(folder / EXAMPLE.name)
    data["proxy"].update(proxy)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def trusting(folder: Path, bundle: str) -> ssl.SSLContext:
    """A client context trusting one of the PKI's trust bundles (trust-<bundle>.pem) and nothing else."""
    return ssl.create_default_context(cafile=str(folder / "certs" / f"trust-{bundle}.pem"))


async def peer_names(url: str, context: ssl.SSLContext) -> list[str]:
    """The DNS names of the certificate the server at ``url`` presents, verified against ``context``."""
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    _, writer = await asyncio.open_connection(host, int(port), ssl=context, server_hostname=host)
    try:
        cert = writer.get_extra_info("peercert")
        return [value for kind, value in cert["subjectAltName"] if kind == "DNS"]
    finally:
        writer.close()
        await writer.wait_closed()


async def until(probe: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll ``probe`` until it returns something truthy (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not (found := await probe()):
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)
    return found


async def call(session: aiohttp.ClientSession, method: str, url: str, status: int = 200, **kw: Any) -> Any:
    """One JSON request; asserts the status."""
    async with session.request(method, url, **kw) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == status, body
        return body


def test_the_example_names_its_certificates_beside_it(lab_dir: Path) -> None:
    """Every certificate path of the lab file is read against the lab file's folder."""
    config = load_lab_config(lab_dir / EXAMPLE.name)
    certs = lab_dir.resolve() / "certs"
    kaleyra = config.fakes["kaleyra"]
    assert (kaleyra["tls"], kaleyra["push"]["ca"]) == (
        {"cert": str(certs / "broker-kaleyra-chain.pem"), "key": str(certs / "broker-kaleyra.key")},
        str(certs / "trust-broker.pem"))
    assert (config.proxy_section["tls"], config.proxy_section["upstream_ca"]) == (
        {"cert": str(certs / "proxy-named-chain.pem"), "key": str(certs / "proxy-named.key")},
        str(certs / "trust-proxy.pem"))
    spec = read_lab_spec(config)
    for name in ("primary", "backup"):
        node = spec.nodes[name]
        assert (node.tls_cert, node.tls_key, node.mt_ca) == (
            str(certs / f"node-{name}-chain.pem"), str(certs / f"node-{name}.key"), str(certs / "trust-node.pem"))
    assert [f.https for f in spec.farms] == [True]


async def test_smslab_certs_then_up_serves_the_https_lab(lab_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`smslab certs --out <folder>/certs` (reusing the PKI there), then `smslab up` on the lab file."""
    assert smslab(["certs", "--out", str(lab_dir / "certs")]) == 0
    assert capsys.readouterr().out.startswith(f"{lab_dir / 'certs'}: reused, ")
    out, stop = io.StringIO(), asyncio.Event()

    async def stop_when_up() -> None:
        await until(lambda: asyncio.sleep(0, out.getvalue()), timeout=10)
        stop.set()

    stopper = asyncio.create_task(stop_when_up())
    code = await up.serve(load_lab_config(lab_dir / EXAMPLE.name), as_json=True, stop=stop, out=out)
    await stopper
    line = json.loads(out.getvalue())
    urls = {c["name"]: c["url"] for c in line["components"]}
    assert (code, urls["kaleyra"][:8], urls[f"proxy:{PORT}"][:8], urls["control"][:7]) == (
        0, "https://", "https://", "http://")


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "re-encrypt"])
async def test_mo_mt_and_dr_cross_the_lab_over_https(lab_dir: Path, offload: bool) -> None:
    """MO to the active node, the agent's MT to the broker and its DR back: every hop the mode says is TLS."""
    config = load_lab_config(variant(lab_dir, f"lab-{offload}", offload=offload))
    async with Lab(config) as lab, aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=trusting(lab_dir, "broker"))) as session:
        proxy, fake = lab.proxy_urls[PORT], lab.fake_urls["kaleyra"]
        assert (proxy.startswith("https://"), fake.startswith("https://")) == (True, True)
        # The broker's side: the proxy presents the purchased named certificate, the fake its own.
        assert await peer_names(proxy, trusting(lab_dir, "broker")) == ["webportal.smslab.test", "localhost"]
        assert await peer_names(fake, trusting(lab_dir, "node")) == ["kaleyra.smslab.test", "localhost"]
        # The lab's own client trusts exactly the certificates it gave its components.
        assert isinstance(lab.trust, ssl.SSLContext)
        assert await peer_names(proxy, lab.trust) == ["webportal.smslab.test", "localhost"]

        mo = await call(session, "POST", f"{lab.url}/_smslab/brokers/kaleyra/mo", 202,
                        json={"from": CUSTOMER, "to": LOCAL, "text": "Is my order shipped?"})

        async def interactions() -> list[dict[str, Any]]:
            return (await call(session, "GET", f"{lab.url}/_smslab/interactions"))["interactions"]

        [conversation] = await until(interactions)
        assert [(e["direction"], e["text"], e["message_id"]) for e in conversation["transcript"]] == [
            ("in", "Is my order shipped?", mo["message_id"])]
        pushes = await call(session, "GET", f"{fake}/_smslab/pushes", params={"kind": "mo"})
        assert [(p["url"], p["status"], p["outcome"]) for p in pushes] == [(f"{proxy}/kaleyra/mo", 200, "delivered")]

        sent = await call(session, "POST", f"{lab.url}/_smslab/send", 202,
                          json={"to": CUSTOMER, "text": "Yes, it left today.", "classification": "Local",
                                "interaction_id": conversation["id"]})
        [request] = sent["requests"]
        assert (request["url"], request["status"], request["accepted"]) == (
            f"{fake}/a2w_preRouter/httpApiRouter", 200, True)

        async def delivered() -> list[dict[str, Any]]:
            return [d for i in await interactions() for d in i["deliveries"] if d["state"] == "delivered"]

        [delivery] = await until(delivered)
        assert (delivery["broker"], delivery["message_id"], delivery["correlation"], delivery["raw_status"]) == (
            "kaleyra", request["message_ids"][0], sent["correlation"], "Carrier Success/200")
        pushes = await call(session, "GET", f"{fake}/_smslab/pushes", params={"kind": "dlr"})
        assert [(p["url"], p["status"], p["outcome"]) for p in pushes] == [(f"{proxy}/kaleyra/dr", 200, "delivered")]

        # The proxy -> node hop: HTTP when offloading; HTTPS with the node's Server certificate otherwise.
        health = await call(session, "GET", f"{lab.url}/_smslab/health")
        [farm] = health["farm"]
        node_url = health["nodes"]["primary"]["sms_urls"]["kaleyra"]
        assert (farm["offload"], node_url.split("://")[0]) == (offload, "http" if offload else "https")
        assert farm["active"] == lab.members[PORT]["primary"]
        if not offload:
            assert await peer_names(node_url, trusting(lab_dir, "proxy")) == [
                "cic-primary.smslab.test", "cic-primary", "localhost"]


async def test_an_untrusted_node_chain_is_502_3_and_an_unhealthy_farm(lab_dir: Path) -> None:
    """Re-encrypting with an upstream_ca that lacks the CIC chain: 502.3, members unhealthy, nothing stored."""
    untrusting = load_lab_config(variant(lab_dir, "untrusting", offload=False, upstream_ca="certs/trust-broker.pem"))
    with pytest.raises(LabStartError, match="did not see the active node"):
        await Lab(untrusting, ready_timeout=0.5).start()

    spec = read_lab_spec(untrusting)
    [plan] = spec.farms
    config = load_lab_config(variant(lab_dir, "re-encrypt", offload=False))
    async with Lab(config) as lab, aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=trusting(lab_dir, "broker"))) as session:
        members = list(lab.members[PORT].values())
        server = ProxyServer(proxy_settings(spec.proxy, members, plan.rules, health_url=plan.health.url))
        url = await server.start(spec.proxy.host, 0, server_ssl_context(spec.proxy), probe=False)
        try:
            # Members start healthy (as a new farm does), so the request is forwarded and the TLS check fails.
            form = {"device_address": CUSTOMER, "inbound_address": LOCAL, "message": "hello", "message_id": "m-1"}
            async with session.post(f"{url}/kaleyra/mo", data=form) as resp:
                text = await resp.text()
                assert (resp.status, resp.headers[SUBSTATUS_HEADER]) == (502, "502.3")
            assert f"{members[0]} presented a certificate the proxy does not trust" in text
            report = await call(session, "POST", f"{url}/_smslab/farm/verify")
            untrusted = ("TLS: the member's certificate is not trusted ([SSL: CERTIFICATE_VERIFY_FAILED] "
                         "certificate verify failed: unable to get local issuer certificate")
            assert [(m["healthy"], m["last_probe"]["verdict"].startswith(untrusted)) for m in report["members"]] == [
                (False, True)] * 2
            assert (report["active"], report["failed_requests"], report["offload"]) == (None, 1, False)
        finally:
            await server.stop()
        assert (await call(session, "GET", f"{lab.url}/_smslab/interactions"))["interactions"] == []


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "re-encrypt"])
def test_a_kill_of_the_primary_over_https_loses_nothing(lab_dir: Path, offload: bool,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """smslab failover on the HTTPS lab: every acknowledged MO stored once, the conversation goes on."""
    file = variant(lab_dir, f"failover-{offload}", offload=offload)
    code = failover.main(["--json", "--config", str(file), "--count", "20", "--kill-after", "8"])
    result = json.loads(capsys.readouterr().out)
    assert (code, result["acked"], result["lost"], result["doubled"]) == (0, 20, [], [])
    assert (result["conversation"], result["interactions"], result["recovery"]) == ("continued", 1, True)
    assert all(result["checks"].values()), result["checks"]


async def test_processes_mode_reads_the_same_certificates_and_re_encrypts(lab_dir: Path) -> None:
    """--processes: fakes, nodes and proxy in their own processes; the MO reaches the node over HTTPS."""
    lab = Lab(load_lab_config(variant(lab_dir, "processes", offload=False)), processes=True)
    await lab.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=lab.trust)) as session:
            mo = await call(session, "POST", f"{lab.url}/_smslab/brokers/kaleyra/mo", 202,
                            json={"from": CUSTOMER, "to": LOCAL, "text": "over TLS"})

            async def interactions() -> list[dict[str, Any]]:
                return (await call(session, "GET", f"{lab.url}/_smslab/interactions"))["interactions"]

            [conversation] = await until(interactions, timeout=10)
            assert [e["message_id"] for e in conversation["transcript"]] == [mo["message_id"]]
            health = await call(session, "GET", f"{lab.url}/_smslab/health")
            assert [n["sms_urls"]["kaleyra"][:8] for n in health["nodes"].values()] == ["https://"] * 2
            assert (health["farm"][0]["offload"], health["farm"][0]["url"][:8]) == (False, "https://")
        pids = lab.backend.pids()
    finally:
        await lab.stop()
    assert [p for p in pids if Path(f"/proc/{p}").exists()] == []
