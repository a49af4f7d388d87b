"""Tests of sim.cic.records, alone: pushes, agent sends, the store, the mirror and recovery, without a node."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from nodekit import LOCAL, Clock, config, kaleyra

from sim.cic.clients import BrokerWire, DefinitionWire, Http, SendResult, definition_for
from sim.cic.listeners import Route
from sim.cic.records import Records
from sim.core.config import BrokerConfig, CicConfig
from sim.core.consolidation import ConsolidationSettings
from sim.core.errors import InputError
from sim.core.interactions import Direction, Interaction, TranscriptEntry
from sim.core.loading import load_core_class
from sim.core.protocol import CoreContext
from sim.core.reference import ReferenceCore
from sim.core.routing import Destination, DestinationKind
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest

MO = {"device_address": "13175550123", "inbound_address": LOCAL, "message": "Hello", "message_id": "m-1"}
MO_ROUTE = Route("kaleyra", "mo", "/kaleyra/mo")
DR_ROUTE = Route("kaleyra", "dr", "/kaleyra/dr")


class AcceptingWire:
    """Kaleyra's own parsing, and an MT send that the broker accepts at once with a numbered message id."""

    def __init__(self, broker: BrokerConfig) -> None:
        self.broker = broker
        self._parse = DefinitionWire(broker, definition_for(broker))
        self.sent: list[tuple[str, str, str]] = []  # (recipient, text, dr_url)

    def parse_mo(self, query: str, content_type: str, body: bytes, now: float) -> InboundSms:
        """The definition's MO."""
        return self._parse.parse_mo(query, content_type, body, now)

    def parse_dr(self, query: str, content_type: str, body: bytes, now: float) -> DeliveryReceipt:
        """The definition's DR."""
        return self._parse.parse_dr(query, content_type, body, now)

    async def send(self, http: Http, mt: MtRequest, dr_url: str) -> SendResult:
        """Accept the MT as ``mt-<n>``."""
        self.sent.append((mt.recipient, mt.text, dr_url))
        return SendResult(mt.broker, "http://broker.invalid/mt", 200, True, (f"mt-{len(self.sent)}",))


class Kit:
    """A ``Records`` over the reference core, with a hand-driven clock, a log list and an active flag."""

    def __init__(self, cfg: CicConfig, tmp_path: Path, *, active: bool = True) -> None:
        self.clock = Clock()
        self.log: list[tuple[str, str]] = []  # (level, message)
        self.active = active
        self.cores = 0
        self.wire = AcceptingWire(cfg.brokers[0])
        wires: dict[str, BrokerWire] = {cfg.brokers[0].name: self.wire}
        self.records = Records(cfg, wires, new_core=self._new_core(cfg), name="primary", clock=self.clock,
                               log=lambda message, level: self.log.append((level, message)),
                               active=lambda: self.active, dr_url=lambda b: f"https://dr.example/{b.name}")
        self.records.open_store(str(tmp_path / "records.sqlite"))

    def _new_core(self, cfg: CicConfig) -> Any:
        ids = itertools.count(1)

        def build() -> Any:
            self.cores += 1
            context = CoreContext(lambda: f"id-{next(ids)}", lambda: 1)
            return load_core_class(cfg.core)(cfg, context)

        return build


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    """Records for a Kaleyra broker with one outbound route, its store open, an HTTP client attached."""
    made = Kit(config(kaleyra(), route_to=("kaleyra", "main")), tmp_path)
    async with aiohttp.ClientSession() as session:
        made.records.http = Http(session)
        yield made
    made.records.close_store()


async def push(aiohttp_client: Any, records: Records, route: Route, data: Any) -> tuple[int, str]:
    """POST ``data`` to ``records.handle_push`` through an in-memory aiohttp application."""
    async def handler(request: web.Request) -> web.StreamResponse:
        return await records.handle_push(request, route)

    app = web.Application()
    app.router.add_post(route.path, handler)
    client = await aiohttp_client(app)
    response = await client.post(route.path, data=data)
    return response.status, await response.text()


