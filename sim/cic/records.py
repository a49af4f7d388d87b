"""What a node does with interactions: pushes in, agent sends out, the store, the mirror, the timers' work.

``Records`` holds a node's core, store and mirror; ``sim.cic.node.CicNode`` holds one ``Records`` and adds
the sockets, the role and the faults, handing it what it needs of them as callables (whether the node is
active, its log, a broker's delivery-receipt URL). Each change to an interaction is committed the same way
(``_commit``): its record (``Interaction.to_dict()`` plus the node's ``deliveries`` and
``disconnect_reason``) is written to SQLite, then awaited through ``mirror_to`` (a failed mirror is logged,
not fatal: the active node keeps serving when its backup is gone, seed "Recovery of SMS Interactions in
Switchover").

Every per-message path (an MO, an agent send, the commit after its MTs, a DR, the idle sweep) finds the
interactions it changes by id (``SmsCore.interaction``; a DR's broker message id through the store's
primary key) and never looks through every interaction, so it costs the same at 50,000 interactions as
at 100 (issue 20); the idle timeout is kept as an ``IdleSchedule`` of due times.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web

from sim.cic.clients import BrokerWire, Http, SendResult
from sim.cic.idle import IDLE_REASON, IdleSchedule, idle_changes
from sim.cic.listeners import Route
from sim.cic.paging import CreationOrder, Listing
from sim.cic.store import DAY, Store
from sim.core.config import BrokerConfig, CicConfig
from sim.core.errors import InputError
from sim.core.interactions import SNAPSHOT_VERSION, Interaction, InteractionState
from sim.core.protocol import Refused, SmsCore
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms

__all__ = ["PARTIES", "Mirror", "Records"]

PARTIES = ("agent", "workgroup", "handler")  # issue 4 §1: an MT is sent as an agent, workgroup or handler
OWNERS_LIMIT = 100_000  # sends whose interaction is remembered for their MTs' DRs; bounded memory

Mirror = Callable[[dict[str, Any]], Awaitable[None]]
"""Where committed records go, awaited before the broker is answered (``sim.cic.control.PeerMirror``, a
``LocalNode`` peer's ``accept_mirror``, or a test's)."""


class Records:
    """Interactions, store and mirror of a node.

    Args:
        config: the CIC configuration (brokers, routes, SMS and Web Services parameters).
        wires: broker name -> what parses its pushes and sends its MTs.
        new_core: builds a fresh, empty SMS core (now, and again for ``reset_core``).
        name: the node's name, for messages.
        clock: seconds.
        log: adds an entry to the node's log, ``log(message, level)``.
        active: whether the node holds the ACTIVE role now (only the active node sends and runs timers).
        dr_url: the ``ExternalDeliveryStatusURI`` handed to a broker with each MT ("" for none).
    """

    def __init__(self, config: CicConfig, wires: Mapping[str, BrokerWire], *, new_core: Callable[[], SmsCore],
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
        self.core: SmsCore = new_core()
        self.mirror_to: Mirror | None = None
        self.store: Store | None = None
        # The HTTP client MTs are sent with: the node's, set once it is started (the node closes it).
        self.http: Http | None = None
        # When each interaction falls due for the idle timeout (kept in step by every commit).
        self._idle = IdleSchedule(config.web_services.for_sms())
        self._reasons: dict[str, str] = {}
        # correlation -> interaction id, for the DRs of MTs a send did not name an interaction for
        # (consolidated, or joined by the core to the customer's open interaction); bounded, oldest first out
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._next_purge = 0.0
        # Set when a send is held for consolidation, so the timer task wakes for its window rather than
        # at the next tick.
        self.timers_changed = asyncio.Event()
        # Creation indexes for GET /_smslab/interactions' pages; the listing names this run of this node.
        self.order = CreationOrder(f"{name}@{clock()!r}")

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

    def purge(self) -> list[str]:
        """Delete data older than ``sms.purge_days`` (seed, "Configure SMS Purge Data setting")."""
        now = self.clock()
        self._next_purge = now + DAY
        gone = self._db().purge(self.config.sms.purge_days, now)
        if gone:
            days = self.config.sms.purge_days
            self._log(f"purged {len(gone)} interaction(s) older than {days} days", "info")
        return gone

    # -- views ----------------------------------------------------------------------------------------

    def interactions(self) -> list[Interaction]:
        """Every interaction the core holds."""
        return self.core.interactions()

    def view(self, interaction: Interaction) -> dict[str, Any]:
        """An interaction as the node shows, stores and mirrors it."""
        record = interaction.to_dict()
        record["deliveries"] = self._db().deliveries_of(interaction.id)
        if interaction.id in self._reasons:
            record["disconnect_reason"] = self._reasons[interaction.id]
        return record

    def interaction_views(self) -> list[dict[str, Any]]:
        """Every interaction's record."""
        return [self.view(i) for i in self.interactions()]

    def interactions_in_order(self) -> Listing:
        """Every interaction with its creation index, in creation order (``sim.cic.paging``)."""
        return self.order.listed(self.interactions())

    def _lookup(self, ids: Iterable[str]) -> list[Interaction]:
        """The interactions with these ids, in that order, each found through the core's index."""
        return [i for i in map(self.core.interaction, ids) if i is not None]

    async def _commit(self, changed: Sequence[Interaction]) -> None:
        for interaction in changed:
            record = self.view(interaction)
            self._db().put_interaction(record)
            self._idle.update(interaction)
            if self.mirror_to is not None:
                try:
                    await self.mirror_to({"interaction": record, "at": self.clock()})
                except Exception as exc:  # the backup being gone must not stop the active node
                    self._log(f"mirror of interaction {interaction.id} to the backup failed: "
                              f"{type(exc).__name__}: {exc}", "warning")

    # -- pushes ---------------------------------------------------------------------------------------

    async def handle_push(self, request: web.Request, route: Route) -> web.StreamResponse:
        """An MO or DR push on the active node: parse, hand to the core, store, mirror, answer."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            self._log(f"invalid SMS request to {route.path} (broker {route.broker}): {exc.text}", "error")
            return web.Response(status=413, text=exc.text or "request body too large")
        wire, now = self.wires[route.broker], self.clock()
        content_type = request.headers.get("Content-Type", "")
        try:
            if route.kind == "mo":
                return await self._mo(wire.parse_mo(request.query_string, content_type, body, now), now)
            return await self._dr(wire.parse_dr(request.query_string, content_type, body, now), now)
        except InputError as exc:
            self._log(f"invalid SMS request to {route.path} (broker {route.broker}, {route.kind}): {exc}",
                      "error")
            return web.Response(status=exc.status if 400 <= exc.status < 500 else 400, text=str(exc))

    async def _mo(self, sms: InboundSms, now: float) -> web.StreamResponse:
        received = self.core.receive(sms, now)
        if not received.duplicate:  # a retried push is answered 2xx again and adds nothing
            await self._commit([received.interaction])
        return web.Response(text="OK")

    async def _dr(self, receipt: DeliveryReceipt, now: float) -> web.StreamResponse:
        self.core.delivery_receipt(receipt, now)
        hit = self._db().set_delivery_state(receipt.broker, receipt.message_id, receipt.state.value,
                                            receipt.raw_status, now)
        if hit is None:
            self._log(f"delivery receipt from {receipt.broker} for unknown message {receipt.message_id!r}",
                      "warning")
        else:
            await self._commit(self._lookup([hit[0]]))
        return web.Response(text="OK")

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
        self._check_send(to, text, account, interaction_id, party)
        who = f"{party}:{sender}" if sender else party
        result = self.core.send(OutboundSms(to, text, classification, who, interaction_id), self.clock())
        if isinstance(result, Refused):
            raise InputError(result.reason, result.status)
        if result.held:
            self.timers_changed.set()
        owner = result.interaction_id or interaction_id
        if owner:
            self._remember_owner(result.correlation, owner)
        await self._commit(self._lookup([owner] if owner else []))  # the one interaction the send changed
        results = await self.send_requests(self._with_account(result.requests, account))
        return {"correlation": result.correlation, "recipient": result.recipient, "held": result.held,
                "interaction_id": owner, "requests": [r.to_dict() for r in results]}

    def _check_send(self, to: str, text: str, account: str, interaction_id: str, party: str) -> None:
        if not self._active():
            raise InputError(f"CIC node {self.name} is not the active node", 503)
        if party not in PARTIES:
            raise InputError(f"party must be one of {', '.join(PARTIES)} (got {party!r})")
        if not to or not text:
            raise InputError("'to' and 'text' must not be empty")
        if account and not any(b.account(account) for b in self.config.brokers):
            raise InputError(f"account {account!r} is not an account of any broker", 422)
        if interaction_id and self.core.interaction(interaction_id) is None:
            raise InputError(f"no interaction {interaction_id!r}", 404)

    def _remember_owner(self, correlation: str, interaction_id: str) -> None:
        self._owners[correlation] = interaction_id
        if len(self._owners) > OWNERS_LIMIT:
            self._owners.popitem(last=False)

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
        await self._commit(self._lookup(sorted(touched - {""})))
        return results

    # -- timers ---------------------------------------------------------------------------------------

    async def run_timers(self) -> None:
        """One round of the timer task: consolidated MTs due, the idle timeout, the daily purge."""
        now = self.clock()
        if self._active():
            due = self.core.due(now)
            if due:
                await self.send_requests(due)
            await self.sweep_idle(now)
        if now >= self._next_purge:
            self.purge()

    async def sweep_idle(self, now: float) -> list[str]:
        """Apply the idle timeout at ``now``; returns the ids whose state changed. No MT is ever made."""
        due = self._lookup(self._idle.due(now))  # only those whose time has come, not every one
        changes = {c.after.id: c.after.state for c in idle_changes(due, self._idle.idle, now)}
        for interaction in due:  # due yet not changing (out of step with the core): schedule it anew
            if interaction.id not in changes:
                self._idle.update(interaction)
        changed = []
        for interaction_id, state in sorted(changes.items()):
            after = self.core.set_state(interaction_id, state)
            if after is not None:
                changed.append(after)
            if state is InteractionState.DISCONNECTED:
                self._reasons[interaction_id] = IDLE_REASON
        await self._commit(changed)
        return sorted(changes)

    # -- mirror and recovery --------------------------------------------------------------------------

    def accept_mirror(self, record: dict[str, Any]) -> None:
        """Keep a mirrored record (backup side); an older copy never replaces a newer one.

        Raises:
            InputError: the record is not ``{"interaction": <interaction record>, "at": <seconds>}``.
        """
        if not isinstance(record, dict) or not isinstance(record.get("at"), (int, float)):
            raise InputError("a mirror record must be an object with 'interaction' and a numeric 'at'")
        interaction = Interaction.from_dict(record.get("interaction") or {})
        kept = self._db().mirror_record(interaction.id)
        if kept is not None:
            old = Interaction.from_dict(kept["interaction"])
            if (old.updated_at, len(old.transcript)) > (interaction.updated_at, len(interaction.transcript)):
                return
        self._db().put_mirror({"interaction": record["interaction"], "at": float(record["at"])})

    def full_sync_records(self) -> list[dict[str, Any]]:
        """Every interaction as a mirror record (for a backup that comes back)."""
        now = self.clock()
        return [{"interaction": self.view(i), "at": now} for i in self.interactions()]

    def recover(self) -> int:
        """Take over the mirrored interactions (promotion with recovery in effect); returns how many."""
        db = self._db()
        records = [r["interaction"] for r in db.mirror_records()]
        self.core.restore({"version": SNAPSHOT_VERSION, "interactions": records})
        for record in records:
            db.put_interaction(record)
            for d in record.get("deliveries", []):
                db.put_delivery(d["broker"], d["message_id"], record["id"], d["correlation"],
                                at=float(d["at"]), state=d.get("state", ""),
                                raw_status=d.get("raw_status", ""))
            if record.get("disconnect_reason"):
                self._reasons[record["id"]] = str(record["disconnect_reason"])
        self._idle.clear()
        for interaction in self.interactions():  # once per promotion, not per message
            self._idle.update(interaction)
        return len(records)

    def reset_core(self) -> None:
        """A fresh, empty core (promotion without recovery: the interactions are lost)."""
        self.core = self._new_core()
        self._db().clear(("interactions", "deliveries"))
        self._idle.clear()
        self._reasons.clear()
        self._owners.clear()

    def reset(self) -> None:
        """Forget interactions, store rows and the mirror (between tests)."""
        self.reset_core()
        self._db().clear()
