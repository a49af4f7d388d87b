"""Tests for fakes.common.carrier: the carrier model behind the live fakes, on a manual clock."""

from __future__ import annotations

import asyncio
import base64
import math
import random
from typing import Any

import pytest
import simpy
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from strategies import GSM_BASIC, GSM_EXTENSION, astral, bmp_non_gsm

from fakes.common import ManualClock
from fakes.common.carrier import LiveCarrier, parts_of
from fakes.httpdef import HttpDefFake, read_fake
from fakes.kaleyra import HTTP_API_PATH, KaleyraFake
from fakes.kaleyra import read_settings as read_kaleyra
from fakes.portico import PorticoFake
from fakes.portico import read_settings as read_portico
from sim.carrier.distributions import ExponentialDelay, FixedDelay, LogNormalDelay
from sim.carrier.model import CarrierNetwork, Mt
from sim.carrier.population import PopulationSettings
from sim.carrier.settings import CarrierSettings, Outcome, Reachability, SenderType, Service
from sim.core.errors import ConfigError, SegmentationError
from sim.core.segmentation import ParsingMode, segment
from sim.core.types import DeliveryState

START = 1_700_000_000.0
UK = "+447700900123"
KALEYRA_AUTH = {"Authorization": "Basic " + base64.b64encode(b"acme:s3cret").decode()}


def uk(**changes: Any) -> dict[str, Any]:
    """A carriers entry for +44: 2 s to the handset, 0.5 s back, 1000/s unless changed."""
    return {"name": "uk", "match": ["+44"], "rates": dict.fromkeys([t.value for t in SenderType], 1000),
            "latency": {"distribution": "fixed", "seconds": 2}, "dlr_latency": {"seconds": 0.5}, **changes}


class Sink:
    """A loopback customer endpoint keeping each push's path and form fields."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((request.path, dict(await request.post())))
        return web.Response(text="OK")


@pytest.fixture
async def sink(aiohttp_server: Any) -> tuple[Sink, str]:
    receiver = Sink()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = await aiohttp_server(app)
    return receiver, str(server.make_url("")).rstrip("/")


async def until(condition: Any) -> None:
    """Wait for loopback I/O (not simulated time); fail after 5 s."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), 5.0)


async def test_the_model_runs_on_the_fake_clock_scaled_by_time_scale() -> None:
    """At time_scale 0.1 a 2 s + 0.5 s carrier path delivers its DLR 0.25 s of wall time after submit."""
    clock = ManualClock(START)
    got: list[tuple[float, Any, DeliveryState]] = []
    carrier = CarrierSettings("uk", ("+44",), rates=dict.fromkeys(SenderType, 1000.0), latency=FixedDelay(2.0),
                              dlr_latency=FixedDelay(0.5))
    live = LiveCarrier(clock, [carrier], random.Random(1), 0.1,
                       lambda context, state, code: got.append((clock.now(), context, state)))
    live.start()
    await clock.advance(1.0)
    assert live.submit("m1", UK, "+14155550100", 1, "ctx") .value == "accepted"
    await clock.advance(0.2)
    assert got == []
    await clock.advance(0.051)
    assert [(round(at - START, 3), context, state) for at, context, state in got] == [
        (1.251, "ctx", DeliveryState.DELIVERED)]
    assert live.stats()["counts"]["delivered"] == 1


# A carrier where every draw matters: exponential service at a cap, log-normal latency, offline handsets
# retried, weighted outcomes, exponential DLR latency.
BUSY = CarrierSettings("uk", ("+44",), rates=dict.fromkeys(SenderType, 4.0), service=Service.EXPONENTIAL,
                       latency=LogNormalDelay(2.0, 0.8), dlr_latency=ExponentialDelay(0.7),
                       reachability=Reachability(offline=0.3, retry=(3.0, 7.0), validity=30.0),
                       outcomes=(Outcome(DeliveryState.DELIVERED, 0.8), Outcome(DeliveryState.FAILED, 0.2, "x")))