def chat(id_: str, updated_at: float, *texts: str) -> dict[str, Any]:
    """An interaction record with one inbound line per text, the last one at ``updated_at``."""
    lines = tuple(TranscriptEntry(Direction.INBOUND, t, updated_at, f"m-{t}") for t in texts)
    return Interaction(id_, "+13175550123", LOCAL, "kaleyra", Destination(DestinationKind.CHAT),
                       created_at=updated_at, updated_at=updated_at, transcript=lines).to_dict()


# -- pushes -----------------------------------------------------------------------------------------------


async def test_an_mo_push_is_stored_mirrored_and_answered_ok(kit: Kit, aiohttp_client: Any) -> None:
    """An MO becomes an interaction; its record is stored, then mirrored with the clock's time; 200 OK."""
    mirrored: list[dict[str, Any]] = []

    async def mirror(record: dict[str, Any]) -> None:
        mirrored.append(record)

    kit.records.mirror_to = mirror
    assert (200, "OK") == await push(aiohttp_client, kit.records, MO_ROUTE, MO)
    [stored] = kit.records.store.interactions()
    assert [{"interaction": stored, "at": kit.clock.now}] == mirrored
    assert ["Hello"] == [e["text"] for e in stored["transcript"]]
    assert [] == kit.log


async def test_a_duplicate_mo_push_commits_nothing_new(kit: Kit, aiohttp_client: Any) -> None:
    """The same broker message id twice: both answered 200, one transcript line, one mirror write."""
    mirrored: list[dict[str, Any]] = []

    async def mirror(record: dict[str, Any]) -> None:
        mirrored.append(record)

    kit.records.mirror_to = mirror
    for _ in range(2):
        assert (200, "OK") == await push(aiohttp_client, kit.records, MO_ROUTE, MO)
    assert (1, 1) == (len(mirrored), len(kit.records.interactions()[0].transcript))


async def test_a_malformed_push_is_answered_400_and_logged_as_an_error(kit: Kit, aiohttp_client: Any) -> None:
    """An MO without its fields is refused with the reason, logged through ``log``, and stores nothing."""
    assert (400, "missing field(s) device_address, inbound_address, message_orig, message") == await push(
        aiohttp_client, kit.records, MO_ROUTE, {})
    assert [("error", "invalid SMS request to /kaleyra/mo (broker kaleyra, mo): missing field(s) "
                      "device_address, inbound_address, message_orig, message")] == kit.log
    assert 0 == kit.records.store.count()


async def test_a_failed_mirror_is_logged_as_a_warning_and_the_push_is_still_served(
        kit: Kit, aiohttp_client: Any) -> None:
    """A backup that is gone does not stop the active node: 200 OK, the record stored, a warning logged."""
    async def mirror(record: dict[str, Any]) -> None:
        raise RuntimeError("backup gone")

    kit.records.mirror_to = mirror
    assert (200, "OK") == await push(aiohttp_client, kit.records, MO_ROUTE, MO)
    [interaction] = kit.records.interactions()
    assert [("warning", f"mirror of interaction {interaction.id} to the backup failed: RuntimeError: "
                        "backup gone")] == kit.log
    assert 1 == kit.records.store.count()


async def test_a_dr_for_an_unknown_message_is_logged_as_a_warning(kit: Kit, aiohttp_client: Any) -> None:
    """A delivery receipt whose message id was never sent is answered 200 and logged as a warning."""
    dr = {"message_id": "nobody", "status": "Carrier Success", "status_code": "200",
          "device_address": "13175550123", "client_message_id": "c-1"}
    assert (200, "OK") == await push(aiohttp_client, kit.records, DR_ROUTE, dr)
    assert [("warning", "delivery receipt from kaleyra for unknown message 'nobody'")] == kit.log


# -- agent sends --------------------------------------------------------------------------------------------


async def test_a_send_on_a_node_that_is_not_active_is_refused_with_503(kit: Kit) -> None:
    """``active`` says no: the send is refused with the node's name, and nothing reaches the wire."""
    kit.active = False
    with pytest.raises(InputError, match="CIC node primary is not the active node") as caught:
        await kit.records.send("3175550123", "x", classification="Local")
    assert (503, []) == (caught.value.status, kit.wire.sent)


