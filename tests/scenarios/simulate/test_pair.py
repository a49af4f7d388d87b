"""Tests for scenarios.simulate.pair: the switchover table's commands carried out in virtual time."""

from __future__ import annotations

from typing import Any

import simpy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scenarios.simulate.pair import SimNode, SimPair
from sim.cic.pair_settings import PairSettings
from sim.cic.settings import BackupAnswer, NodeSettings
from sim.core.config import CicConfig
from sim.core.protocol import CoreContext
from sim.core.reference import ReferenceCore
from sim.core.switchover import Server, Timers, Watch


def make_pair(**settings: Any) -> tuple[simpy.Environment, SimPair, list[tuple[float, str, dict[str, Any]]]]:
    """A pair on a fresh environment with the default timers, and the list its notes go to."""
    env = simpy.Environment()
    ids = iter(range(10**9))

    def core() -> ReferenceCore:
        return ReferenceCore(CicConfig(), CoreContext(lambda: f"i{next(ids)}", lambda: 1))

    notes: list[tuple[float, str, dict[str, Any]]] = []
    primary = SimNode("primary", Server.A, NodeSettings("primary"), core)
    backup = SimNode("backup", Server.B, NodeSettings("backup"), core)
    pair = SimPair(env, primary, backup, PairSettings(**settings), lambda t, w, f: notes.append((t, w, f)))
    pair.start()
    return env, pair, notes


def at(env: simpy.Environment, when: float, action: Any) -> None:
    """Run ``action`` at ``when`` seconds."""
    env.timeout(when).callbacks.append(lambda _e: action())


def test_a_killed_primary_is_replaced_after_the_retry_and_the_takeover() -> None:
    """Killed at 2.5 s: the ping at 3 s fails, the retry at 4 s fails, the backup holds the role at 9 s."""
    env, pair, notes = make_pair()
    primary, backup = pair.nodes[Server.A], pair.nodes[Server.B]
    at(env, 2.5, lambda: pair.fail(primary, "kill"))
    env.run(until=30)
    assert pair.active is backup
    assert [t for t, what, _ in notes if what == "promote"] == [9.0]
    assert pair.takeovers == [6.5]
    assert pair.watch is Watch.NO_BACKUP


def test_a_hung_primary_is_replaced_after_two_ping_timeouts() -> None:
    """Hung at 2.5 s: each ping waits the 10 s TS timeout, so the takeover ends at 3 + 10 + 1 + 10 + 5 s."""
    env, pair, notes = make_pair()
    at(env, 2.5, lambda: pair.fail(pair.nodes[Server.A], "hang"))
    env.run(until=60)
    assert [t for t, what, _ in notes if what == "promote"] == [29.0]
    assert pair.takeovers == [26.5]


def test_the_timers_set_the_takeover_time() -> None:
    """With three failures allowed, a 2 s retry and a 1 s takeover, a kill at 0.5 s ends at 1 + 2 + 2 + 1 s."""
    env, pair, _ = make_pair(timers=Timers(retry_delay=2.0, max_failures=3, takeover_time=1.0))
    at(env, 0.5, lambda: pair.fail(pair.nodes[Server.A], "kill"))
    env.run(until=30)
    assert pair.takeovers == [5.5]


def test_a_manual_only_pair_never_takes_over() -> None:
    """Servers on different releases: the backup keeps failing its pings and never promotes itself."""
    env, pair, notes = make_pair(manual_only=True)
    at(env, 2.5, lambda: pair.fail(pair.nodes[Server.A], "kill"))
    env.run(until=120)
    assert pair.active is pair.nodes[Server.A]
    assert [what for _, what, _ in notes if what == "promote"] == []


def test_an_isolated_backup_does_not_switch() -> None:
    """The backup's NetTest fails: it assumes its own network is broken and stays ISOLATED."""
    env, pair, _ = make_pair()
    at(env, 0.5, lambda: pair.fail(pair.nodes[Server.B], "isolate"))
    at(env, 2.5, lambda: pair.fail(pair.nodes[Server.A], "kill"))
    env.run(until=30)
    assert pair.watch is Watch.ISOLATED
    assert pair.active is pair.nodes[Server.A]


def test_recovery_carries_the_mirrored_mos_over() -> None:
    """With SMS Interaction Recovery in effect, every MO the old active node acknowledged is on the new one."""
    env, pair, _ = make_pair(recovery=True)
    primary, backup = pair.nodes[Server.A], pair.nodes[Server.B]
    at(env, 1.5, lambda: [pair.stored(primary, f"mo-{n}") for n in range(5)])
    at(env, 2.5, lambda: pair.fail(primary, "kill"))
    env.run(until=30)
    assert backup.held == {f"mo-{n}" for n in range(5)}
    assert pair.unrecovered == 0


