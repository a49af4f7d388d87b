"""A small SMS gateway in its own process, standard library only: the fast external member of the tests.

It stands where Kannel stands in ``scenarios/examples/kannel-lab.yaml``, with the same three sides: an SMS
port that takes the broker's MO and DR pushes (through the proxy) and answers the proxy's health test, a
send port whose ``GET /send?to=&text=&from=`` sends an MT to a Kaleyra gateway (DirectTEXT parameters,
Basic auth), and callbacks to the lab's sink: ``<sink>/mo?from=&to=&text=`` for each MO,
``<sink>/dlr?id=&status=`` for each DR. ``--slow`` makes the send port answer after that many seconds; ``--garbage`` makes it
answer a 200 whose body is not what a send answers.

    python tests/support/mini_gateway.py --sms-port P --send-port Q --sink URL --gateway URL --login u:p
"""

from __future__ import annotations

import argparse
import base64
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["main"]


def _handler(args: argparse.Namespace, kind_of: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet: the lab keeps the output in a file
            return

        def _fields(self) -> dict[str, str]:
            query = urllib.parse.urlsplit(self.path).query
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            return dict(urllib.parse.parse_qsl(query) + urllib.parse.parse_qsl(body))

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            fields = self._fields()
            if self.server.server_address[1] == args.send_port:
                self._send(fields)
                return
            if "healthcheckignore" in fields:
                self._answer(200, "OK")
                return
            kind = kind_of.get(path, "other")
            _get(f"{args.sink}/{kind}?{urllib.parse.urlencode(_callback(kind, fields))}")
            self._answer(200, "OK")

        def _send(self, fields: dict[str, str]) -> None:
            if args.slow:
                time.sleep(args.slow)
            if args.garbage:
                self._answer(200, "\x00not a send answer")
                return
            params = urllib.parse.urlencode({"reply_to": fields.get("from", ""),
                                             "recipient": fields.get("to", ""), "body": fields.get("text", "")})
            request = urllib.request.Request(f"{args.gateway}?{params}", headers={
                "Authorization": "Basic " + base64.b64encode(args.login.encode()).decode()})
            with urllib.request.urlopen(request, timeout=5) as resp:
                self._answer(200, resp.read().decode())

    return Handler


def _callback(kind: str, fields: dict[str, str]) -> dict[str, str]:
    """What the gateway tells the lab's sink: an MO's from, to and text; a DR's message id and status."""
    if kind == "mo":
        return {"from": fields.get("device_address", ""), "to": fields.get("inbound_address", ""),
                "text": fields.get("message", "")}
    if kind == "dlr":
        return {"id": fields.get("message_id", ""), "status": fields.get("status", "")}
    return fields


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=5) as resp:
        resp.read()


def main(argv: list[str] | None = None) -> None:
    """Serve both ports until killed."""
    p = argparse.ArgumentParser()
    p.add_argument("--sms-port", type=int, required=True)
    p.add_argument("--send-port", type=int, required=True)
    p.add_argument("--sink", required=True)
    p.add_argument("--gateway", required=True)
    p.add_argument("--login", default="smslab:secret")
    p.add_argument("--mo-path", default="/kaleyra/mo")
    p.add_argument("--dr-path", default="/kaleyra/dr")
    p.add_argument("--slow", type=float, default=0.0)
    p.add_argument("--garbage", action="store_true")
    args = p.parse_args(argv)
    kind_of = {args.mo_path: "mo", args.dr_path: "dlr"}
    handler = _handler(args, kind_of)
    servers = [ThreadingHTTPServer(("127.0.0.1", port), handler) for port in (args.sms_port, args.send_port)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