@pytest.mark.parametrize(("arguments", "status", "message"), [
    ({"party": "boss"}, 400, "party must be one of agent, workgroup, handler (got 'boss')"),
    ({"text": ""}, 400, "'to' and 'text' must not be empty"),
    ({"account": "nope"}, 422, "account 'nope' is not an account of any broker"),
    ({"interaction_id": "i-x"}, 404, "no interaction 'i-x'"),
], ids=["party", "empty-text", "account", "interaction"])
async def test_bad_send_arguments_are_refused_with_their_status(
        kit: Kit, arguments: dict[str, str], status: int, message: str) -> None:
    """Each bad argument is refused with its own status and message before the core sees it."""
    call = {"to": "3175550123", "text": "x", **arguments}
    with pytest.raises(InputError) as caught:
        await kit.records.send(call.pop("to"), call.pop("text"), **call)
    assert (status, message, []) == (caught.value.status, str(caught.value), kit.wire.sent)


async def test_an_accepted_send_goes_out_with_the_dr_url_and_its_delivery_is_kept(kit: Kit) -> None:
    """A send on a recovered interaction reaches the wire with ``dr_url``'s answer; its message id is stored."""
    kit.records.accept_mirror({"interaction": chat("i-1", kit.clock.now, "hi"), "at": kit.clock.now})
    assert 1 == await kit.records.recover()
    answer = await kit.records.send("3175550123", "Your order shipped", sender="alice",
                                    classification="Local", interaction_id="i-1")
    assert [("+13175550123", "Your order shipped", "https://dr.example/kaleyra")] == kit.wire.sent
    assert ("i-1", False, [["mt-1"]]) == (answer["interaction_id"], answer["held"],
                                          [r["message_ids"] for r in answer["requests"]])
    [record] = kit.records.interaction_views()
    assert [{"broker": "kaleyra", "message_id": "mt-1", "correlation": answer["correlation"], "state": "",
             "raw_status": "", "at": kit.clock.now}] == record["deliveries"]
    assert ["hi", "Your order shipped"] == [e["text"] for e in record["transcript"]]


async def test_send_requests_without_an_http_client_is_a_runtime_error(kit: Kit) -> None:
    """Records that were never given the node's HTTP client refuse to send."""
    kit.records.http = None
    with pytest.raises(RuntimeError, match="no HTTP client"):
        await kit.records.send_requests([])


async def test_the_store_is_needed_before_anything_is_stored(tmp_path: Path) -> None:
    """Without ``open_store`` a store operation says the node is not started."""
    made = Kit(config(kaleyra()), tmp_path)
    made.records.close_store()
    with pytest.raises(RuntimeError, match="no store"):
        await made.records.purge()


# -- mirror, recovery, reset ----------------------------------------------------------------------------------


async def test_an_older_mirror_copy_never_replaces_a_newer_one(kit: Kit) -> None:
    """The mirror keeps the copy with the later update (and longer transcript), whatever order they came."""
    newer = {"interaction": chat("i-1", 200.0, "hi", "there"), "at": 200.0}
    kit.records.accept_mirror(newer)
    kit.records.accept_mirror({"interaction": chat("i-1", 100.0, "hi"), "at": 300.0})
    assert [newer] == kit.records.store.mirror_records()


@pytest.mark.parametrize("record", [{"interaction": chat("i-1", 1.0, "hi")}, {"at": "soon"}, ["x"]],
                         ids=["no-at", "text-at", "not-an-object"])
async def test_a_mirror_record_of_the_wrong_shape_is_refused(kit: Kit, record: Any) -> None:
    """A mirror record must be an object with an interaction and a numeric ``at``."""
    with pytest.raises(InputError, match="must be an object with 'interaction' and a numeric 'at'"):
        kit.records.accept_mirror(record)


async def test_recover_takes_over_mirrored_interactions_with_their_deliveries_and_reason(kit: Kit) -> None:
    """The recovered interaction keeps its transcript, its deliveries and its disconnect reason."""
    delivery = {"broker": "kaleyra", "message_id": "mt-9", "correlation": "c-9", "state": "delivered",
                "raw_status": "Carrier Success/200", "at": 50.0}
    record = {**chat("i-1", 100.0, "hi"), "deliveries": [delivery], "disconnect_reason": "idle timeout"}
    kit.records.accept_mirror({"interaction": record, "at": 100.0})
    assert 1 == await kit.records.recover()
    assert ([record], [record]) == (kit.records.interaction_views(), kit.records.store.interactions())
    assert [{"interaction": record, "at": kit.clock.now}] == kit.records.full_sync_records()


