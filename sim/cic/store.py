"""A node's interaction store: one SQLite file per node, in WAL mode.

Tables: ``interactions`` (the node's own records: id, JSON, last update), ``mirror`` (records mirrored to
this node while it is the backup: id, JSON, when mirrored) and ``deliveries`` (broker message id ->
the interaction and message it reports on, so a DR lands on its interaction).

Writes happen on the event loop's thread: one MO is one upsert and one commit, a fraction of a millisecond
in WAL mode with ``synchronous=NORMAL``, which keeps a committed MO through a process crash (the lab's
"kill" is SIGKILL, not a power cut). Purge follows the seed's "Configure SMS Purge Data setting": data
last updated more than ``purge_days`` days ago is deleted.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["DAY", "TABLES", "Store"]

DAY = 86400.0
TABLES = ("interactions", "mirror", "deliveries")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (id TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS interactions_updated ON interactions (updated_at);
CREATE TABLE IF NOT EXISTS mirror (id TEXT PRIMARY KEY, json TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    broker TEXT NOT NULL, message_id TEXT NOT NULL, interaction_id TEXT NOT NULL, correlation TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '', raw_status TEXT NOT NULL DEFAULT '', at REAL NOT NULL,
    PRIMARY KEY (broker, message_id));
-- every commit reads one interaction's deliveries: by index, not by a scan of all (issue 20)
CREATE INDEX IF NOT EXISTS deliveries_interaction ON deliveries (interaction_id);
"""


class Store:
    """The SQLite store of one node.

    Args:
        path: the database file (created with its tables when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def journal_mode(self) -> str:
        """The database's journal mode (``wal``)."""
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._db.close()

    # -- the node's interactions ------------------------------------------------------------------------

    def put_interaction(self, record: dict[str, Any]) -> None:
        """Insert or replace one interaction record (``Interaction.to_dict()`` plus the node's extras)."""
        self._db.execute("INSERT OR REPLACE INTO interactions (id, json, updated_at) VALUES (?, ?, ?)",
                         (record["id"], json.dumps(record), float(record["updated_at"])))

    def interactions(self) -> list[dict[str, Any]]:
        """Every stored interaction record, oldest update first."""
        rows = self._db.execute("SELECT json FROM interactions ORDER BY updated_at, id")
        return [json.loads(row[0]) for row in rows]

    def count(self) -> int:
        """How many interactions are stored."""
        return int(self._db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])

    def purge(self, older_than_days: float, now: float) -> list[str]:
        """Delete interactions last updated more than ``older_than_days`` days before ``now``.

        Returns:
            the ids deleted (their deliveries and mirror rows go too).
        """
        cutoff = now - older_than_days * DAY
        ids = [r[0] for r in self._db.execute("SELECT id FROM interactions WHERE updated_at < ?", (cutoff,))]
        ids += [r[0] for r in self._db.execute("SELECT id FROM mirror WHERE at < ?", (cutoff,))]
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM interactions WHERE updated_at < ?", (cutoff,))
            self._db.execute("DELETE FROM mirror WHERE at < ?", (cutoff,))
            self._db.execute("DELETE FROM deliveries WHERE at < ?", (cutoff,))
        return sorted(set(ids))

    # -- the mirror (backup side) -----------------------------------------------------------------------

    def put_mirror(self, record: dict[str, Any]) -> None:
        """Upsert a mirror record ``{"interaction": {...}, "at": float}``."""
        self._db.execute("INSERT OR REPLACE INTO mirror (id, json, at) VALUES (?, ?, ?)",
                         (record["interaction"]["id"], json.dumps(record), float(record["at"])))

    def mirror_records(self) -> list[dict[str, Any]]:
        """Every mirror record, oldest first."""
        return [json.loads(r[0]) for r in self._db.execute("SELECT json FROM mirror ORDER BY at, id")]

    # -- deliveries ---------------------------------------------------------------------------------------

    def put_delivery(self, broker: str, message_id: str, interaction_id: str, correlation: str, *,
                     at: float, state: str = "", raw_status: str = "") -> None:
        """Remember which interaction and message a broker message id belongs to (and its state)."""
        self._db.execute("INSERT OR REPLACE INTO deliveries (broker, message_id, interaction_id, correlation,"
                         " state, raw_status, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (broker, message_id, interaction_id, correlation, state, raw_status, at))

    def set_delivery_state(self, broker: str, message_id: str, state: str, raw_status: str,
                           at: float) -> tuple[str, str] | None:
        """Record a DR's state; returns ``(interaction_id, correlation)`` when the message is known."""
        row = self._db.execute("SELECT interaction_id, correlation FROM deliveries WHERE broker = ? AND "
                               "message_id = ?", (broker, message_id)).fetchone()
        if row is None:
            return None
        self._db.execute("UPDATE deliveries SET state = ?, raw_status = ?, at = ? WHERE broker = ? AND "
                         "message_id = ?", (state, raw_status, at, broker, message_id))
        return str(row[0]), str(row[1])

    def deliveries_of(self, interaction_id: str) -> list[dict[str, Any]]:
        """The deliveries recorded for one interaction, in the order they were sent."""
        query = ("SELECT broker, message_id, correlation, state, raw_status, at FROM deliveries "
                 "WHERE interaction_id = ? ORDER BY rowid")
        rows = self._db.execute(query, (interaction_id,))
        keys = ("broker", "message_id", "correlation", "state", "raw_status", "at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def mirror_record(self, interaction_id: str) -> dict[str, Any] | None:
        """The mirror record of one interaction, if any."""
        row = self._db.execute("SELECT json FROM mirror WHERE id = ?", (interaction_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def clear(self, tables: tuple[str, ...] = TABLES) -> None:
        """Delete every row of ``tables`` (all of them by default)."""
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown table(s) {sorted(unknown)}")
        with self._db:
            self._db.execute("BEGIN")
            for table in tables:
                self._db.execute(f"DELETE FROM {table}")  # the names are the fixed TABLES
