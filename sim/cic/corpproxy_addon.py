"""The corporate HTTP proxy's own process: mitmproxy in regular (forward) mode with proxy authentication.

Issue 4 §1: a broker's Proxy tab sends MT traffic through a corporate HTTP proxy with
``Proxy-Authorization: Basic``; the lab runs a real one. mitmproxy 11 is embedded the only way it allows:
one master per process, constructed inside the running loop, addon options set after
construction, ``listen_host`` 127.0.0.1, ``listen_port`` 0 read back from ``proxyserver.listen_addrs()``.
HTTPS gateways are tunnelled untouched (``ignore_hosts``: every host), as a corporate proxy that does not
inspect TLS would, so the node still verifies the broker's own certificate; ``connection_strategy`` eager
makes a CONNECT to an unreachable gateway fail at once (502) instead of after the tunnel opened.

``Recorder`` appends one JSON line per proxied request or CONNECT to a file the parent reads.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import Any, TextIO

from mitmproxy import http
from mitmproxy.options import Options
from mitmproxy.tools.dump import DumpMaster

__all__ = ["Recorder", "serve"]


class Recorder:
    """A mitmproxy addon writing one JSON line per flow: method, URL, proxy auth, status, forwarded.

    Args:
        out: the open record file (line-buffered).
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _write(self, flow: http.HTTPFlow, status: int | None, forwarded: bool, error: str = "") -> None:
        # The proxyauth addon runs first: it stores the accepted (user, password) in the flow's metadata
        # and removes the header; a wrong or missing credential leaves the header as sent.
        accepted = flow.metadata.get("proxyauth")
        record: dict[str, Any] = {
            "at": time.time(), "method": flow.request.method, "url": flow.request.pretty_url,
            "auth_present": accepted is not None or "Proxy-Authorization" in flow.request.headers,
            "auth_ok": accepted is not None, "user": accepted[0] if accepted else "",
            "status": status, "forwarded": forwarded, "error": error,
        }
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def response(self, flow: http.HTTPFlow) -> None:
        """A plain-HTTP request answered: by the gateway (forwarded) or by the proxy itself (407)."""
        assert flow.response is not None
        self._write(flow, flow.response.status_code, flow.server_conn.timestamp_start is not None)

    def error(self, flow: http.HTTPFlow) -> None:
        """A plain-HTTP request that failed (the gateway refused, reset or timed out)."""
        self._write(flow, None, False, str(flow.error or ""))

    def http_connected(self, flow: http.HTTPFlow) -> None:
        """A CONNECT tunnel to an HTTPS gateway opened."""
        self._write(flow, 200, True)

    def http_connect_error(self, flow: http.HTTPFlow) -> None:
        """A CONNECT refused (407 without the right credentials) or failed (the gateway is unreachable)."""
        status = flow.response.status_code if flow.response is not None else None
        self._write(flow, status, False, str(flow.error or ""))


async def serve(login: str, password: str, host: str, record: str, *, confdir: str,
                out: TextIO | None = None) -> int:
    """Run the proxy until SIGINT/SIGTERM; print ``{"url": ...}`` once it listens.

    Args:
        login: the user the proxy accepts.
        password: its password.
        host: the address to listen on.
        record: the file each flow's JSON line is appended to.
        confdir: mitmproxy's configuration directory (its CA is generated there, not in the home folder).
        out: where the JSON line goes (stdout by default).
    """
    out = out or sys.stdout
    options = Options(listen_host=host, listen_port=0, mode=["regular"], confdir=confdir)
    master = DumpMaster(options, with_termlog=False, with_dumper=False)
    # Addon options cannot be passed to Options(...) (KeyError: Unknown options): set them once the master
    # exists.
    master.options.update(  # type: ignore[no-untyped-call]
        proxyauth=f"{login}:{password}", ignore_hosts=[".*"], connection_strategy="eager")
    with open(record, "a", encoding="utf-8", buffering=1) as sink:
        master.addons.add(Recorder(sink))  # type: ignore[no-untyped-call]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, master.shutdown)
        task = asyncio.create_task(master.run())
        server = master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        while not (addresses := server.listen_addrs()):
            if task.done():
                return 1  # run() ended before listening: mitmproxy reported why on stderr
            await asyncio.sleep(0.02)
        bound = addresses[0]
        out.write(json.dumps({"url": f"http://{bound[0]}:{bound[1]}"}) + "\n")
        out.flush()
        await task
    return 0