async def test_reset_core_builds_a_fresh_core_and_keeps_the_mirror(kit: Kit) -> None:
    """A recovery and ``reset_core`` each ask ``new_core`` again; reset forgets the interactions, the mirror stays."""
    kit.records.accept_mirror({"interaction": chat("i-1", 100.0, "hi"), "at": 100.0})
    await kit.records.recover()
    await kit.records.reset_core()
    assert (3, [], 0, 1) == (kit.cores, kit.records.interactions(), kit.records.store.count(),
                             len(kit.records.store.mirror_records()))  # one core each: start, recover, reset
    await kit.records.reset()
    assert (4, []) == (kit.cores, kit.records.store.mirror_records())


# -- timers -------------------------------------------------------------------------------------------------


async def test_purge_deletes_rows_older_than_purge_days_and_logs_how_many(kit: Kit) -> None:
    """Interactions older than ``sms.purge_days`` go, with one info entry in the log."""
    kit.records.store.put_interaction(chat("i-old", kit.clock.now - 31 * 86400, "hi"))
    kit.records.store.put_interaction(chat("i-new", kit.clock.now - 29 * 86400, "hi"))
    assert ["i-old"] == await kit.records.purge()
    assert [("info", "purged 1 interaction(s) older than 30 days")] == kit.log


async def test_the_idle_sweep_runs_only_while_the_node_is_active(tmp_path: Path) -> None:
    """``run_timers`` on a backup only purges; once ``active`` says yes, the idle chat is disconnected."""
    web_services = {"parameters": {"EnableIdleTimeout": 1, "PartyIdleTime": 120, "PartyIdleGraceTime": 60}}
    made = Kit(config(kaleyra(), web_services=web_services), tmp_path, active=False)
    made.records.accept_mirror({"interaction": chat("i-1", made.clock.now - 500, "hi"), "at": made.clock.now})
    await made.records.recover()
    await made.records.run_timers()
    assert ["active"] == [i.state.value for i in made.records.interactions()]
    made.active = True
    await made.records.run_timers()
    [record] = made.records.interaction_views()
    assert ("disconnected", "idle timeout") == (record["state"], record["disconnect_reason"])
    made.records.close_store()


# -- cost per message -----------------------------------------------------------------------------------

IDLE_ON = {"parameters": {"EnableIdleTimeout": 1, "PartyIdleTime": 120, "PartyIdleGraceTime": 60}}


