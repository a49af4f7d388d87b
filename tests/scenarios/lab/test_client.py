"""Tests for scenarios.lab.client: each route's method, path, query and body on the wire, and LabError."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scenarios.lab.client import LabClient, LabError, WaitTimeout, lab_url


class Recorder(BaseHTTPRequestHandler):
    """Records each request and answers with the next scripted (status, body)."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, json.loads(raw) if raw else None,
                                 self.headers.get("Content-Type")))
        status, body = self.server.answers.pop(0) if self.server.answers else (200, {})
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen, httpd.answers = [], []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def client(server):
    return LabClient(f"http://127.0.0.1:{server.server_address[1]}/", timeout=5)


def test_every_route_sends_its_method_path_and_body(server, client):
    """Each method maps to one control route, with the JSON body the contract names."""
    server.answers = [(200, {"brokers": [{"name": "k"}]}), (200, {"messages": [{"seq": 1}]}), (200, {}),
                      (202, {"seq": 2}), (202, {"correlation": "c"}), (200, {"interactions": []}),
                      (200, {}), (200, {}), (200, {}), (200, {}), (200, {"timeline": [{"event": "x"}]}),
                      (200, {"openapi": "3.1.0"}), (200, {"nodes": {}}), (200, {"received": [{"kind": "mo"}]})]
    assert [{"name": "k"}] == client.brokers()
    assert [{"seq": 1}] == client.messages("kaleyra", kind="mt", to="+1 317", sender="")
    client.clear_messages("kaleyra")
    assert {"seq": 2} == client.mo("kaleyra", sender="+13175550101", to="8005550100", text="hé")
    client.send("+13175550101", "hi", classification="Local", interaction_id="i-1")
    assert [] == client.interactions()
    client.fail("primary", "kill")
    client.restore("primary")
    client.switchover()
    client.reset()
    assert [{"event": "x"}] == client.timeline()
    assert {"openapi": "3.1.0"} == client.openapi()
    assert {"nodes": {}} == client.health()
    assert [{"kind": "mo"}] == client.received("backup", "mo")
    assert [
        ("GET", "/_smslab/brokers", None, None),
        ("GET", "/_smslab/brokers/kaleyra/messages?kind=mt&to=%2B1+317", None, None),
        ("DELETE", "/_smslab/brokers/kaleyra/messages", None, None),
        ("POST", "/_smslab/brokers/kaleyra/mo", {"from": "+13175550101", "to": "8005550100", "text": "hé"},
         "application/json"),
        ("POST", "/_smslab/send", {"to": "+13175550101", "text": "hi", "classification": "Local",
                                   "interaction_id": "i-1"}, "application/json"),
        ("GET", "/_smslab/interactions", None, None),
        ("POST", "/_smslab/nodes/primary/fail", {"mode": "kill"}, "application/json"),
        ("POST", "/_smslab/nodes/primary/restore", {}, "application/json"),
        ("POST", "/_smslab/switchover", {}, "application/json"),
        ("POST", "/_smslab/reset", {}, "application/json"),
        ("GET", "/_smslab/timeline", None, None),
        ("GET", "/_smslab/openapi.json", None, None),
        ("GET", "/_smslab/health", None, None),
        ("GET", "/_smslab/nodes/backup/received?kind=mo", None, None),
    ] == server.seen


def test_an_error_answer_raises_lab_error_with_the_json_error(server, client):
    """A 4xx answer raises LabError carrying the status, the decoded body and its error text."""
    server.answers = [(403, {"error": "classification 'Local' is not permitted"})]
    with pytest.raises(LabError) as caught:
        client.send("+447700900123", "hi")
    exc = caught.value
    assert (403, {"error": "classification 'Local' is not permitted"}, "POST") == (exc.status, exc.body, exc.method)
    assert "classification 'Local' is not permitted" == exc.error
    assert str(exc).endswith("/_smslab/send -> 403: classification 'Local' is not permitted")


def test_a_non_json_error_keeps_its_text(server, client):
    """A 502 with a plain-text body is a LabError whose error is that text."""
    server.answers = [(502, "Bad Gateway")]
    with pytest.raises(LabError) as caught:
        client.health()
    assert (502, "Bad Gateway") == (caught.value.status, caught.value.error)


