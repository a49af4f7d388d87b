"""Tests for scenarios.lab.control: the control API over real HTTP, driven with scenarios.lab.client.LabClient."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from scenarios.lab.client import LabClient, LabError
from scenarios.lab.control import ROUTES
from scenarios.plugin import LabThread

KALEYRA_MO = {"sender": "+13175550101", "to": "8005550100", "text": "hello"}


@pytest.fixture(scope="module")
def lab() -> Iterator[LabClient]:
    """The embedded default lab, in a background thread, for this module."""
    runner = LabThread()
    runner.start()
    try:
        yield LabClient(runner.url)
    finally:
        runner.stop()


@pytest.fixture
def client(lab: LabClient) -> LabClient:
    """The lab, reset before the test."""
    lab.reset()
    return lab


def _raw(client: LabClient, method: str, path: str, body: bytes | None) -> tuple[int, dict]:
    request = urllib.request.Request(client.base_url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _error(call) -> LabError:
    with pytest.raises(LabError) as info:
        call()
    return info.value


def test_health_lists_components_roles_farm_and_switchover(client: LabClient) -> None:
    """GET /_smslab/health: every component with its URL, the roles, a healthy active member, the status."""
    health = client.health()
    kinds = [(c["name"], c["kind"]) for c in health["components"]]
    assert kinds == [("kaleyra", "kaleyra"), ("portico", "portico"), ("eztexting", "http-broker"),
                     ("proxy:8080", "proxy"), ("primary", "cic"), ("backup", "cic"), ("control", "control")]
    assert all(c["url"].startswith("http://127.0.0.1:") for c in health["components"])
    assert {n: v["role"] for n, v in health["nodes"].items()} == {"primary": "active", "backup": "backup"}
    [farm] = health["farm"]
    primary_port = health["nodes"]["primary"]["bound_ports"]["8080"]
    healthy = {m["member"]: m["healthy"] for m in farm["members"]}
    assert healthy[f"127.0.0.1:{primary_port}"] is True
    assert farm["incoming_port"] == 8080
    assert health["switchover"]["active"] == "primary"
    assert health["switchover"]["recovery"]["effective"] is True


def test_brokers_lists_the_fakes(client: LabClient) -> None:
    """GET /_smslab/brokers: name, kind and URL of each fake."""
    assert [(b["name"], b["kind"]) for b in client.brokers()] == [
        ("kaleyra", "kaleyra"), ("portico", "portico"), ("eztexting", "http-broker")]


def test_mo_goes_through_the_proxy_to_an_interaction(client: LabClient) -> None:
    """POST .../mo: the fake captures and pushes the MO; the active node routes it (ANI 317 -> Queue)."""
    record = client.mo("kaleyra", **KALEYRA_MO)
    assert (record["kind"], record["from"], record["to"], record["text"]) == ("mo", "+13175550101", "8005550100",
                                                                             "hello")
    found = client.wait_for(client.interactions, lambda i: len(i) == 1, timeout=5)
    assert found[0]["customer"] == "+13175550101"
    assert found[0]["destination"] == {"kind": "Queue", "name": "Indianapolis Support"}
    assert [m["text"] for m in found[0]["transcript"]] == ["hello"]
    assert client.messages("kaleyra", kind="mo", sender="+13175550101")[0]["message_id"] == record["message_id"]
    assert client.messages("kaleyra", kind="mt") == []


def test_send_reaches_the_broker_and_the_dlr_comes_back(client: LabClient) -> None:
    """POST /_smslab/send: the node sends through Kaleyra; the fake captures the MT and its DLR."""
    answer = client.send("+13175550101", "hi back", classification="Local")
    [sent] = answer["requests"]
    assert (sent["broker"], sent["status"], sent["accepted"]) == ("kaleyra", 200, True)
    assert sent["url"].endswith("/a2w_preRouter/httpApiRouter")
    [mt] = client.messages("kaleyra", kind="mt")
    assert (mt["to"], mt["text"], mt["message_id"]) == ("+13175550101", "hi back", sent["message_ids"][0])
    dlrs = client.wait_for(lambda: client.messages("kaleyra", kind="dlr"), lambda d: len(d) == 1, timeout=5)
    assert (dlrs[0]["state"], dlrs[0]["message_id"]) == ("delivered", mt["message_id"])


def test_clear_messages_forgets_a_brokers_captures(client: LabClient) -> None:
    """DELETE .../messages: the count held is answered and nothing is left."""
    client.mo("kaleyra", **KALEYRA_MO)
    assert client.clear_messages("kaleyra") == {"cleared": 1}
    assert client.messages("kaleyra") == []


def test_broker_messages_come_in_pages_and_the_client_reads_them_all(client: LabClient) -> None:
    """limit=1 over two MOs: one record and a next seq, then the other and null; messages() follows next itself."""
    client.clear_messages("kaleyra")
    client.mo("kaleyra", **KALEYRA_MO)
    client.mo("kaleyra", **{**KALEYRA_MO, "text": "again"})
    first, after = client.messages_page("kaleyra", limit=1, kind="mo")
    rest, last = client.messages_page("kaleyra", limit=1, after=after, kind="mo")
    assert ([KALEYRA_MO["text"]], first[0]["seq"], ["again"], None) == (
        [m["text"] for m in first], after, [m["text"] for m in rest], last)
    assert [KALEYRA_MO["text"], "again"] == [m["text"] for m in client.messages("kaleyra", kind="mo")]


def test_unknown_broker_is_404_naming_the_known_ones(client: LabClient) -> None:
    """A broker the lab does not have: 404 with the list of brokers."""
    error = _error(lambda: client.messages("nope"))
    assert (error.status, error.error) == (404, "unknown broker 'nope'; the brokers are eztexting, kaleyra, portico")
    assert _error(lambda: client.mo("nope", **KALEYRA_MO)).status == 404


def test_bad_json_and_bad_fields_are_400_and_store_nothing(client: LabClient) -> None:
    """Bad JSON, a non-object, a missing or unknown field: 400 saying why; nothing captured or sent."""
    status, body = _raw(client, "POST", "/_smslab/brokers/kaleyra/mo", b"{not json")
    assert status == 400
    assert body["error"].startswith("the body is not valid JSON")
    status, body = _raw(client, "POST", "/_smslab/send", b"[1]")
    assert (status, body) == (400, {"error": "the body must be a JSON object (got list)"})
    status, body = _raw(client, "POST", "/_smslab/send", json.dumps({"text": "x"}).encode())
    assert (status, body) == (400, {"error": "'to' must be given"})
    status, body = _raw(client, "POST", "/_smslab/send", json.dumps({"to": "1", "text": "x", "cc": "2"}).encode())
    assert status == 400
    assert body["error"].startswith("unknown field(s) cc; allowed: to, text, from")
    status, body = _raw(client, "POST", "/_smslab/brokers/kaleyra/mo",
                        json.dumps({"from": 1, "to": "2", "text": "x"}).encode())
    assert (status, body) == (400, {"error": "'from' must be strings"})
    assert all(client.messages(b["name"]) == [] for b in client.brokers())
    assert client.interactions() == []


def test_bad_filter_is_the_fakes_400(client: LabClient) -> None:
    """An unknown kind filter is refused by the fake's inspection API, passed on as a 400."""
    error = _error(lambda: client.messages("kaleyra", kind="fax"))
    assert (error.status, error.error) == (400, "'kind' must be one of mt, mo, dlr (got 'fax')")