#: (simulated second, parts) of each MT: several in one instant, bursts over the cap, long messages.
SUBMITS = [(0.25 * (n // 3) + 0.25 * (n % 7 == 0), 1 + (n % 5 == 0) * 2) for n in range(120)]


async def _live_dlrs(scale: float) -> list[tuple[float, str, DeliveryState, str]]:
    clock = ManualClock(START)
    handed: list[tuple[str, DeliveryState, str]] = []
    live = LiveCarrier(clock, [BUSY], random.Random(5), scale,
                       lambda mt_id, state, code: handed.append((mt_id, state, code)))
    got: list[tuple[float, str, DeliveryState, str]] = []
    model_dlr = live.network.on_dlr
    assert model_dlr is not None

    def at_sim_time(mt: Mt, state: DeliveryState, code: str) -> None:  # the model's own, at its time
        got.append((live.env.now, mt.id, state, code))
        model_dlr(mt, state, code)
    live.network.on_dlr = at_sim_time
    live.start()
    for n, (at, parts) in enumerate(SUBMITS):
        await clock.advance(START + at * scale - clock.now(), turns=1)
        live.submit(f"m{n}", UK, "+14155550100", parts, f"m{n}")
    while len(handed) < len(SUBMITS):
        await clock.advance(1.0 * scale, turns=1)
    assert [rest for _, *rest in got] == [list(h) for h in handed]  # handed on in the model's order
    return got


def _offline_dlrs() -> list[tuple[float, str, DeliveryState, str]]:
    env = simpy.Environment()
    got: list[tuple[float, str, DeliveryState, str]] = []
    net = CarrierNetwork(env, [BUSY], random.Random(5), lambda mt, state, code: got.append(
        (env.now, mt.id, state, code)))

    def submits() -> Any:
        for n, (at, parts) in enumerate(SUBMITS):
            if at > env.now:
                yield env.timeout(at - env.now)
            net.submit(Mt(f"m{n}", UK, "+14155550100", parts))
    env.process(submits())
    env.run()
    return got


# Scales that are powers of two, so every submission's wall time, and so its simulated time, is exact.
@pytest.mark.parametrize("scale", [0.125, 2**-7])
async def test_the_live_model_gives_the_offline_models_dlrs_for_the_same_seed(scale: float) -> None:
    """Stepped from a fake's clock, a seed gives the DLRs, outcomes and simulated times of the offline run."""
    live, offline = await _live_dlrs(scale), _offline_dlrs()
    assert len({state for _, _, state, _ in offline}) == 3  # delivered, failed and expired all occur
    assert [(pytest.approx(at, abs=1e-9), *rest) for at, *rest in offline] == live


async def test_moving_the_live_model_to_now_leaves_no_event_behind() -> None:
    """A request moves simulated time to its arrival and schedules nothing of its own: no timer to re-arm."""
    clock = ManualClock(START)
    live = LiveCarrier(clock, [BUSY], random.Random(5), 0.1, lambda *a: None)
    live.start()
    await clock.advance(1.0)
    assert 10.0 == live.stats()["sim_time"]
    assert math.inf == live.env.peek()


async def test_dlrs_due_by_a_request_are_handed_on_together_after_it() -> None:
    """DLRs the environment passes while serving a request reach the fake in one later loop callback."""
    clock = ManualClock(START)
    handed: list[str] = []
    instant = CarrierSettings("uk", ("+44",), rates=dict.fromkeys(SenderType, 1000.0), latency=FixedDelay(0.0),
                              dlr_latency=FixedDelay(0.0))
    live = LiveCarrier(clock, [instant], random.Random(5), 0.1, lambda mt_id, *_: handed.append(mt_id))
    live.start()
    live.submit("m1", UK, "+14155550100", 1, "m1")
    live.submit("m2", UK, "+14155550100", 1, "m2")
    await clock.advance(0.01, turns=0)
    live.submit("m3", UK, "+14155550100", 1, "m3")  # steps m1's and m2's DLRs: they wait for the callback
    assert ([], 2) == (handed, live.network.stats.counts["delivered"])
    await asyncio.sleep(0)
    assert ["m1", "m2"] == handed


def test_a_live_model_needs_time_to_move() -> None:
    """time_scale 0 cannot drive simulated time, so it is refused, in the settings as in the class."""
    with pytest.raises(ValueError, match="time_scale above 0"):
        LiveCarrier(ManualClock(), [], random.Random(1), 0.0, lambda *a: None)
    with pytest.raises(ConfigError) as error:
        read_kaleyra({"time_scale": 0, "carriers": [uk()], "populations": []}, "fakes.k1")
    assert [p.path for p in error.value.problems] == ["fakes.k1.time_scale"]


def test_carriers_problems_carry_the_fakes_path() -> None:
    """A bad carriers entry inside a fake's settings is reported under fakes.<name>.carriers[...]."""
    with pytest.raises(ConfigError) as error:
        read_kaleyra({"carriers": [uk(rates={"long_code": -1})], "populations": [{"name": "p", "to": "1"}]},
                     "fakes.k1")
    assert [p.path for p in error.value.problems] == ["fakes.k1.carriers[0].rates.long_code"]


def test_parts_counts_the_segments_a_carrier_delivers() -> None:
    """One part for a short text, three for 400 GSM-7 characters, one past what segmentation can split."""
    assert (parts_of("hi"), parts_of("a" * 400), parts_of("a" * 153 * 300)) == (1, 3, 1)


def _segments(text: str) -> int:
    try:
        return len(segment(text, ParsingMode.SPLIT).segments)
    except SegmentationError:
        return 1


@given(st.one_of(st.text(max_size=80), st.text(st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=90),
                 st.text(st.one_of(astral, bmp_non_gsm), max_size=45)))
def test_parts_of_a_short_text_is_what_segmentation_says(text: str) -> None:
    """The shortcut for short texts gives segmentation's own count, whatever the alphabet."""
    assert _segments(text) == parts_of(text)


def _kaleyra(sink_url: str, **extra: Any) -> KaleyraFake:
    settings = read_kaleyra({"accounts": [{"username": "acme", "password": "s3cret"}], "message_ids": "counter",
                             "dr_url": f"{sink_url}/dr", "mo_url": f"{sink_url}/mo", "time_scale": 0.01,
                             **extra}, "fakes.k1")
    return KaleyraFake("k1", settings, clock=ManualClock(START))


async def test_kaleyra_dlrs_come_from_the_carrier_model(aiohttp_client: Any, sink: tuple[Sink, str]) -> None:
    """With carriers, a +44 MT's DR arrives after the carrier's path and carries its outcome (a trigger)."""
    receiver, base = sink
    fake = _kaleyra(base, carriers=[uk(triggers=[{"pattern": "999$", "state": "failed", "code": "x"}])])
    client = await aiohttp_client(fake.app())
    reply = await client.post(HTTP_API_PATH, headers=KALEYRA_AUTH, data=[
        ("reply_to", "55555"), ("recipient", UK), ("recipient", "+447700900999"), ("body", "hello")])
    assert "<code>100</code>" in await reply.text()
    await fake.clock.advance(0.02)  # type: ignore[attr-defined]
    assert receiver.got == []  # 2.5 simulated seconds are 25 ms here
    await fake.clock.advance(0.006)  # type: ignore[attr-defined]
    await until(lambda: len(receiver.got) == 2)
    assert sorted((f["device_address"], f["status"]) for _, f in receiver.got) == [
        ("+447700900123", "Carrier Success"), ("+447700900999", "Carrier Failure")]
    health = await (await client.get("/_smslab/health")).json()
    assert (health["carrier"]["counts"]["delivered"], health["carrier"]["counts"]["failed"]) == (1, 1)


async def test_kaleyra_answers_a_throttling_carrier_with_its_own_code(aiohttp_client: Any,
                                                                     sink: tuple[Sink, str]) -> None:
    """Over a throttling carrier's cap Kaleyra answers code 429 and captures nothing of the request."""
    _, base = sink
    fake = _kaleyra(base, carriers=[uk(rates={"short_code": 2}, over_cap="throttle", burst=1)])
    client = await aiohttp_client(fake.app())
    codes = []
    for _ in range(4):
        reply = await client.post(HTTP_API_PATH, headers=KALEYRA_AUTH,
                                  data={"reply_to": "55555", "recipient": UK, "body": "hi"})
        codes.append((reply.status, (await reply.text()).split("<code>")[1].split("</code>")[0]))
    assert codes == [(200, "100")] * 3 + [(429, "429")]
    assert len(fake.capture.query(kind="mt")) == 3


async def test_portico_answers_a_throttling_carrier_with_its_429(aiohttp_client: Any) -> None:
    """Portico's 429 for a carrier over its cap is the platform's ErrorBody with the rate-limit headers."""
    common, portico = read_portico({
        "time_scale": 0.01, "clients": [{"id": "nexus", "secret": "s3cret"}],
        "numbers": [{"number": "18445551212"}],
        "carriers": [uk(rates={"toll_free": 1}, over_cap="throttle", burst=1)]}, "fakes.portico")
    fake = PorticoFake("portico", common, portico, clock=ManualClock(START))
    client = await aiohttp_client(fake.app())
    auth = {"Authorization": "Basic " + base64.b64encode(b"nexus:s3cret").decode()}
    token = await (await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                     headers=auth)).json()
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    body = {"sender": "+18445551212", "destination": UK, "message": "hi"}
    replies = [await client.post("/api/v2/messaging/sms", json=body, headers=bearer) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 429]
    throttled = replies[2]
    error = await throttled.json()
    assert (error["code"], error["status"], throttled.headers["Retry-After"],
            throttled.headers["inin-ratelimit-count"]) == ("too.many.requests", 429, "1", "3")
    assert len(fake.capture.query(kind="mt")) == 2


async def test_an_http_broker_answers_a_throttling_carrier_as_its_definition_says(aiohttp_client: Any) -> None:
    """EzTexting answers a throttled MT with its bare '-10', as for its own rate limit, and keeps nothing."""
    common, own = read_fake("eztexting", {
        "accounts": [{"id": "a1", "login": "u", "password": "p"}], "time_scale": 0.01,
        "carriers": [{**uk(rates={"long_code": 1}, over_cap="throttle", burst=0), "match": ["555"]}]},
        "fakes.eztexting")
    fake = HttpDefFake("eztexting", common, own, clock=ManualClock(START))
    client = await aiohttp_client(fake.app())
    good = "User=u&Pass=p&PhoneNumber=5551234567&Subject=&Message=Hello&Express=1"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [await (await client.post("/api/sending", data=good, headers=form)).text() for _ in range(2)]
    assert answers == ["1", "-10"]
    assert len(fake.capture.query(kind="mt")) == 1


async def test_populations_push_mos_and_reply_to_the_mts_they_get(aiohttp_client: Any,
                                                                  sink: tuple[Sink, str]) -> None:
    """A population's MOs reach the MO URL at their simulated times; a handset replies to an MT it got."""
    receiver, base = sink
    population = {"name": "uk", "country": "+44", "size": 3, "to": "55555",
                  "arrivals": {"kind": "poisson", "rate": 0.5},
                  "reply": {"probability": 1.0, "think": {"distribution": "fixed", "seconds": 1}}}
    fake = _kaleyra(base, carriers=[uk()], populations=[population])
    client = await aiohttp_client(fake.app())
    assert fake.carrier is not None
    numbers = fake.carrier.populations[0].numbers
    for _ in range(100):  # 100 simulated seconds, a second at a time
        await fake.clock.advance(0.01)  # type: ignore[attr-defined]
    await until(lambda: len([p for p, _ in receiver.got if p == "/mo"]) == fake.carrier.mos)
    spontaneous = fake.carrier.mos
    assert 25 <= spontaneous <= 80  # Poisson at 0.5/s over 100 s: 50 expected
    assert {f["device_address"] for p, f in receiver.got if p == "/mo"} <= set(numbers)
    await client.post(HTTP_API_PATH, headers=KALEYRA_AUTH,
                      data={"reply_to": "55555", "recipient": numbers[0], "body": "How can we help?"})
    before = fake.carrier.mos
    for _ in range(4):  # 2.5 s to the DLR, then a 1 s think: the reply is out within 4 s
        await fake.clock.advance(0.01)  # type: ignore[attr-defined]
    await until(lambda: len([p for p, _ in receiver.got if p == "/mo"]) == fake.carrier.mos)
    assert fake.carrier.mos > before
    assert numbers[0] in {f["device_address"] for p, f in receiver.got[-(fake.carrier.mos - before):]
                          if p == "/mo"}


def test_populations_need_carriers() -> None:
    """A population without carriers is a problem: its handsets are reached through a carrier."""
    with pytest.raises(ConfigError) as error:
        read_kaleyra({"populations": [{"name": "p", "to": "55555"}]}, "fakes.k1")
    assert [p.path for p in error.value.problems] == ["fakes.k1.populations"]
    assert PopulationSettings("p").broker == ""