def test_an_unreachable_lab_is_status_0():
    """Nothing listening: LabError with status 0 saying the lab cannot be reached."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LabError) as caught:
        LabClient(f"http://127.0.0.1:{port}", timeout=2).health()
    assert 0 == caught.value.status
    assert caught.value.error.startswith("cannot reach the lab:")


def test_wait_for_returns_the_value_that_satisfies_the_predicate():
    """wait_for polls until the predicate holds and returns that value; errors count as not yet."""
    values = iter([LabError(503, {"error": "switching"}), [], [1], [1, 2]])

    def fetch():
        value = next(values)
        if isinstance(value, Exception):
            raise value
        return value

    assert [1, 2] == LabClient("http://127.0.0.1:1").wait_for(fetch, lambda v: len(v) == 2, timeout=5, interval=0.001)


def test_wait_for_without_predicate_polls_for_truth():
    """With no predicate, fetch itself is the condition."""
    values = iter([0, "", "yes"])
    assert "yes" == LabClient("http://127.0.0.1:1").wait_for(lambda: next(values), timeout=5, interval=0.001)


def test_wait_for_times_out_with_the_last_value_and_error():
    """When time runs out, WaitTimeout names the timeout and the last error, and carries the last value."""
    def fetch():
        raise LabError(503, {"error": "no node is active"}, "GET", "http://lab/_smslab/interactions")

    with pytest.raises(WaitTimeout) as caught:
        LabClient("http://127.0.0.1:1").wait_for(fetch, bool, timeout=0.05, interval=0.01)
    assert str(caught.value).startswith("condition not met within 0.05s; last error: GET http://lab")
    assert caught.value.last is None


def test_interactions_follow_next_to_the_last_page_with_the_same_filters(server, client):
    """interactions() asks page after page, cursor and filters in each query, and returns them all in order."""
    server.answers = [(200, {"interactions": [{"id": "a"}, {"id": "b"}], "next": "c1"}),
                      (200, {"interactions": [{"id": "c"}], "next": "c2"}),
                      (200, {"interactions": [], "next": None})]
    assert [{"id": "a"}, {"id": "b"}, {"id": "c"}] == client.interactions(customer="+13175550101", state="idle",
                                                                          since=12.5)
    assert [
        ("GET", "/_smslab/interactions?customer=%2B13175550101&state=idle&since=12.5", None, None),
        ("GET", "/_smslab/interactions?cursor=c1&customer=%2B13175550101&state=idle&since=12.5", None, None),
        ("GET", "/_smslab/interactions?cursor=c2&customer=%2B13175550101&state=idle&since=12.5", None, None),
    ] == server.seen


def test_interactions_page_answers_one_page_and_its_next(server, client):
    """interactions_page() sends limit and cursor as given and returns (items, next); an answer without next is a last page."""
    server.answers = [(200, {"interactions": [{"id": "a"}], "next": "c1"}), (200, {"interactions": [], "next": None}),
                      (200, {"interactions": [{"id": "z"}]})]
    assert ([{"id": "a"}], "c1") == client.interactions_page(limit=1)
    assert ([], None) == client.interactions_page(limit=1, cursor="c1", state="active")
    assert ([{"id": "z"}], None) == client.interactions_page()
    assert [("GET", "/_smslab/interactions?limit=1", None, None),
            ("GET", "/_smslab/interactions?limit=1&cursor=c1&state=active", None, None),
            ("GET", "/_smslab/interactions", None, None)] == server.seen


def test_a_refused_page_raises_the_labs_400(server, client):
    """A bad parameter's 400 is a LabError carrying the node's sentence."""
    server.answers = [(400, {"error": "'limit' must be an integer from 1 to 1000 (got '0')"})]
    with pytest.raises(LabError) as caught:
        client.interactions_page(limit=0)
    assert (400, "'limit' must be an integer from 1 to 1000 (got '0')") == (caught.value.status, caught.value.error)


@pytest.mark.parametrize("suffix", ["", "/", "/_smslab", "/_smslab/"])
def test_either_url_form_reaches_the_same_route(server, suffix):
    """The lab's URL and the control API's URL as `smslab up` prints it both reach /_smslab/health."""
    base = f"http://127.0.0.1:{server.server_address[1]}"
    LabClient(base + suffix, timeout=5).health()
    assert [path for _, path, _, _ in server.seen] == ["/_smslab/health"]
    assert lab_url(base + suffix) == base
