"""Tests of sim.cic.store: WAL mode, interactions, mirror, deliveries and purge by age."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.cic.store import DAY, Store


def record(interaction_id: str, updated_at: float) -> dict[str, Any]:
    """A minimal interaction record."""
    return {"id": interaction_id, "updated_at": updated_at, "transcript": []}


def test_the_store_is_in_wal_mode(tmp_path: Path) -> None:
    """PRAGMA journal_mode answers wal, and a -wal file sits next to the database once written."""
    store = Store(tmp_path / "n.sqlite")
    store.put_interaction(record("a", 1.0))
    assert "wal" == store.journal_mode()
    assert (tmp_path / "n.sqlite-wal").exists()
    store.close()


def test_purge_deletes_what_was_last_updated_more_than_n_days_ago(tmp_path: Path) -> None:
    """With now injected: 31 days old goes, 29 days old stays, in every table."""
    store = Store(tmp_path / "n.sqlite")
    now = 100 * DAY
    store.put_interaction(record("old", now - 31 * DAY))
    store.put_interaction(record("new", now - 29 * DAY))
    store.put_mirror({"interaction": record("m-old", 0.0), "at": now - 40 * DAY})
    store.put_delivery("k", "id-1", "old", "c1", at=now - 31 * DAY)
    assert ["m-old", "old"] == store.purge(30, now)
    assert (["new"], [], []) == ([r["id"] for r in store.interactions()], store.mirror_records(),
                                 store.deliveries_of("old"))
    store.close()


def test_rows_survive_reopening_and_clear_empties_the_named_tables(tmp_path: Path) -> None:
    """A node restarted on the same file finds its rows; clear(("interactions",)) keeps the mirror."""
    path = tmp_path / "n.sqlite"
    store = Store(path)
    store.put_interaction(record("a", 1.0))
    store.put_mirror({"interaction": record("b", 2.0), "at": 2.0})
    store.close()
    store = Store(path)
    assert (1, ["b"]) == (store.count(), [r["interaction"]["id"] for r in store.mirror_records()])
    store.clear(("interactions",))
    assert (0, 1) == (store.count(), len(store.mirror_records()))
    with pytest.raises(ValueError, match="unknown table"):
        store.clear(("users",))
    store.close()


def test_a_delivery_state_is_recorded_only_for_a_known_message(tmp_path: Path) -> None:
    """set_delivery_state returns the interaction and correlation, or None for an unknown id."""
    store = Store(tmp_path / "n.sqlite")
    store.put_delivery("k", "id-1", "i1", "c1", at=1.0)
    assert ("i1", "c1") == store.set_delivery_state("k", "id-1", "delivered", "Carrier Success/200", 2.0)
    assert store.set_delivery_state("k", "nope", "delivered", "", 2.0) is None
    assert [{"broker": "k", "message_id": "id-1", "correlation": "c1", "state": "delivered",
             "raw_status": "Carrier Success/200", "at": 2.0}] == store.deliveries_of("i1")
    store.close()


def test_a_file_of_the_first_schema_is_upgraded_with_its_rows(tmp_path: Path) -> None:
    """A store written before seq existed opens with every interaction, mirror and delivery row, listed oldest update first."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE interactions (id TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at REAL NOT NULL);
        CREATE TABLE mirror (id TEXT PRIMARY KEY, json TEXT NOT NULL, at REAL NOT NULL);
        CREATE TABLE deliveries (broker TEXT NOT NULL, message_id TEXT NOT NULL, interaction_id TEXT NOT NULL,
            correlation TEXT NOT NULL, state TEXT NOT NULL DEFAULT '', raw_status TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL, PRIMARY KEY (broker, message_id));
        INSERT INTO interactions VALUES ('b', '{"id": "b", "updated_at": 2.0, "transcript": []}', 2.0);
        INSERT INTO interactions VALUES ('a', '{"id": "a", "updated_at": 1.0, "transcript": []}', 1.0);
        INSERT INTO mirror VALUES ('m', '{"interaction": {"id": "m", "updated_at": 3.0, "transcript": []}, "at": 3.0}', 3.0);
        INSERT INTO deliveries VALUES ('k', 'mt-1', 'a', 'c1', '', '', 1.0);
    """)
    db.commit()
    db.close()
    store = Store(path)
    assert (["a", "b"], ["m"], ["mt-1"]) == ([r["id"] for r in store.interactions()],
                                             [r["interaction"]["id"] for r in store.mirror_records()],
                                             [d["message_id"] for d in store.deliveries_of("a")])
    store.put_interaction(record("c", 4.0))
    assert [(1, "a"), (2, "b"), (3, "c")] == [(seq, r["id"]) for seq, r in store.page(limit=10)]
    store.close()


def test_a_chunked_purge_deletes_at_most_a_chunk_per_call(tmp_path: Path) -> None:
    """purge(chunk=2) over five old rows: 2, 2, 1, then nothing; the young row stays."""
    store = Store(tmp_path / "n.sqlite")
    now = 100 * DAY
    for n in range(5):
        store.put_interaction(record(f"old-{n}", now - 31 * DAY))
    store.put_interaction(record("young", now))
    assert [2, 2, 1, 0] == [len(store.purge(30, now, chunk=2)) for _ in range(4)]
    assert ["young"] == [r["id"] for r in store.interactions()]
    store.close()


def test_mirror_versions_answer_updated_at_and_transcript_length_of_kept_copies(tmp_path: Path) -> None:
    """Only ids with a mirrored copy are answered, each with (updated_at, lines); many ids are asked in parts."""
    store = Store(tmp_path / "n.sqlite")
    store.put_mirrors([{"interaction": {**record(f"i-{n}", float(n)), "transcript": [{}] * (n % 3)}, "at": 1.0}
                       for n in range(1200)])
    versions = store.mirror_versions([f"i-{n}" for n in range(1300)])
    assert (1200, (7.0, 1), (1199.0, 2)) == (len(versions), versions["i-7"], versions["i-1199"])
    store.close()


def test_the_write_ahead_log_starts_over_and_stays_small_under_steady_writes(tmp_path: Path) -> None:
    """3,000 upserts of 2 KB records (about 48 MB of pages written): the log is checkpointed and reused as it goes."""
    store = Store(tmp_path / "n.sqlite")
    body = "x" * 2000
    for n in range(3000):
        store.put_interaction({**record(f"i-{n % 300}", float(n)), "transcript": [body]})
    wal = (tmp_path / "n.sqlite-wal").stat().st_size
    assert wal < 8_000_000, f"the WAL holds {wal} bytes"
    store.close()
