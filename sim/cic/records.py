"""What a node does with interactions: pushes in, agent sends out, the store, the mirror, the timers' work.

``Records`` holds a node's core, store and mirror; ``sim.cic.node.CicNode`` holds one ``Records`` and adds
the sockets, the role and the faults, handing it what it needs of them as callables (whether the node is
active, its log, a broker's delivery-receipt URL). Each change to an interaction is committed the same way
(``_commit``): its record (``Interaction.to_dict()`` plus the node's ``deliveries`` and
``disconnect_reason``) is written to SQLite, then awaited through ``mirror_to`` (the backup's copy that
SMS Interaction Recovery uses: SMS Technical Reference, "Recovery of SMS Interactions in Switchover"). A
failed mirror is logged, not fatal (our choice): the active node keeps serving when its backup is gone.

Every per-message path (an MO, an agent send, the commit after its MTs, a DR, the idle sweep) finds the
interactions it changes by id (``SmsCore.interaction``; a DR's broker message id through the store's
primary key) and never looks through every interaction, so it costs the same at 50,000 interactions as
at 100 (issue 20); the idle timeout is kept as an ``IdleSchedule`` of due times.

Memory holds the open conversations only: once the idle timeout disconnects an interaction, its last
record is committed and the core lets it go (``SmsCore.forget``); the store keeps it, so it is still
listed, a late DR still lands on it, and an agent send into it is refused as ended (409). Whatever
touches every interaction (the purge, a full sync, a recovery) works in chunks of ``CHUNK`` and hands the
event loop back between them, so no request waits more than a chunk's time on it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web

from sim.cic.clients import BrokerWire, Http, SendResult
from sim.cic.core_seam import LocalCore, NodeCore, as_node_core
from sim.cic.gcpause import gc_paused
from sim.cic.idle import IDLE_REASON, IdleSchedule, idle_changes
from sim.cic.listeners import Route
from sim.cic.paging import Page, PageQuery, select
from sim.cic.store import DAY, Store, read_open_mirror
from sim.core.config import BrokerConfig, CicConfig
from sim.core.errors import InputError
from sim.core.interactions import SNAPSHOT_VERSION, Interaction, InteractionState
from sim.core.protocol import Received, Refused, SmsCore
from sim.core.remote import CoreCallError
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms
from sim.serving import read_body

__all__ = ["CHUNK", "PARTIES", "Mirror", "Records"]

PARTIES = ("agent", "workgroup", "handler")  # issue 4 §1: an MT is sent as an agent, workgroup or handler
OWNERS_LIMIT = 100_000  # sends whose interaction is remembered for their MTs' DRs; bounded memory
CHUNK = 200  # records per step of a purge, full sync or recovery, between which the event loop runs
IDLE_RETRY = 1.0  # seconds before an idle sweep that the core failed is tried again
COMMIT_STEP = 50  # commits (each a store write and a mirror) between which the event loop runs

Mirror = Callable[[dict[str, Any]], Awaitable[None]]
"""Where committed records go, awaited before the broker is answered (``sim.cic.control.PeerMirror``, a
``LocalNode`` peer's ``accept_mirror``, or a test's)."""


class Records:
    """Interactions, store and mirror of a node.

    Args:
        config: the CIC configuration (brokers, routes, SMS and Web Services parameters).
        wires: broker name -> what parses its pushes and sends its MTs.
        new_core: builds a fresh, empty SMS core (now, and again for ``reset_core``): an in-process
            ``SmsCore``, or a ``NodeCore`` such as ``sim.cic.remote_core.RemoteCore`` (a core over HTTP).
        name: the node's name, for messages.
        clock: seconds.
        log: adds an entry to the node's log, ``log(message, level)``.
        active: whether the node holds the ACTIVE role now (only the active node sends and runs timers).
        dr_url: the ``ExternalDeliveryStatusURI`` handed to a broker with each MT ("" for none).
    """

    def __init__(self, config: CicConfig, wires: Mapping[str, BrokerWire], *,
                 new_core: Callable[[], SmsCore | NodeCore],
                 name: str, clock: Callable[[], float], log: Callable[[str, str], None],
                 active: Callable[[], bool], dr_url: Callable[[BrokerConfig], str]) -> None:
        self.config = config
        self.wires = wires
        self.name = name
        self.clock = clock
        self._new_core = new_core
        self._log = log
        self._active = active
        self._dr_url = dr_url
        self._core: NodeCore = as_node_core(new_core())
        self.mirror_to: Mirror | None = None
        #: Called with each record the node commits, once stored (the lab's event stream listens here).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        #: Called with each delivery receipt the node takes and the node's clock when it arrived (before the
        #: core and the store ran), so a load test can time send -> DR arrival, not a later poll's notice.
        self.receipt_listeners: list[Callable[[DeliveryReceipt, float], None]] = []
        self.store: Store | None = None
        # The HTTP client MTs are sent with: the node's, set once it is started (the node closes it).
        self.http: Http | None = None
        # When each interaction falls due for the idle timeout (kept in step by every commit).
        self._idle = IdleSchedule(config.web_services.for_sms())
        self._reasons: dict[str, str] = {}
        # correlation -> interaction id, for the DRs of MTs a send did not name an interaction for
        # (consolidated, or joined by the core to the customer's open interaction). An entry lives until its
        # MTs are sent, or its interaction is let go (``_owned``: interaction id -> its correlations), so the
        # map follows the open interactions; OWNERS_LIMIT is only the last bound, oldest first out.
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._owned: dict[str, set[str]] = {}
        self._next_purge = 0.0
        # Set when a send is held for consolidation, so the timer task wakes for its window rather than
        # at the next tick.
        self.timers_changed = asyncio.Event()

    # -- the core -------------------------------------------------------------------------------------

    @property
    def core(self) -> Any:
        """The in-process ``SmsCore`` (for tests and tools), or the ``NodeCore`` of a core over HTTP."""
        return self._core.core if isinstance(self._core, LocalCore) else self._core

    @core.setter
    def core(self, core: SmsCore | NodeCore) -> None:
        self._core = as_node_core(core)

    @property
    def node_core(self) -> NodeCore:
        """The core as the node calls it (every call awaited)."""
        return self._core

    async def next_due(self) -> float | None:
        """When the core will next have consolidated MTs to release."""
        return await self._core.next_due()

    async def close_core(self) -> None:
        """Let go of the core (a core over HTTP: its connections) when the node stops."""
        await self._core.retire()

    # -- the store ------------------------------------------------------------------------------------

    def open_store(self, path: str) -> None:
        """Open (or create) the SQLite file."""
        self.store = Store(path)

    def close_store(self) -> None:
        """Close the SQLite file."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def _db(self) -> Store:
        if self.store is None:
            raise RuntimeError("the node is not started (no store)")
        return self.store

    async def purge(self) -> list[str]:
        """Delete data older than ``sms.purge_days`` ("Configure SMS Purge Data setting"), in chunks.

        What is deleted from the store leaves the core too.
        """
        now = self.clock()
        self._next_purge = now + DAY
        gone: list[str] = []
        while True:
            some = self._db().purge(self.config.sms.purge_days, now, chunk=CHUNK)
            if not some:
                break
            for interaction_id in some:
                await self._let_go(interaction_id)
            gone += some
            await asyncio.sleep(0)
        if gone:
            days = self.config.sms.purge_days
            self._log(f"purged {len(gone)} interaction(s) older than {days} days", "info")
        return gone

    # -- views ----------------------------------------------------------------------------------------

    def interactions(self) -> list[Interaction]:
        """Every interaction an in-process core holds (the open ones; the store has the ended ones too).

        Raises:
            RuntimeError: the core is served over HTTP (``await node_core.interactions()`` asks it).
        """
        if not isinstance(self._core, LocalCore):
            raise RuntimeError("the core is served over HTTP: await records.node_core.interactions()")
        return self._core.core.interactions()

    def interaction_views(self) -> list[dict[str, Any]]:
        """Every stored record, ended ones included, first created first (for tests and small stores;
        ``GET /_smslab/interactions`` reads ``page``)."""
        return self._db().interactions()

    def count(self) -> int:
        """How many interactions the node's store holds, ended ones included (0 before it is started)."""
        return 0 if self.store is None else self.store.count()

    def page(self, query: PageQuery) -> Page:
        """One page of ``GET /_smslab/interactions``, read from the store (``sim.cic.paging``)."""
        return select(self._db(), query)

    def view(self, interaction: Interaction) -> dict[str, Any]:
        """An interaction as the node shows, stores and mirrors it."""
        record = interaction.to_dict()
        record["deliveries"] = self._db().deliveries_of(interaction.id)
        if interaction.id in self._reasons:
            record["disconnect_reason"] = self._reasons[interaction.id]
        return record

    async def _lookup(self, ids: Iterable[str]) -> list[Interaction]:
        """The interactions with these ids, in that order, each found through the core's index."""
        found = [await self._core.interaction(interaction_id) for interaction_id in ids]
        return [i for i in found if i is not None]

    async def _commit(self, changed: Sequence[Interaction]) -> None:
        for n, interaction in enumerate(changed, start=1):
            self._idle.update(interaction)
            await self._write(self.view(interaction))
            if n % COMMIT_STEP == 0:  # a mirror on this loop never yields: hand the loop back now and then
                await asyncio.sleep(0)

    async def _write(self, record: dict[str, Any]) -> None:
        """Store one record and mirror it to the backup."""
        self._db().put_interaction(record)
        for listener in self.listeners:
            listener(record)
        if self.mirror_to is not None:
            try:
                await self.mirror_to({"interaction": record, "at": self.clock()})
            except Exception as exc:  # the backup being gone must not stop the active node
                self._log(f"mirror of interaction {record['id']} to the backup failed: "
                          f"{type(exc).__name__}: {exc}", "warning")

    async def _let_go(self, interaction_id: str) -> None:
        """The core and the node's tables forget an interaction (its record is in the store, or purged)."""
        await self._core.forget(interaction_id)
        self._reasons.pop(interaction_id, None)
        for correlation in self._owned.pop(interaction_id, ()):
            self._owners.pop(correlation, None)

    # -- pushes ---------------------------------------------------------------------------------------

    async def handle_push(self, request: web.Request, route: Route) -> web.StreamResponse:
        """An MO or DR push on the active node: parse, hand to the core, store, mirror, answer."""
        wire, now = self.wires[route.broker], self.clock()
        content_type = request.headers.get("Content-Type", "")
        try:
            body = await read_body(request)
            if route.kind == "mo":
                return await self._mo(wire.parse_mo(request.query_string, content_type, body, now), now)
            return await self._dr(wire.parse_dr(request.query_string, content_type, body, now), now)
        except CoreCallError as exc:  # nothing was stored: the broker retries the 503 once the core is back
            self._log(f"{route.kind.upper()} to {route.path} (broker {route.broker}) answered 503, nothing "
                      f"stored: {exc}", "error")
            return web.Response(status=503, text=f"the SMS core cannot decide now: {exc}")
        except InputError as exc:
            self._log(f"invalid SMS request to {route.path} (broker {route.broker}, {route.kind}): {exc}",
                      "error")
            return web.Response(status=exc.status if 400 <= exc.status < 500 else 400, text=str(exc))

    async def _mo(self, sms: InboundSms, now: float) -> web.StreamResponse:
        await self.receive(sms, now)
        return web.Response(text="OK")

    async def receive(self, sms: InboundSms, now: float) -> Received:
        """An MO as parsed from a push: to the core, then stored and mirrored (unless it is a retry)."""
        received = await self._core.receive(sms, now)
        # A retried push is answered 2xx again and adds nothing, unless the store lacks it: the core took
        # the first push but its answer never came (a core over HTTP that timed out), so nothing was stored.
        if not received.duplicate or self._unstored(received.interaction):
            await self._commit([received.interaction])
        return received

    def _unstored(self, interaction: Interaction) -> bool:
        stored = self._db().interaction(interaction.id)
        return stored is None or len(stored.get("transcript", ())) < len(interaction.transcript)

    async def _dr(self, receipt: DeliveryReceipt, now: float) -> web.StreamResponse:
        for listener in self.receipt_listeners:
            listener(receipt, now)
        await self._core.delivery_receipt(receipt, now)
        hit = self._db().set_delivery_state(receipt.broker, receipt.message_id, receipt.state.value,
                                            receipt.raw_status, now)
        if hit is None:
            self._log(f"delivery receipt from {receipt.broker} for unknown message {receipt.message_id!r}",
                      "warning")
        elif (found := await self._core.interaction(hit[0])) is not None:
            await self._commit([found])
        else:  # a late DR for an ended interaction: its stored record takes the new state
            await self._commit_ended(hit[0])
        return web.Response(text="OK")

    async def _commit_ended(self, interaction_id: str) -> None:
        record = self._db().interaction(interaction_id)
        if record is not None:
            record["deliveries"] = self._db().deliveries_of(interaction_id)
            await self._write(record)

    # -- agent sends ----------------------------------------------------------------------------------

    async def send(self, to: str, text: str, *, sender: str = "", account: str = "", classification: str = "",
                   interaction_id: str = "", party: str = "agent") -> dict[str, Any]:
        """Send an MT as an agent, a workgroup or a handler.

        Args:
            to: the destination as typed (outbound routes match on it).
            text: the message.
            sender: who sends (a user, workgroup or handler name), shown on the transcript.
            account: use this account of the routed broker instead of the route's (its Local Address too).
            classification: the sender's phone number classification (outbound access control).
            interaction_id: the interaction the message belongs to.
            party: ``agent``, ``workgroup`` or ``handler``.

        Raises:
            InputError: 400 for bad arguments, 404 for an unknown interaction, 503 on a node that is not
                active, or the core's refusal status (no route 404, access denied 403, ...).
        """
        try:
            await self._check_send(to, text, account, interaction_id, party)
            who = f"{party}:{sender}" if sender else party
            result = await self._core.send(OutboundSms(to, text, classification, who, interaction_id),
                                           self.clock())
        except CoreCallError as exc:
            self._log(f"send to {to} refused with 503: {exc}", "error")
            raise
        if isinstance(result, Refused):
            raise InputError(result.reason, result.status)
        if result.held:
            self.timers_changed.set()
        owner = result.interaction_id or interaction_id
        if owner:
            self._remember_owner(result.correlation, owner)
        await self._commit(await self._lookup([owner] if owner else []))  # the one the send changed
        results = await self.send_requests(self._with_account(result.requests, account))
        return {"correlation": result.correlation, "recipient": result.recipient, "held": result.held,
                "interaction_id": owner, "requests": [r.to_dict() for r in results]}

    async def _check_send(self, to: str, text: str, account: str, interaction_id: str, party: str) -> None:
        if not self._active():
            raise InputError(f"CIC node {self.name} is not the active node", 503)
        if party not in PARTIES:
            raise InputError(f"party must be one of {', '.join(PARTIES)} (got {party!r})")
        if not to or not text:
            raise InputError("'to' and 'text' must not be empty")
        if account and not any(b.account(account) for b in self.config.brokers):
            raise InputError(f"account {account!r} is not an account of any broker", 422)
        if interaction_id and await self._core.interaction(interaction_id) is None:
            stored = self._db().interaction(interaction_id)
            if stored is not None:
                raise InputError(f"interaction {interaction_id!r} has ended ({stored.get('state')}): a send "
                                 "cannot join it", 409)
            raise InputError(f"no interaction {interaction_id!r}", 404)

    def _remember_owner(self, correlation: str, interaction_id: str) -> None:
        self._owners[correlation] = interaction_id
        self._owned.setdefault(interaction_id, set()).add(correlation)
        if len(self._owners) > OWNERS_LIMIT:
            oldest, owner = self._owners.popitem(last=False)
            self._drop_owned(oldest, owner)

    def _drop_owned(self, correlation: str, interaction_id: str) -> None:
        owned = self._owned.get(interaction_id)
        if owned is not None:
            owned.discard(correlation)
            if not owned:
                del self._owned[interaction_id]

    def _with_account(self, requests: Sequence[MtRequest], account: str) -> list[MtRequest]:
        out = []
        for mt in requests:
            broker = self.config.broker(mt.broker)
            chosen = broker.account(account) if broker and account else None
            out.append(replace(mt, account=chosen.id, sender=chosen.local_address) if chosen else mt)
        return out

    async def send_requests(self, requests: Sequence[MtRequest]) -> list[SendResult]:
        """Send MT requests in order; accepted ones are remembered for their delivery receipts."""
        if self.http is None:
            raise RuntimeError("the node is not started (no HTTP client)")
        results, touched = [], set()
        for mt in requests:
            broker = self.config.broker(mt.broker)
            assert broker is not None  # the core routes to configured brokers only
            result = await self.wires[mt.broker].send(self.http, mt, self._dr_url(broker))
            results.append(result)
            owner = mt.interaction_id or self._owners.get(mt.correlation, "")
            if not result.accepted:
                self._log(f"MT to {mt.recipient} through broker {mt.broker} failed: HTTP {result.status} "
                          f"{result.reason}", "error")
            for message_id in result.message_ids:
                self._db().put_delivery(mt.broker, message_id, owner, mt.correlation, at=self.clock())
                touched.add(owner)
        sent = {mt.correlation for mt in requests} & self._owners.keys()  # their DRs read the store now
        for correlation in sent:
            self._drop_owned(correlation, self._owners.pop(correlation))
        await self._commit(await self._lookup(sorted(touched - {""})))
        return results

    # -- timers ---------------------------------------------------------------------------------------

    async def run_timers(self) -> None:
        """One round of the timer task: consolidated MTs due, the idle timeout, the daily purge."""
        now = self.clock()
        if self._active():
            due = await self._core.due(now)
            if due:
                await self.send_requests(due)
            await self.sweep_idle(now)
        if now >= self._next_purge:
            await self.purge()

    async def sweep_idle(self, now: float) -> list[str]:
        """Apply the idle timeout at ``now``; returns the ids whose state changed. No MT is ever made.

        Only those whose time has come are looked at, ``CHUNK`` at a time with the loop running between
        (a load test's customers may all fall idle in the same second).
        """
        changed: set[str] = set()
        unchanged: list[Interaction] = []
        while ids := self._idle.due(now, CHUNK):
            try:
                due = await self._lookup(ids)
                now_changed = await self._sweep(due, now)
            except CoreCallError:  # the core over HTTP failed: these are looked at again a little later
                self._idle.retry(ids, now + IDLE_RETRY)
                raise
            changed.update(now_changed)
            unchanged += [i for i in due if i.id not in now_changed]
            await asyncio.sleep(0)
        for interaction in unchanged:  # due yet not changing (out of step with the core): schedule it anew
            self._idle.update(interaction)
        return sorted(changed)

    async def _sweep(self, due: list[Interaction], now: float) -> set[str]:
        changes = {c.after.id: c.after.state for c in idle_changes(due, self._idle.idle, now)}
        changed = []
        for interaction_id, state in sorted(changes.items()):
            after = await self._core.set_state(interaction_id, state)
            if after is not None:
                changed.append(after)
            if state is InteractionState.DISCONNECTED:
                self._reasons[interaction_id] = IDLE_REASON
        await self._commit(changed)
        for interaction in changed:  # ended: the store has its last record, memory lets it go
            if interaction.state is InteractionState.DISCONNECTED:
                await self._let_go(interaction.id)
        return set(changes)

    # -- mirror and recovery --------------------------------------------------------------------------

    def accept_mirror(self, record: dict[str, Any]) -> None:
        """Keep one mirrored record (backup side); see ``accept_mirrors``."""
        self.accept_mirrors([record])

    def accept_mirrors(self, records: Sequence[dict[str, Any]], *, validate: bool = True) -> int:
        """Keep mirrored records (backup side), all or none; an older copy never replaces a newer one.

        Args:
            records: ``{"interaction": <interaction record>, "at": <seconds>}`` each.
            validate: read each interaction record as the core would (``Interaction.from_dict``) before
                keeping any. Only a peer in this very process, handing over records its own store wrote,
                passes False (``sim.cic.handles.LocalNode``): that saves a third of a full sync's time.

        Returns:
            how many were kept (the others were older than the copies already held).

        Raises:
            InputError: a record is not ``{"interaction": <interaction record>, "at": <seconds>}``; then
                none is kept.
        """
        checked: dict[str, dict[str, Any]] = {}
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("at"), (int, float)):
                raise InputError("a mirror record must be an object with 'interaction' and a numeric 'at'")
            key = (Interaction.from_dict(record.get("interaction") or {}).id if validate
                   else str(record["interaction"]["id"]))
            mine = checked.get(key)
            if mine is None or _version(mine["interaction"]) <= _version(record["interaction"]):
                checked[key] = {"interaction": record["interaction"], "at": float(record["at"])}
        kept = self._db().mirror_versions(list(checked))
        newer = [r for key, r in checked.items()
                 if key not in kept or kept[key] <= _version(r["interaction"])]
        self._db().put_mirrors(newer)
        return len(newer)

    def full_sync_page(self, after: int = 0, limit: int = CHUNK) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` of this node's records as mirror records, after store ``seq`` ``after``, and the
        ``seq`` to ask after for the next chunk (``None``: this was the last)."""
        rows = self._db().page(after_seq=after, limit=limit)
        now = self.clock()
        records = [{"interaction": record, "at": now} for _, record in rows]
        return records, (rows[-1][0] if len(rows) == limit else None)

    def full_sync_records(self) -> list[dict[str, Any]]:
        """Every record as a mirror record, all at once (for tests and small stores)."""
        out: list[dict[str, Any]] = []
        after: int | None = 0
        while after is not None:
            page, after = self.full_sync_page(after)
            out += page
        return out

    async def recover(self) -> int:
        """Take over the mirrored interactions (promotion with recovery in effect); returns how many.

        Every mirrored record is copied into the node's own tables inside SQLite, a chunk at a time with
        the event loop running between; then a worker thread reads the open ones over a connection of its
        own and restores them into a fresh core (no other call reaches that core meanwhile), which replaces
        the node's. Ended ones stay in the store only. (Run side by side, the two took longer and held the
        loop for longer: the thread's Python work and the loop's SQLite calls contend for the interpreter.)
        """
        db = self._db()
        count, after = 0, None
        with gc_paused(freeze=True):  # the recovered core lives on: frozen, no collection scans it again
            while (step := db.take_over(after, CHUNK)) is not None:
                after, copied = step
                count += copied
                await asyncio.sleep(0)
            held = db.open_mirror_records() if db.path == ":memory:" else None  # no second connection
            made = as_node_core(self._new_core())
            if isinstance(made, LocalCore):
                due = await asyncio.to_thread(self._restore_local, made.core, db.path, held)
            else:
                due = await self._restore_remote(made, db.path, held)
        old, self._core = self._core, made
        self._reasons.clear()
        self._idle.replace(due)
        await old.retire()
        return count

    def _restore_local(self, core: SmsCore, path: str, records: list[dict[str, Any]] | None) -> list[
            tuple[float, str]]:
        """Restore the mirror's open interactions (``records``, or read from the file at ``path``) into a
        new in-process core; when each falls due for the idle timeout (run on a worker thread: it touches
        nothing the event loop uses)."""
        if records is None:
            records = read_open_mirror(path)
        core.restore({"version": SNAPSHOT_VERSION, "interactions": records})
        while records:  # freed all at once, 50,000 parsed records hold the interpreter for ~60 ms: in steps
            del records[-CHUNK:]
        return self._idle.entries(core.interactions())

    async def _restore_remote(self, core: NodeCore, path: str, records: list[dict[str, Any]] | None) -> list[
            tuple[float, str]]:
        """The same for a core over HTTP; a core that cannot take them is logged, and the node goes on with
        it empty (the mirrored records stay in the store)."""
        if records is None:
            records = await asyncio.to_thread(read_open_mirror, path)
        try:
            await core.restore({"version": SNAPSHOT_VERSION, "interactions": records})
            return self._idle.entries(await core.interactions())
        except CoreCallError as exc:
            self._log(f"recovery: the core did not take the {len(records)} open interaction(s): {exc}",
                      "error")
            return []

    async def reset_core(self) -> None:
        """A fresh, empty core (promotion without recovery: the interactions are lost)."""
        old, self._core = self._core, as_node_core(self._new_core())
        await old.retire()
        self._idle.clear()
        self._reasons.clear()
        self._owners.clear()
        self._owned.clear()
        await self._clear(("interactions", "deliveries"))

    async def reset(self) -> None:
        """Forget interactions, store rows and the mirror (between tests)."""
        await self.reset_core()
        await self._clear(("mirror",))

    async def _clear(self, tables: tuple[str, ...]) -> None:
        while self._db().clear(tables, chunk=CHUNK * 4):  # tens of thousands of rows: a step at a time
            await asyncio.sleep(0)


def _version(interaction: dict[str, Any]) -> tuple[float, int]:
    """Which of two copies of an interaction record is newer: later update, then longer transcript."""
    return float(interaction.get("updated_at", 0.0)), len(interaction.get("transcript", ()))