def test_send_refused_by_the_node_keeps_its_4xx(client: LabClient) -> None:
    """An MT the node's access control refuses answers the node's 403, and no broker gets anything."""
    error = _error(lambda: client.send("+13175550101", "x"))
    assert error.status == 403
    assert "does not permit classification" in error.error
    assert client.messages("kaleyra") == []


def test_fail_checks_node_and_mode(client: LabClient) -> None:
    """An unknown node is 404 naming the nodes; an unknown mode 400 listing the modes."""
    error = _error(lambda: client.fail("third", "kill"))
    assert (error.status, error.error) == (404, "unknown node 'third'; the nodes are primary, backup")
    error = _error(lambda: client.fail("primary", "melt"))
    assert (error.status, error.error) == (
        400, "'mode' must be one of kill, hang, slow, partition, crash-on-mo, isolate (got 'melt')")
    assert client.health()["switchover"]["faults"] == {}


def test_kill_primary_the_conversation_goes_on_then_reset(client: LabClient) -> None:
    """Kill the primary: the backup takes over with the interaction; reset brings the primary back."""
    client.mo("kaleyra", **KALEYRA_MO)
    client.wait_for(client.interactions, lambda i: len(i) == 1, timeout=5)
    answer = client.fail("primary", "kill")
    assert (answer["node"], answer["mode"], answer["switchover"]["faults"]) == ("primary", "kill", {"primary": "kill"})
    client.wait_for(lambda: client.health()["switchover"]["active"] == "backup", timeout=5)
    client.mo("kaleyra", sender="+13175550101", to="8005550100", text="still there?")
    found = client.wait_for(client.interactions, lambda i: len(i) == 1 and len(i[0]["transcript"]) == 2, timeout=5)
    assert [m["text"] for m in found[0]["transcript"]] == ["hello", "still there?"]
    events = [e["event"] for e in client.timeline()]
    assert "fault" in events
    assert "promote" in events
    reset = client.reset()
    assert (reset["restored"], reset["switched_back"], reset["active"]) == (["primary"], True, "primary")
    assert client.interactions() == []