class NoScanCore(ReferenceCore):
    """The reference core, refusing the calls that look at every interaction it holds (issue 20)."""

    def interactions(self) -> list[Interaction]:
        """Refused: a per-message path must find its interaction by id."""
        raise AssertionError("interactions() was called")

    def snapshot(self) -> dict[str, Any]:
        """Refused: the whole state, as the old idle sweep took it."""
        raise AssertionError("snapshot() was called")

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Refused: the whole state, as the old idle sweep gave it back."""
        raise AssertionError("restore() was called")


def no_scan_kit(cfg: CicConfig, tmp_path: Path) -> tuple[Kit, NoScanCore]:
    """A kit whose records run on a ``NoScanCore`` with ids ``i-1``, ``i-2`` ..."""
    made = Kit(cfg, tmp_path)
    ids = itertools.count(1)
    core = NoScanCore(cfg, CoreContext(lambda: f"i-{next(ids)}", lambda: 1))
    made.records.core = core
    return made, core


def transcript(core: ReferenceCore, interaction_id: str) -> tuple[str, list[str]]:
    """An interaction's state and its transcript's texts, found by id."""
    found = core.interaction(interaction_id)
    assert found is not None
    return found.state.value, [e.text for e in found.transcript]


async def test_mo_send_dr_and_idle_sweep_never_look_at_every_interaction(
        tmp_path: Path, aiohttp_client: Any) -> None:
    """MOs, agent sends (naming their interaction or not), a DR and the idle sweeps all go by id."""
    made, core = no_scan_kit(config(kaleyra(), route_to=("kaleyra", "main"), web_services=IDLE_ON), tmp_path)
    async with aiohttp.ClientSession() as session:
        made.records.http = Http(session)
        assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
        assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, {**MO, "message_id": "m-2"})
        named = await made.records.send("3175550123", "On its way", classification="Local", interaction_id="i-1")
        joined = await made.records.send("13175550123", "Anything else?", classification="Local")  # as the MO's ANI
        dr = {"message_id": "mt-2", "status": "Carrier Success", "status_code": "200",
              "device_address": "13175550123", "client_message_id": joined["correlation"]}
        assert (200, "OK") == await push(aiohttp_client, made.records, DR_ROUTE, dr)
        made.clock.now += 121
        idle = await made.records.sweep_idle(made.clock.now)
        made.clock.now += 60
        gone = await made.records.sweep_idle(made.clock.now)
    assert (["i-1"], ["i-1"], "i-1", "i-1") == (idle, gone, named["interaction_id"], joined["interaction_id"])
    record = made.records.store.interaction("i-1")  # disconnected: the core let it go, the store has it
    assert record is not None
    assert (None, "disconnected", ["Hello", "Hello", "On its way", "Anything else?"]) == (
        core.interaction("i-1"), record["state"], [e["text"] for e in record["transcript"]])
    assert ([("mt-1", ""), ("mt-2", "delivered")], "idle timeout") == (
        [(d["message_id"], d["state"]) for d in record["deliveries"]], record["disconnect_reason"])
    made.records.close_store()


async def test_a_consolidated_send_is_committed_to_its_interaction_without_a_scan(
        tmp_path: Path, aiohttp_client: Any) -> None:
    """A held send released by the timer task is stored with its interaction's deliveries, found by id."""
    cfg = config(kaleyra(), route_to=("kaleyra", "main"))
    cfg = replace(cfg, sms=replace(cfg.sms, consolidation=ConsolidationSettings(enabled=True, window=5.0)))
    made, core = no_scan_kit(cfg, tmp_path)
    async with aiohttp.ClientSession() as session:
        made.records.http = Http(session)
        assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
        answer = await made.records.send("13175550123", "Hi", classification="Local")  # as the MO's ANI
        made.clock.now += 5
        await made.records.run_timers()
    assert ((True, "i-1"), ("active", ["Hello", "Hi"])) == ((answer["held"], answer["interaction_id"]),
                                                           transcript(core, "i-1"))
    [stored] = made.records.store.interactions()
    assert ["mt-1"] == [d["message_id"] for d in stored["deliveries"]]
    made.records.close_store()


async def test_the_idle_timeout_disconnects_after_the_grace_time_and_a_new_mo_wakes_the_schedule(
        tmp_path: Path, aiohttp_client: Any) -> None:
    """Idle after PartyIdleTime, disconnected after the grace time; a customer's MO pushes both back."""
    made = Kit(config(kaleyra(), web_services=IDLE_ON), tmp_path)
    assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
    made.clock.now += 100
    assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, {**MO, "message_id": "m-2"})
    made.clock.now += 100  # 200 s after the first MO, 100 s after the second: still active
    assert [] == await made.records.sweep_idle(made.clock.now)
    made.clock.now += 20
    assert ["id-1"] == await made.records.sweep_idle(made.clock.now)
    made.clock.now += 60
    assert ["id-1"] == await made.records.sweep_idle(made.clock.now)
    [record] = made.records.interaction_views()
    assert ("disconnected", "idle timeout") == (record["state"], record["disconnect_reason"])
    assert [] == await made.records.sweep_idle(made.clock.now + 10_000)
    made.records.close_store()


async def test_recovered_interactions_are_scheduled_for_the_idle_timeout(tmp_path: Path) -> None:
    """After a promotion with recovery, a mirrored chat falls due by its own last customer message."""
    made = Kit(config(kaleyra(), web_services=IDLE_ON), tmp_path)
    made.records.accept_mirror({"interaction": chat("i-old", made.clock.now - 130, "hi"), "at": made.clock.now})
    made.records.accept_mirror({"interaction": chat("i-new", made.clock.now - 10, "hi"), "at": made.clock.now})
    assert 2 == await made.records.recover()
    assert ["i-old"] == await made.records.sweep_idle(made.clock.now)  # idle: silent for 130 s
    assert ["i-old"] == await made.records.sweep_idle(made.clock.now + 50)  # disconnected after the grace
    assert ["i-new"] == await made.records.sweep_idle(made.clock.now + 110)
    made.records.close_store()


