"""A node's interaction store: one SQLite file per node, in WAL mode.

Tables: ``interactions`` (the node's own records, each with a ``seq`` that orders them by first write and
the columns a page is filtered on), ``mirror`` (records mirrored to this node while it is the backup, with
what deciding whether a copy is newer needs), ``deliveries`` (broker message id -> the interaction and
message it reports on, so a DR lands on its interaction) and ``meta`` (the file's listing name).

Writes happen on the event loop's thread: one MO is one upsert and one commit, a fraction of a millisecond in
WAL mode with ``synchronous=OFF``, which keeps a committed MO through a process crash (the lab's "kill" is
SIGKILL, not a power cut), and keeps the periodic checkpoint a short copy. Whatever touches many rows (a page,
a full sync, a recovery, the purge) reads or deletes in bounded chunks, so a caller can hand the event loop
back between them (issue 20). Purge follows the SMS Technical Reference, "Configure SMS Purge Data setting":
data last updated more than ``purge_days`` days ago is deleted.

A file written by an earlier smslab (``PRAGMA user_version`` 0, no ``seq``) is brought to this schema when
opened, its rows kept.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DAY", "SCHEMA_VERSION", "TABLES", "Store", "read_open_mirror"]

DAY = 86400.0
TABLES = ("interactions", "mirror", "deliveries")
SCHEMA_VERSION = 2
WAL_LIMIT = 16 * 1024 * 1024  # bytes of write-ahead log kept on disk once it starts over

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL,
    state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS interactions_updated ON interactions (updated_at);
CREATE INDEX IF NOT EXISTS interactions_customer ON interactions (customer, seq);
CREATE TABLE IF NOT EXISTS mirror (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL,
    state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, lines INTEGER NOT NULL,
    json TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS mirror_at ON mirror (at);
CREATE INDEX IF NOT EXISTS mirror_created ON mirror (created_at, id);
CREATE TABLE IF NOT EXISTS deliveries (
    broker TEXT NOT NULL, message_id TEXT NOT NULL, interaction_id TEXT NOT NULL, correlation TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '', raw_status TEXT NOT NULL DEFAULT '', at REAL NOT NULL,
    PRIMARY KEY (broker, message_id));
-- every commit reads one interaction's deliveries: by index, not by a scan of all (issue 20)
CREATE INDEX IF NOT EXISTS deliveries_interaction ON deliveries (interaction_id);
CREATE INDEX IF NOT EXISTS deliveries_at ON deliveries (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_UPSERT = ("INSERT INTO interactions (id, customer, state, created_at, updated_at, json) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET customer = excluded.customer, "
           "state = excluded.state, created_at = excluded.created_at, updated_at = excluded.updated_at, "
           "json = excluded.json")  # an update keeps the row's seq: its place in the listing
_UPSERT_MIRROR = ("INSERT INTO mirror (id, customer, state, created_at, updated_at, lines, json, at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                  "customer = excluded.customer, state = excluded.state, created_at = excluded.created_at, "
                  "updated_at = excluded.updated_at, lines = excluded.lines, json = excluded.json, "
                  "at = excluded.at")
_OPEN_MIRROR = "SELECT json FROM mirror WHERE state != 'disconnected' ORDER BY created_at, id"
# A recovery copies a chunk of the mirror into the node's own tables inside SQLite: no JSON crosses Python.
_CHUNK = "FROM mirror WHERE (created_at, id) > (?, ?) AND (created_at, id) <= (?, ?)"
_TAKE_INTERACTIONS = ("INSERT INTO interactions (id, customer, state, created_at, updated_at, json) "
                      f"SELECT id, customer, state, created_at, updated_at, json {_CHUNK} "
                      "ORDER BY created_at, id ON CONFLICT (id) DO UPDATE SET customer = excluded.customer, "
                      "state = excluded.state, created_at = excluded.created_at, "
                      "updated_at = excluded.updated_at, json = excluded.json")
_TAKE_DELIVERIES = ("INSERT OR REPLACE INTO deliveries (broker, message_id, interaction_id, correlation, "
                    "state, raw_status, at) SELECT json_extract(d.value, '$.broker'), "
                    "json_extract(d.value, '$.message_id'), m.id, json_extract(d.value, '$.correlation'), "
                    "coalesce(json_extract(d.value, '$.state'), ''), "
                    "coalesce(json_extract(d.value, '$.raw_status'), ''), json_extract(d.value, '$.at') "
                    f"FROM (SELECT id, json {_CHUNK} AND json_array_length(json, '$.deliveries') > 0) m, "
                    "json_each(m.json, '$.deliveries') d")


def _statements() -> list[str]:
    lines = [line for line in _SCHEMA.splitlines() if not line.startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def _row(record: dict[str, Any]) -> tuple[str, str, str, float, float, str]:
    updated = float(record["updated_at"])
    return (record["id"], str(record.get("customer", "")), str(record.get("state", "active")),
            float(record.get("created_at", updated)), updated, json.dumps(record))


def _mirror_row(record: dict[str, Any]) -> tuple[str, str, str, float, float, int, str, float]:
    interaction = record["interaction"]
    updated = float(interaction.get("updated_at", 0.0))
    return (interaction["id"], str(interaction.get("customer", "")), str(interaction.get("state", "active")),
            float(interaction.get("created_at", updated)), updated, len(interaction.get("transcript", ())),
            json.dumps(interaction), float(record["at"]))


def _mirrored(text: str, at: float) -> dict[str, Any]:
    return {"interaction": json.loads(text), "at": at}


def read_open_mirror(path: str) -> list[dict[str, Any]]:
    """The interaction records of the mirror that have not ended, read over a connection of their own (so
    that a worker thread can read them while the event loop's connection goes on)."""
    db = sqlite3.connect(path, check_same_thread=False)
    try:
        return [json.loads(text) for text, in db.execute(_OPEN_MIRROR)]
    finally:
        db.close()


class Store:
    """The SQLite store of one node.

    Args:
        path: the database file (created with its tables when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # OFF: a commit is handed to the operating system and not synced. A committed MO still survives the
        # lab's "kill" (SIGKILL: the system has the data), not a power cut. With a sync, the checkpoint that
        # falls due every 1,000 pages of log synced the whole file on the event loop: up to 400 ms, measured
        # in a full sync of 50,000 records; without, it is a copy of a few megabytes.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")  # a log started over is cut back to this
        if int(self._db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
            self._upgrade()
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('listing', ?)", (uuid.uuid4().hex,))
        self.listing = str(self._db.execute("SELECT value FROM meta WHERE key = 'listing'").fetchone()[0])

    def _upgrade(self) -> None:
        """Bring a version-1 file (``interactions``/``mirror`` without ``seq``) to this schema, rows kept."""
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        old: dict[str, list[Any]] = {}
        with self._db:
            self._db.execute("BEGIN")
            for table, order in (("interactions", "updated_at, id"), ("mirror", "at, id")):
                if table in tables:
                    old[table] = [json.loads(r[0]) for r in
                                  self._db.execute(f"SELECT json FROM {table} ORDER BY {order}")]
                    self._db.execute(f"DROP TABLE {table}")  # the names are fixed above
            self._db.execute("DROP INDEX IF EXISTS interactions_updated")
            for statement in _statements():
                self._db.execute(statement)
            self._db.executemany(_UPSERT, map(_row, old.get("interactions", [])))
            self._db.executemany(_UPSERT_MIRROR, map(_mirror_row, old.get("mirror", [])))
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def journal_mode(self) -> str:
        """The database's journal mode (``wal``)."""
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._db.close()

    # -- the node's interactions ------------------------------------------------------------------------

    def put_interaction(self, record: dict[str, Any]) -> None:
        """Insert or update one interaction record (``Interaction.to_dict()`` plus the node's extras)."""
        self._db.execute(_UPSERT, _row(record))

    def put_interactions(self, records: Iterable[dict[str, Any]]) -> None:
        """Insert or update many records in one transaction (a chunk of a recovery)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT, map(_row, records))

    def interaction(self, interaction_id: str) -> dict[str, Any] | None:
        """One stored record, or ``None``."""
        row = self._db.execute("SELECT json FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def interactions(self) -> list[dict[str, Any]]:
        """Every stored record, first written first (for tests and small stores; pages use ``page``)."""
        return [json.loads(row[0]) for row in self._db.execute("SELECT json FROM interactions ORDER BY seq")]

    def count(self) -> int:
        """How many interactions are stored."""
        return int(self._db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])

    def page(self, *, after_seq: int = 0, after_mark: tuple[float, str] | None = None,
             customer: str | None = None, state: str | None = None, since: float | None = None,
             limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Up to ``limit`` ``(seq, record)`` in seq order, after ``after_seq`` (or, with ``after_mark``, after
        that ``(created_at, id)``), filtered by exact customer, state, and ``updated_at >= since``."""
        where, args = ["seq > ?"], list[Any]([after_seq])
        if after_mark is not None:
            where.append("(created_at > ? OR (created_at = ? AND id > ?))")
            args += [after_mark[0], after_mark[0], after_mark[1]]
        for column, value in (("customer = ?", customer), ("state = ?", state), ("updated_at >= ?", since)):
            if value is not None:
                where.append(column)
                args.append(value)
        query = f"SELECT seq, json FROM interactions WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        return [(int(seq), json.loads(text)) for seq, text in self._db.execute(query, (*args, limit))]

    def purge(self, older_than_days: float, now: float, chunk: int = 0) -> list[str]:
        """Delete what was last updated more than ``older_than_days`` days before ``now``.

        Args:
            chunk: at most this many interactions and as many mirror rows per call (0: every one); a caller
                that hands the loop back between calls repeats until nothing is left.

        Returns:
            the ids deleted (their deliveries and mirror rows go too).
        """
        cutoff = now - older_than_days * DAY
        limit = f" LIMIT {int(chunk)}" if chunk > 0 else ""
        ids = [r[0] for r in self._db.execute(f"SELECT id FROM interactions WHERE updated_at < ?{limit}",
                                              (cutoff,))]
        mirrored = [r[0] for r in self._db.execute(f"SELECT id FROM mirror WHERE at < ?{limit}", (cutoff,))]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM interactions WHERE id = ?", ((i,) for i in ids))
            self._db.executemany("DELETE FROM mirror WHERE id = ?", ((i,) for i in mirrored))
            self._db.execute("DELETE FROM deliveries WHERE rowid IN "
                             f"(SELECT rowid FROM deliveries WHERE at < ?{limit})", (cutoff,))
        return sorted(set(ids) | set(mirrored))

    # -- the mirror (backup side) -----------------------------------------------------------------------

    def put_mirror(self, record: dict[str, Any]) -> None:
        """Upsert a mirror record ``{"interaction": {...}, "at": float}``."""
        self._db.execute(_UPSERT_MIRROR, _mirror_row(record))

    def put_mirrors(self, records: Sequence[dict[str, Any]]) -> None:
        """Upsert many mirror records in one transaction (a chunk of a full sync)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT_MIRROR, map(_mirror_row, records))

    def mirror_versions(self, ids: Sequence[str]) -> dict[str, tuple[float, int]]:
        """id -> ``(updated_at, transcript lines)`` of the mirrored copies of ``ids`` that exist."""
        out: dict[str, tuple[float, int]] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit is far above 500
            part = ids[start:start + 500]
            marks = ", ".join("?" * len(part))
            for key, updated, lines in self._db.execute(
                    f"SELECT id, updated_at, lines FROM mirror WHERE id IN ({marks})", part):
                out[str(key)] = (float(updated), int(lines))
        return out

    def mirror_records(self) -> list[dict[str, Any]]:
        """Every mirror record, oldest first (for tests and small stores; a recovery uses ``take_over``)."""
        rows = self._db.execute("SELECT json, at FROM mirror ORDER BY at, id")
        return [_mirrored(text, at) for text, at in rows]

    def open_mirror_records(self) -> list[dict[str, Any]]:
        """``read_open_mirror`` over this connection (a store in memory has no file to open again)."""
        return [json.loads(text) for text, in self._db.execute(_OPEN_MIRROR)]

    def take_over(self, after: tuple[float, str] | None, limit: int) -> tuple[tuple[float, str], int] | None:
        """Copy up to ``limit`` mirror records, first created first after ``(created_at, id)`` ``after``, into
        the node's interactions and deliveries, in one transaction inside SQLite.

        Returns:
            the last ``(created_at, id)`` copied and how many were, or ``None`` when nothing was left.
        """
        low = after or (float("-inf"), "")
        marks = self._db.execute("SELECT created_at, id FROM mirror WHERE (created_at, id) > (?, ?) "
                                 "ORDER BY created_at, id LIMIT ?", (*low, limit)).fetchall()
        if not marks:
            return None
        high = (float(marks[-1][0]), str(marks[-1][1]))
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(_TAKE_INTERACTIONS, (*low, *high))
            self._db.execute(_TAKE_DELIVERIES, (*low, *high))
        return high, len(marks)

    def mirror_count(self) -> int:
        """How many mirror records are kept."""
        return int(self._db.execute("SELECT COUNT(*) FROM mirror").fetchone()[0])

    # -- deliveries ---------------------------------------------------------------------------------------

    def put_deliveries(self, rows: Iterable[tuple[str, str, str, str, str, str, float]]) -> None:
        """Insert or replace many ``(broker, message_id, interaction_id, correlation, state, raw_status, at)``
        in one transaction (a chunk of a recovery)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO deliveries (broker, message_id, interaction_id, "
                                 "correlation, state, raw_status, at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

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
        row = self._db.execute("SELECT json, at FROM mirror WHERE id = ?", (interaction_id,)).fetchone()
        return None if row is None else _mirrored(row[0], row[1])

    def clear(self, tables: tuple[str, ...] = TABLES, chunk: int = 0) -> int:
        """Delete every row of ``tables`` (all of them by default), or at most ``chunk`` of each.

        Returns:
            how many rows were deleted (with ``chunk``, a caller repeats until this is 0).
        """
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown table(s) {sorted(unknown)}")
        deleted = 0
        with self._db:
            self._db.execute("BEGIN")
            for table in tables:  # the names are the fixed TABLES
                where = f" WHERE rowid IN (SELECT rowid FROM {table} LIMIT {int(chunk)})" if chunk > 0 else ""
                deleted += self._db.execute(f"DELETE FROM {table}{where}").rowcount
        return deleted