def test_restore_and_manual_switchover(client: LabClient) -> None:
    """A slow backup is restored; a manual switchover makes the backup active and keeps the primary as backup."""
    client.fail("backup", "slow")
    assert client.restore("backup")["switchover"]["faults"] == {}
    client.switchover()
    client.wait_for(lambda: client.health()["switchover"]["roles"] == {"primary": "backup", "backup": "active"},
                    timeout=5)


def test_unknown_route_and_method_are_json(client: LabClient) -> None:
    """An unknown path is a JSON 404 and a wrong method a JSON 405, both pointing at the OpenAPI document."""
    status, body = _raw(client, "GET", "/_smslab/nothing", None)
    assert (status, body) == (404, {"error": "no route GET /_smslab/nothing; see /_smslab/openapi.json"})
    status, body = _raw(client, "PUT", "/_smslab/health", None)
    assert (status, body) == (405, {"error": "PUT is not allowed on /_smslab/health; see /_smslab/openapi.json"})
    assert client.health()["switchover"]["active"] == "primary"


def test_openapi_is_served_with_every_route(client: LabClient) -> None:
    """GET /_smslab/openapi.json names every route the server has, with the lab as its server."""
    doc = client.openapi()
    assert doc["servers"] == [{"url": client.base_url}]
    assert {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops} == {(m, p) for m, p, _ in ROUTES}


def test_interactions_page_filter_and_follow_next_through_the_lab(client: LabClient) -> None:
    """GET /_smslab/interactions passes limit, cursor and filters to the active node and answers its pages."""
    customers = ["+13175550101", "+13175550102", "+13175550103"]
    for n, customer in enumerate(customers, 1):  # one at a time, so that they are created in this order
        client.mo("kaleyra", sender=customer, to="8005550100", text=f"from {customer[-1]}")
        client.wait_for(client.interactions, lambda found, n=n: len(found) == n, timeout=5)
    status, body = _raw(client, "GET", "/_smslab/interactions?limit=2", None)
    assert (200, ["interactions", "next"], customers[:2]) == (status, sorted(body), [i["customer"] for i in body["interactions"]])
    assert ["broker", "created_at", "customer", "deliveries", "destination", "id", "local", "state", "transcript",
            "updated_at"] == sorted(body["interactions"][0])
    rest, following = client.interactions_page(limit=2, cursor=body["next"])
    assert ([customers[2]], None) == ([i["customer"] for i in rest], following)
    everything, following = client.interactions_page()
    assert (customers, None) == ([i["customer"] for i in everything], following)
    [one] = client.interactions(customer="+13175550102")
    assert ("+13175550102", "kaleyra", "active", {"kind": "Queue", "name": "Indianapolis Support"}, ["from 2"]) == (
        one["customer"], one["broker"], one["state"], one["destination"], [e["text"] for e in one["transcript"]])
    assert [] == client.interactions(state="idle")


