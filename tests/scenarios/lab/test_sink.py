"""Tests for scenarios.lab.sink: the capture sink of the external members' callbacks."""

from __future__ import annotations

import aiohttp

from scenarios.lab import sink as sink_module
from scenarios.lab.sink import Sink


async def test_query_and_form_fields_are_kept_per_member_and_kind() -> None:
    """A GET's query and a POST's form land as fields, by member and kind, answered 200 OK."""
    sink = Sink()
    url = await sink.start("127.0.0.1")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/primary/mo?from=%2B1317&text=hi%20there") as resp:
                assert (resp.status, await resp.text()) == (200, "OK")
            async with session.post(f"{url}/backup/dlr?type=1", data={"id": "m-1"}) as resp:
                assert resp.status == 200
        assert [(r["kind"], r["method"], r["fields"]) for r in sink.received("primary")] == [
            ("mo", "GET", {"from": "+1317", "text": "hi there"})]
        assert [r["fields"] for r in sink.received("backup", "dlr")] == [{"type": "1", "id": "m-1"}]
        assert sink.received("backup", "mo") == []
        sink.clear()
        assert sink.received("primary") == []
    finally:
        await sink.stop()


async def test_the_sink_is_bounded(monkeypatch: object) -> None:
    """It keeps at most SINK_LIMIT records, forgetting the oldest first."""
    assert Sink().records.maxlen == sink_module.SINK_LIMIT
