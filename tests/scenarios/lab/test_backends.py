"""Tests for scenarios.lab.backends: Portico's number webhooks through its own provisioning API, the carrier
models a backend reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakes import registry
from fakes.kaleyra import KaleyraFake
from fakes.kaleyra import read_settings as read_kaleyra
from fakes.portico import PorticoFake
from scenarios.lab.backends import LabStartError, LocalBackend, lab_trust, provision_webhooks
from scenarios.lab.processes import ProcessBackend
from scenarios.lab.spec import PushTarget, default_lab_config, read_lab_spec
from sim.core.errors import ConfigError
from sim.labfile import parse_lab_config
from sim.proxy.config import ProxyConfig

SETTINGS: dict[str, Any] = {"kind": "portico", "clients": [{"id": "cid", "secret": "s3"}],
                            "numbers": [{"number": "18885550199"},
                                        {"number": "18005550123", "mo_url": "http://own.example/mo"}]}
TARGET = PushTarget("portico", "http://127.0.0.1:9/portico/mo", "http://127.0.0.1:9/portico/dr")


@pytest.fixture
async def portico() -> AsyncIterator[tuple[PorticoFake, aiohttp.ClientSession]]:
    """A Portico fake on a real port and a client session."""
    fake = registry.create("portico", "portico", SETTINGS)
    assert isinstance(fake, PorticoFake)
    await fake.start()
    session = aiohttp.ClientSession()
    try:
        yield fake, session
    finally:
        await session.close()
        await fake.stop()


def _details(fake: PorticoFake, number: str) -> dict[str, str]:
    record = fake.model.numbers.active(number, fake.clock.now())
    assert record is not None
    return dict(record.details)


async def test_numbers_get_the_proxy_as_webhooks_unless_they_have_their_own(portico) -> None:
    """Each number's moUrl/drUrl becomes the target; a URL the settings give is kept."""
    fake, session = portico
    assert await provision_webhooks(session, fake.url, SETTINGS, TARGET) == 2
    first, second = _details(fake, "18885550199"), _details(fake, "18005550123")
    assert (first["moUrl"], first["drUrl"]) == (TARGET.mo_url, TARGET.dr_url)
    assert (second["moUrl"], second["drUrl"]) == ("http://own.example/mo", TARGET.dr_url)
    assert list(fake.pusher.attempts) == []  # provisioning pushes nothing


async def test_a_refused_token_is_a_start_error(portico) -> None:
    """Wrong client credentials: LabStartError quoting the fake's answer; no number changed."""
    fake, session = portico
    wrong = {**SETTINGS, "clients": [{"id": "cid", "secret": "nope"}]}
    with pytest.raises(LabStartError, match="refused the lab's token request"):
        await provision_webhooks(session, fake.url, wrong, TARGET)
    assert _details(fake, "18885550199")["moUrl"] == ""


async def test_nothing_to_change_asks_for_no_token(portico) -> None:
    """A target with no URLs changes nothing and needs no token (works with wrong credentials too)."""
    fake, session = portico
    wrong = {**SETTINGS, "clients": [{"id": "cid", "secret": "nope"}]}
    assert await provision_webhooks(session, fake.url, wrong, PushTarget("portico", "", "")) == 0


def test_lab_trust_is_the_system_default_without_tls_and_names_an_unloadable_file(tmp_path: Path) -> None:
    """No component serves HTTPS: True; a certificate file that cannot be loaded: a problem at its key."""
    assert lab_trust(parse_lab_config({"fakes": {"k": {"kind": "kaleyra"}}}), ProxyConfig()) is True
    junk = tmp_path / "junk.pem"  # a file that is there (sim.labfile checks that) but holds no certificate
    junk.write_text("not a certificate", encoding="utf-8")
    config = parse_lab_config({"fakes": {"k": {"kind": "kaleyra", "tls": {"cert": str(junk), "key": str(junk)}}}})
    with pytest.raises(ConfigError) as info:
        lab_trust(config, ProxyConfig())
    [problem] = info.value.problems
    assert (problem.path, problem.value, problem.reason.startswith("cannot be loaded: ")) == (
        "fakes.k.tls.cert", str(junk), True)


def test_a_local_backend_reports_the_carrier_model_of_each_fake_that_has_one() -> None:
    """Only a fake with carriers is listed, under its name, with its model's stats (nothing sent yet)."""
    backend = LocalBackend(read_lab_spec(default_lab_config()))
    carriers = [{"name": "us", "match": ["+1"], "rates": {"long_code": 10}}]
    backend.fakes = {"with": KaleyraFake("with", read_kaleyra({"carriers": carriers})),
                     "without": KaleyraFake("without", read_kaleyra({}))}
    stats = backend.carrier_stats()
    assert ["with"] == list(stats)
    assert {} == stats["with"]["counts"]
    assert [] == stats["with"]["queues"]


async def test_a_process_backend_reports_no_carrier_model_of_its_own() -> None:
    """A child fake's carrier model lives in the child (its health shows it): the backend lists none."""
    backend = ProcessBackend(read_lab_spec(default_lab_config()))
    try:
        assert {} == backend.carrier_stats()
    finally:
        await backend.stop()  # nothing started: removes its directory of derived files
    assert not backend.dir.exists()