def test_a_bad_interactions_query_is_the_nodes_400(client: LabClient) -> None:
    """A bad limit, state or cursor is refused by the node and answered as its 400 JSON error."""
    error = _error(lambda: client.interactions_page(limit=0))
    assert (400, "'limit' must be an integer from 1 to 1000 (got '0')") == (error.status, error.error)
    assert (400, {"error": "'state' must be one of active, idle, disconnected (got 'open')"}) == _raw(
        client, "GET", "/_smslab/interactions?state=open", None)
    assert (400, {"error": "'cursor' must be the 'next' of an earlier answer (got 'nope')"}) == _raw(
        client, "GET", "/_smslab/interactions?cursor=nope", None)


# -- bad input never poisons the lab (issue 15) ------------------------------------------------------------


def _post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


JSON = {"Content-Type": "application/json"}
LAB_MO = {"from": "+13175550101", "to": "8005550100", "text": "hello"}


@pytest.mark.parametrize("data", [
    json.dumps(LAB_MO).replace("hello", "x\\ud800").encode(),
    json.dumps({**LAB_MO, "from": ""}).encode(),
    json.dumps({**LAB_MO, "to": ""}).encode(),
    json.dumps({**LAB_MO, "from": "+1317\x005550101"}).encode(),
    json.dumps({**LAB_MO, "to": "800\r\n5550100"}).encode(),
    json.dumps({**LAB_MO, "from": "1" * 200_000}).encode(),
    json.dumps({**LAB_MO, "to": "8" * 200_000}).encode(),
    b"[" * 100_000,
    b'{"from": ' + b"1" * 5000 + b"}",
    json.dumps(LAB_MO).replace('"hello"', "NaN").encode(),
], ids=["surrogate", "empty-from", "empty-to", "nul-from", "crlf-to", "huge-from", "huge-to", "deep",
        "huge-integer", "nan"])
def test_an_mo_the_lab_cannot_take_is_a_400_and_nothing_is_captured(client: LabClient, data: bytes) -> None:
    """POST /_smslab/brokers/{name}/mo: unencodable text, bad numbers, JSON the lab lacks: 400, nothing kept."""
    status, body = _post(client.base_url + "/_smslab/brokers/kaleyra/mo", data, JSON)
    assert (400, True) == (status, "error" in json.loads(body))
    assert [] == client.messages("kaleyra")  # the view still answers, and holds nothing
    assert [] == client.interactions()


def test_the_control_api_requires_json_on_its_posts(client: LabClient) -> None:
    """{} as text/plain or with no Content-Type is a 415 and switches nothing over; a bogus gzip body a 400."""
    for headers in ({"Content-Type": "text/plain"}, {}):
        status, body = _post(client.base_url + "/_smslab/switchover", b"{}", headers)
        assert (415, True) == (status, "application/json" in json.loads(body)["error"])
    status, _ = _post(client.base_url + "/_smslab/reset", b"{}", {**JSON, "Content-Encoding": "gzip"})
    assert 400 == status
    assert "primary" == client.health()["switchover"]["active"]


def _doors(client: LabClient, path: str) -> list[str]:
    """The node's own listener and the proxy in front of it, for ``path``."""
    health = client.health()
    urls = {c["name"]: c["url"] for c in health["components"]}
    port = health["nodes"]["primary"]["bound_ports"]["8080"]
    return [f"http://127.0.0.1:{port}{path}", urls["proxy:8080"] + path]


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EZ_MO = {"PhoneNumber": "3175550123", "ShortCode": "313131", "Message": "hi", "MessageId": "ez-1"}
PORTICO_MO = {"messageId": "p-1", "sender": "+13175550123", "destination": "+18885550199", "message": "hi"}


