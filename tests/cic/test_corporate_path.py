"""The node's MT path through the lab's real corporate HTTP proxy (mitmproxy with proxy auth, own process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nodekit import config, fake, kaleyra, running

from sim.cic.corpproxy import CorporateProxy, proxy_authorization

LOGIN, PASSWORD = "cicproxy", "corp-pass"
FAKE = {"accounts": [{"username": "smslab", "password": "secret"}], "dlr": {"enabled": False}}


@pytest.fixture(scope="module")
def corp() -> Iterator[CorporateProxy]:
    proxy = CorporateProxy(LOGIN, PASSWORD)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.parametrize("password", [PASSWORD, "wrong"])
async def test_an_agent_send_goes_through_the_corporate_proxy_with_its_credentials(
        corp: CorporateProxy, password: str) -> None:
    """With the Proxy tab's login the MT reaches the broker via mitmproxy; a wrong one gets 407 and no MT."""
    corp.clear()
    right = password == PASSWORD
    async with fake("kaleyra", "k", FAKE) as broker, running(config(kaleyra(
            gateway=broker.url, proxy={"address": corp.address, "login": LOGIN, "password": password}),
            route_to=("kaleyra", "main"))) as node:
        [request] = (await node.records.send("3175550123", "through the proxy", classification="Local"))["requests"]
        assert ((200, True) if right else (407, False)) == (request["status"], request["accepted"])
        captured = broker.capture.query(kind="mt")
        assert ([("+13175550123", "through the proxy")] if right else []) == [
            (m.recipient, m.text) for m in captured]
        [seen] = corp.wait_records(1)
        assert (seen["method"], seen["url"]) == ("POST", broker.url + "/a2w_preRouter/httpApiRouter")
        assert seen["status"] == (200 if right else 407)
        if not right:
            assert any("407" in entry["message"] for entry in node.log)
    assert proxy_authorization(LOGIN, PASSWORD).startswith("Basic ")
