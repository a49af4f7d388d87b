"""The capture sink of a lab's external members: where their MO and DLR callbacks land.

An external member (``scenarios.lab.external``) is told ``{sink}``, the sink's URL for it, and points its
callbacks at ``{sink}/<kind>`` (``mo``, ``dlr``, or any other word): every request there is kept, bounded,
with its query and form fields, and answered ``200 OK`` at once, so a gateway never retries into it. The
control API lists them (``GET /_smslab/nodes/{name}/received``), as a fake's capture lists what it got.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from aiohttp import web

__all__ = ["SINK_LIMIT", "Sink"]

SINK_LIMIT = 10000  # records the sink keeps per lab (oldest forgotten first), as a fake's capture is bounded


class Sink:
    """The capture sink of the external members' callbacks: ``ANY /{member}/{kind}``, kept with its fields."""

    def __init__(self) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=SINK_LIMIT)
        self.url = ""
        self._seq = 0
        self._runner: web.AppRunner | None = None

    async def start(self, host: str) -> str:
        """Listen on ``host``, port 0; returns the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{member}/{kind}", self._capture)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, 0).start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def _capture(self, request: web.Request) -> web.StreamResponse:
        fields = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            fields.update({k: str(v) for k, v in (await request.post()).items()})
        self._seq += 1
        self.records.append({"seq": self._seq, "member": request.match_info["member"],
                             "kind": request.match_info["kind"], "at": time.time(), "method": request.method,
                             "fields": fields})
        return web.Response(text="OK")

    def received(self, member: str, kind: str = "") -> list[dict[str, Any]]:
        """What reached ``member``'s sink (of ``kind`` when given), oldest first."""
        return [r for r in self.records if r["member"] == member and (not kind or r["kind"] == kind)]

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