@pytest.mark.parametrize(("path", "data", "headers"), [
    ("/receivesms.php", urllib.parse.urlencode({**EZ_MO, "PhoneNumber": ""}).encode(), FORM),
    ("/receivesms.php", urllib.parse.urlencode({k: v for k, v in EZ_MO.items() if k != "ShortCode"}).encode(),
     FORM),
    ("/receivesms.php", urllib.parse.urlencode({**EZ_MO, "Message": ""}).encode(), FORM),
    ("/receivesms.php", urllib.parse.urlencode({**EZ_MO, "PhoneNumber": "317\x00555"}).encode(), FORM),
    ("/receivesms.php", urllib.parse.urlencode({**EZ_MO, "ShortCode": "31\r\n31"}).encode(), FORM),
    ("/receivesms.php", urllib.parse.urlencode({**EZ_MO, "PhoneNumber": "3" * 300_000}).encode(), FORM),
    ("/receivesms.php", urllib.parse.urlencode(EZ_MO).encode(), {**FORM, "Content-Encoding": "gzip"}),
    ("/portico/mo", json.dumps(PORTICO_MO).replace('"hi"', '"x\\ud800"').encode(), JSON),
    ("/portico/mo", json.dumps({**PORTICO_MO, "sender": "+1\r\n317"}).encode(), JSON),
    ("/portico/mo", json.dumps({**PORTICO_MO, "messageId": "m" * 200_000}).encode(), JSON),
    ("/portico/mo", b"[" * 100_000, JSON),
], ids=["ez-empty-from", "ez-no-short-code", "ez-empty-message", "ez-nul", "ez-crlf", "ez-huge", "ez-bogus-gzip",
        "portico-surrogate", "portico-crlf", "portico-huge-id", "portico-deep"])
def test_a_push_the_node_cannot_store_is_refused_direct_and_through_the_proxy(client: LabClient, path: str,
                                                                             data: bytes,
                                                                             headers: dict[str, str]) -> None:
    """EzTexting and Portico MOs missing what the broker sends, or holding what cannot be stored: 400 both ways."""
    for url in _doors(client, path):
        status, body = _post(url, data, headers)
        assert 400 == status, (url, body[:200])
    assert [] == client.interactions()


def test_aiohttps_log_of_an_unparsable_request_to_the_lab_is_redacted(client: LabClient,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A request the Kaleyra fake cannot parse is logged without its api-key or Pass= value."""
    url = {c["name"]: c["url"] for c in client.health()["components"]}["kaleyra"]
    host, port = url.removeprefix("http://").split(":")
    for raw in (b"POST /v1/HXAP1/sms HTTP/1.1\r\nHost: x\r\napi-key: k-secret-1\x01\r\n\r\n",
                b"GET /api/sending?User=u&Pass=hunter2\x00 HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(raw)
            assert sock.recv(100).startswith(b"HTTP/1.0 400")
    client.health()  # the lab still serves
    assert caplog.text.count("Error handling request") >= 2
    assert "k-secret-1" not in caplog.text
    assert "hunter2" not in caplog.text


def test_a_record_with_its_wire_comes_through_the_control_api(client: LabClient) -> None:
    """GET /_smslab/brokers/{name}/messages/{seq}: the fake's record and its push as sent; bad seqs refused."""
    record = client.mo("kaleyra", **KALEYRA_MO)
    status, detail = _raw(client, "GET", f"/_smslab/brokers/kaleyra/messages/{record['seq']}", None)
    assert (200, record["message_id"], "POST") == (status, detail["message_id"], detail["wire"]["request"]["method"])
    assert "message=hello" in detail["wire"]["request"]["body"]
    assert (400, {"error": "a record's seq is a whole number (got '1x')"}) == _raw(
        client, "GET", "/_smslab/brokers/kaleyra/messages/1x", None)
    assert (404, {"error": "unknown broker 'nope'; the brokers are eztexting, kaleyra, portico"}) == _raw(
        client, "GET", "/_smslab/brokers/nope/messages/1", None)
    status, missing = _raw(client, "GET", "/_smslab/brokers/kaleyra/messages/999999", None)
    assert (404, "no record 999999 is held (the capture keeps the last 10000)") == (status, missing["error"])