# -- ended interactions leave memory ------------------------------------------------------------------------


async def ended_kit(tmp_path: Path) -> Kit:
    """A kit whose idle timeout disconnects a chat 180 s after its customer's last line."""
    return Kit(config(kaleyra(), route_to=("kaleyra", "main"), web_services=IDLE_ON), tmp_path)


async def test_a_disconnected_interaction_leaves_the_core_and_stays_listed(tmp_path: Path, aiohttp_client: Any) -> None:
    """After the idle disconnect the core no longer holds the chat, the store lists it, and the customer's next MO opens a new one."""
    made = await ended_kit(tmp_path)
    mirrored: list[dict[str, Any]] = []

    async def mirror(record: dict[str, Any]) -> None:
        mirrored.append(record["interaction"])

    made.records.mirror_to = mirror
    assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
    made.clock.now += 181
    assert ["id-1"] == await made.records.sweep_idle(made.clock.now)
    assert ([], ["disconnected"], "disconnected") == (
        made.records.interactions(), [r["state"] for r in made.records.interaction_views()], mirrored[-1]["state"])
    assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, {**MO, "message_id": "m-2"})
    assert (["id-2"], ["id-1", "id-2"]) == ([i.id for i in made.records.interactions()],
                                            [r["id"] for r in made.records.interaction_views()])
    made.records.close_store()


async def test_what_the_node_remembers_of_a_send_goes_once_its_mts_are_sent_or_its_chat_ends(
        tmp_path: Path, aiohttp_client: Any) -> None:
    """A sent MT's owner entry is dropped at once; a held one lives until its interaction is let go."""
    cfg = config(kaleyra(), route_to=("kaleyra", "main"), web_services=IDLE_ON)
    held = replace(cfg, sms=replace(cfg.sms, consolidation=ConsolidationSettings(enabled=True, window=5.0)))
    for lab_config, after_send in ((cfg, 0), (held, 1)):
        (tmp_path / str(after_send)).mkdir()
        made = Kit(lab_config, tmp_path / str(after_send))
        async with aiohttp.ClientSession() as session:
            made.records.http = Http(session)
            assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
            answer = await made.records.send("13175550123", "Hi", classification="Local")
            assert (len(made.records._owners), len(made.records._owned)) == (after_send, after_send)
            made.clock.now += 181
            assert [answer["interaction_id"]] == await made.records.sweep_idle(made.clock.now)
        assert (made.records._owners, made.records._owned) == ({}, {})
        made.records.close_store()


async def test_a_late_dr_lands_on_the_stored_record_of_an_ended_interaction(tmp_path: Path, aiohttp_client: Any) -> None:
    """A DR that comes after the disconnect updates the stored record's delivery and is mirrored; the core stays without it."""
    made = await ended_kit(tmp_path)
    async with aiohttp.ClientSession() as session:
        made.records.http = Http(session)
        assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
        await made.records.send("3175550123", "On its way", classification="Local", interaction_id="id-1")
        made.clock.now += 181
        await made.records.sweep_idle(made.clock.now)
        mirrored: list[dict[str, Any]] = []

        async def mirror(record: dict[str, Any]) -> None:
            mirrored.append(record["interaction"])

        made.records.mirror_to = mirror
        dr = {"message_id": "mt-1", "status": "Carrier Success", "status_code": "200", "device_address": "13175550123"}
        assert (200, "OK") == await push(aiohttp_client, made.records, DR_ROUTE, dr)
    record = made.records.store.interaction("id-1")
    assert record is not None
    assert ([("mt-1", "delivered")], "disconnected", [record], None) == (
        [(d["message_id"], d["state"]) for d in record["deliveries"]], record["state"], mirrored,
        made.records.core.interaction("id-1"))
    made.records.close_store()


