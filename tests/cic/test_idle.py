"""Tests of sim.cic.idle and the node's idle sweep: idle, then disconnected, and never an MT."""

from __future__ import annotations

from nodekit import Clock, call, config, fake, kaleyra, running

from sim.cic.idle import idle_changes, next_idle_check
from sim.core.config import IdleTimeout
from sim.core.interactions import Direction, Interaction, InteractionState, TranscriptEntry
from sim.core.routing import Destination, DestinationKind

ON = IdleTimeout(True, 120.0, 60.0)
MO = {"device_address": "13175550123", "inbound_address": "8005550100", "message": "Hello", "message_id": "m-1"}


def chat(last_in: float) -> Interaction:
    """An interaction whose customer last wrote at ``last_in`` (an agent line comes later)."""
    return Interaction("i1", "+1317", "800", "k", Destination(DestinationKind.CHAT), created_at=0.0,
                       transcript=(TranscriptEntry(Direction.INBOUND, "hi", last_in),
                                   TranscriptEntry(Direction.OUTBOUND, "yes?", last_in + 100)))


def test_idle_after_party_idle_time_and_disconnected_after_the_grace() -> None:
    """Agent lines do not count: 119 s nothing, 120 s idle, 180 s disconnected; off means never."""
    assert [] == idle_changes([chat(0.0)], ON, 119.0)
    assert [InteractionState.IDLE] == [c.after.state for c in idle_changes([chat(0.0)], ON, 120.0)]
    assert [InteractionState.DISCONNECTED] == [c.after.state for c in idle_changes([chat(0.0)], ON, 180.0)]
    assert [] == idle_changes([chat(0.0)], IdleTimeout(False, 1.0, 1.0), 1e9)
    assert (120.0, None) == (next_idle_check([chat(0.0)], ON),
                             next_idle_check([chat(0.0)], IdleTimeout(False, 1.0, 1.0)))


async def test_the_node_disconnects_an_idle_sms_chat_without_sending_anything() -> None:
    """Settings: SMS override 120 s + 60 s grace; at 181 s the chat is disconnected and the broker got no MT."""
    clock = Clock()
    web_services = {"parameters": {"EnableIdleTimeout": 1, "PartyIdleTime": 300, "PartyIdleGraceTime": 60},
                    "settings_sms": {"CUSTOM::OPTION:PartyIdleTime": 120}}
    async with fake("kaleyra", "k", {}) as broker, running(config(
            kaleyra(gateway=broker.url), route_to=("kaleyra", "main"), web_services=web_services),
            clock=clock) as node:
        assert (200, "OK") == await call("POST", node.sms_urls["kaleyra"], data=MO)
        clock.now += 130
        assert [] == await node.records.sweep_idle(clock.now - 11)
        await node.records.run_timers()
        assert InteractionState.IDLE == node.records.interactions()[0].state
        clock.now += 51
        await node.records.run_timers()
        [record] = node.records.interaction_views()
        assert ("disconnected", "idle timeout") == (record["state"], record["disconnect_reason"])
        assert ("disconnected", []) == (node.records.store.interactions()[0]["state"], broker.capture.query(kind="mt"))