def test_without_recovery_the_old_active_nodes_mos_are_unrecovered() -> None:
    """Recovery off: the new active node starts empty and the acknowledged MOs count as unrecovered."""
    env, pair, _ = make_pair(recovery=False)
    primary, backup = pair.nodes[Server.A], pair.nodes[Server.B]
    at(env, 1.5, lambda: [pair.stored(primary, f"mo-{n}") for n in range(3)])
    at(env, 2.5, lambda: pair.fail(primary, "kill"))
    env.run(until=30)
    assert backup.held == set()
    assert pair.unrecovered == 3


def test_mos_stored_while_the_backup_is_down_come_back_by_full_sync() -> None:
    """A backup killed and restored gets a full sync of what it missed (PEER_RESTORED), before any switch."""
    env, pair, notes = make_pair(recovery=True)
    primary, backup = pair.nodes[Server.A], pair.nodes[Server.B]
    at(env, 1.5, lambda: pair.fail(backup, "kill"))
    at(env, 2.0, lambda: pair.stored(primary, "missed"))
    at(env, 3.0, lambda: pair.restore(backup))
    env.run(until=5)
    assert "missed" in backup.mirror
    assert "full-sync" in [what for _, what, _ in notes]


def test_a_restored_old_primary_rejoins_as_the_backup() -> None:
    """After the takeover, the killed primary comes back as the backup and the watch is MONITORING again."""
    env, pair, _ = make_pair()
    primary, backup = pair.nodes[Server.A], pair.nodes[Server.B]
    at(env, 2.5, lambda: pair.fail(primary, "kill"))
    at(env, 20, lambda: pair.restore(primary))
    env.run(until=30)
    assert pair.active is backup
    assert pair.other is primary
    assert not primary.down
    assert pair.watch is Watch.MONITORING


def test_a_manual_switchover_swaps_the_roles_and_keeps_both_up() -> None:
    """The button: the backup takes over after the takeover time and the old active rejoins as backup."""
    env, pair, _ = make_pair()
    at(env, 1.5, pair.switchover)
    env.run(until=10)
    assert pair.active is pair.nodes[Server.B]
    assert pair.takeovers == [5.0]
    assert pair.watch is Watch.MONITORING


def test_a_backup_that_answers_404_is_read_as_that_status() -> None:
    """A backup set to answer 404 gives the proxy that status, not a reset."""
    settings = NodeSettings("b", backup_answer=BackupAnswer.NOT_FOUND)
    node = SimNode("b", Server.B, settings, lambda: ReferenceCore(CicConfig(), CoreContext(str, int)))
    assert node.answer(active=False) == ("404", 0.0)
    assert node.answer(active=True) == ("serve", 0.0)


ACTIONS = st.lists(st.tuples(st.sampled_from(["kill", "hang", "slow", "partition", "isolate", "restore",
                                              "switchover"]),
                             st.sampled_from([Server.A, Server.B]), st.floats(0.1, 20.0)), max_size=12)


@settings(max_examples=60, deadline=None)
@example([("kill", Server.A, 1.0), ("switchover", Server.A, 1.0), ("restore", Server.A, 1.0)], False)
@given(ACTIONS, st.booleans())
def test_any_sequence_of_faults_keeps_exactly_one_active_node(actions: list[tuple[str, Server, float]],
                                                              recovery: bool) -> None:
    """Whatever the lab does, one server is active, and a dead one is replaced while a live backup watches."""
    env, pair, _ = make_pair(recovery=recovery)
    when, ids = 0.0, iter(range(10**6))

    def act(action: str, server: Server) -> None:
        node = pair.nodes[server]
        if action == "restore":
            pair.restore(node)
        elif action == "switchover":
            pair.switchover()
        else:
            pair.fail(node, action)
        active = pair.active
        if not active.dead:
            pair.stored(active, f"mo-{next(ids)}")

    for action, server, gap in actions:
        when += gap
        at(env, when, lambda a=action, s=server: act(a, s))
    env.run(until=when + 60)
    assert pair.active is not pair.other
    if not pair.promotions:
        assert pair.unrecovered == 0
    assert len(pair.takeovers) <= pair.promotions
    watching = not pair.other.dead and pair.watch is not Watch.ISOLATED
    assert not (pair.active.dead and watching), "a dead active node with a live backup watching it stayed"