async def test_a_send_into_an_ended_interaction_is_a_409_and_sends_nothing(tmp_path: Path, aiohttp_client: Any) -> None:
    """Naming a disconnected interaction is refused as ended (not as unknown), before any MT is made."""
    made = await ended_kit(tmp_path)
    assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, MO)
    made.clock.now += 181
    await made.records.sweep_idle(made.clock.now)
    with pytest.raises(InputError) as caught:
        await made.records.send("3175550123", "Hello?", classification="Local", interaction_id="id-1")
    assert (409, "interaction 'id-1' has ended (disconnected): a send cannot join it", []) == (
        caught.value.status, str(caught.value), made.wire.sent)
    made.records.close_store()


async def test_the_purge_takes_what_it_deletes_out_of_the_core_in_chunks(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Open interactions older than purge_days leave the store and the core, a chunk at a time; the young stay."""
    monkeypatch.setattr("sim.cic.records.CHUNK", 3)
    old = [chat(f"old-{n}", kit.clock.now - 31 * 86400, "hi") for n in range(7)]
    young = chat("young", kit.clock.now - 86400, "hi")
    kit.records.store.put_interactions([*old, young])
    kit.records.core.restore({"version": 1, "interactions": [*old, young]})
    assert sorted(r["id"] for r in old) == await kit.records.purge()
    assert (["young"], ["young"]) == ([i.id for i in kit.records.interactions()],
                                      [r["id"] for r in kit.records.interaction_views()])


async def test_recovery_keeps_every_record_but_restores_only_the_open_ones(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over several chunks, every mirrored record is stored, first created first; the core takes the open ones only."""
    monkeypatch.setattr("sim.cic.records.CHUNK", 4)
    records = [{**chat(f"i-{n:02}", 100.0 + n, "hi"), "state": "disconnected" if n % 3 == 0 else "active"}
               for n in range(10)]
    kit.records.accept_mirrors([{"interaction": r, "at": 200.0} for r in reversed(records)])
    assert 10 == await kit.records.recover()
    assert [r["id"] for r in records] == [r["id"] for r in kit.records.interaction_views()]
    assert [r["id"] for r in records if r["state"] == "active"] == [i.id for i in kit.records.interactions()]


async def test_a_batch_of_mirror_records_with_one_bad_record_keeps_none(kit: Kit) -> None:
    """accept_mirrors checks every record before storing any: one malformed record refuses the batch."""
    good = {"interaction": chat("i-1", 1.0, "hi"), "at": 1.0}
    with pytest.raises(InputError, match="numeric 'at'"):
        kit.records.accept_mirrors([good, {"interaction": chat("i-2", 1.0, "hi"), "at": "later"}])
    assert [] == kit.records.store.mirror_records()
    assert 1 == kit.records.accept_mirrors([good, {"interaction": chat("i-1", 0.5, "old"), "at": 2.0}])
    assert [good] == kit.records.store.mirror_records()


async def test_a_full_sync_page_names_the_seq_to_ask_after(kit: Kit) -> None:
    """full_sync_page answers up to limit records and the seq after which the rest follow; None on the last chunk."""
    kit.records.store.put_interactions([chat(f"i-{n}", float(n), "hi") for n in range(5)])
    first, after = kit.records.full_sync_page(0, 3)
    rest, last = kit.records.full_sync_page(after or 0, 3)
    assert (["i-0", "i-1", "i-2"], 3, ["i-3", "i-4"], None) == (
        [r["interaction"]["id"] for r in first], after, [r["interaction"]["id"] for r in rest], last)


async def test_an_idle_sweep_over_several_chunks_ends_every_due_interaction(
        tmp_path: Path, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven chats falling idle together, swept three at a time: all seven end, once each, and leave the core."""
    monkeypatch.setattr("sim.cic.records.CHUNK", 3)
    made = await ended_kit(tmp_path)
    for n in range(7):
        mo = {**MO, "device_address": f"1317555{n:04}", "message_id": f"m-{n}"}
        assert (200, "OK") == await push(aiohttp_client, made.records, MO_ROUTE, mo)
    made.clock.now += 181
    assert ([f"id-{n}" for n in range(1, 8)], []) == (await made.records.sweep_idle(made.clock.now),
                                                      made.records.interactions())
    assert ["disconnected"] * 7 == [r["state"] for r in made.records.interaction_views()]
    made.records.close_store()
