"""The log's tables in the event store, beside the events: stored tree hashes, leaves and
signed checkpoints.

- ``talkstream_tree(leaf, position, hash, nodes)``: one row per leaf, written once, never
  changed. Leaf ``leaf`` is the event at ``position`` with event hash ``hash`` (32 bytes); the
  tree's size is the number of rows. ``nodes`` holds the stored hashes that appending this leaf
  made, in ``events.tlog.stored_hash_index`` order: the leaf hash, then the hash of every
  perfect subtree it completed (as many as the leaf index has trailing 1 bits), so the dense
  numbering is kept (stored hash ``2j - popcount(j) + level`` is hash ``level`` of row ``j``)
  at one row per event. Positions may have gaps (PostgreSQL sequences skip), so a position's
  leaf is looked up by its unique index.
- ``talkstream_checkpoints(size, root, note, made_at)``: each signed checkpoint, once per size.

An append writes its leaves and hashes in one transaction; two writers racing on the same
leaves collide on the primary key and the loser gets ``False`` (it reads the tree again).
"""

from __future__ import annotations

import base64
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL, Identifier

from events.tlog import stored_hash_index
from events.tlog.merkle import NodeId
from services.recorder.store import (
    MemoryRecorder,
    OneTryPostgresRecorder,
    SQLiteRecorder,
    StoreRecorder,
    reaching_store,
)

TREE_TABLE = "talkstream_tree"
CHECKPOINTS_TABLE = "talkstream_checkpoints"


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint as stored: ``note`` is the signed note, exactly as served."""

    size: int
    root: bytes
    note: str
    made_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "note": self.note,
            "made_at": self.made_at.isoformat(),
        }


@dataclass(frozen=True)
class Leaf:
    """Leaf ``index`` of the tree: the event at ``position`` whose hash is ``event_hash``."""

    index: int
    position: int
    event_hash: bytes


class LedgerTables(ABC):
    """Reads and writes of the log's tables; every call turns store failures into
    ``StoreUnavailable``."""

    def __init__(self, store: str) -> None:
        self.store = store

    @abstractmethod
    def size(self) -> int:
        """How many leaves the stored tree has."""

    @abstractmethod
    def last_leaf(self) -> Leaf | None:
        """The tree's last leaf, if any."""

    @abstractmethod
    def nodes(self, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """The stored hashes of these nodes (those that exist), in one query."""

    @abstractmethod
    def leaves(self, first: int, count: int) -> list[Leaf]:
        """Up to ``count`` leaves from index ``first``, in order."""

    def leaf_rows(self, first: int, count: int) -> list[tuple[int, int, bytes]]:
        """``(index, position, event_hash)`` of up to ``count`` leaves from index ``first``,
        in order (no object per leaf: the audit reads every leaf)."""
        return [(f.index, f.position, f.event_hash) for f in self.leaves(first, count)]

    @abstractmethod
    def leaf_at(self, position: int) -> Leaf | None:
        """The leaf of the event at ``position``, if the tree has it."""

    @abstractmethod
    def events_after(self, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        """Up to ``limit`` stored events after ``position``: (position, topic, stored bytes),
        read straight from the event table (the writer's cheap read)."""

    @abstractmethod
    def append(self, leaves: Sequence[Leaf], hashes: Sequence[tuple[NodeId, bytes]]) -> bool:
        """Stores new leaves and hashes in one transaction; False if another writer stored
        some of them first (nothing is stored then)."""

    @abstractmethod
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        """Stores a checkpoint unless one of its size is stored; returns the stored one."""

    @abstractmethod
    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        """Checkpoints of size greater than ``after``, smallest first."""

    @abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest size."""


def node_row(node: NodeId) -> tuple[int, int]:
    """The row (leaf index) holding a stored hash, and its place in the row's ``nodes``."""
    level, index = node
    return ((index + 1) << level) - 1, level


def grouped(hashes: Sequence[tuple[NodeId, bytes]]) -> dict[int, bytes]:
    """The ``nodes`` of each row, from hashes in stored-hash-index order (as
    ``append_leaves`` makes them: each leaf hash, then the subtrees it completes)."""
    rows: dict[int, bytes] = {}
    row, values = -1, b""
    for (level, index), value in hashes:
        if level == 0:
            if values:
                rows[row] = values
            row, values = index, value
        elif row != ((index + 1) << level) - 1 or len(values) != 32 * level:
            raise ValueError(f"stored hash {(level, index)} out of order")
        else:
            values += value
    if values:
        rows[row] = values
    return rows


def _picked(nodes: Sequence[NodeId], rows: dict[int, bytes]) -> dict[NodeId, bytes]:
    found: dict[NodeId, bytes] = {}
    for node in nodes:
        row, place = node_row(node)
        data = rows.get(row)
        if data is not None and len(data) >= (place + 1) * 32:
            found[node] = data[place * 32 : (place + 1) * 32]
    return found


def _made_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


class SQLiteLedger(LedgerTables):
    def __init__(self, recorder: SQLiteRecorder) -> None:
        super().__init__("sqlite")
        self.datastore = recorder.datastore
        self.events_table = recorder.events_table_name
        with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TREE_TABLE} (leaf INTEGER PRIMARY KEY, "
                "position INTEGER NOT NULL UNIQUE, hash BLOB NOT NULL, nodes BLOB NOT NULL)"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (size INTEGER PRIMARY KEY, "
                "root BLOB NOT NULL, note TEXT NOT NULL, made_at TEXT NOT NULL)"
            )

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with reaching_store(self.store), self.datastore.transaction(commit=False) as c:
            c.execute(statement, tuple(params))
            return list(c.fetchall())

    def size(self) -> int:
        leaf = self.last_leaf()
        return 0 if leaf is None else leaf.index + 1

    def last_leaf(self) -> Leaf | None:
        rows = self._rows(
            f"SELECT leaf, position, hash FROM {TREE_TABLE} ORDER BY leaf DESC LIMIT 1"  # noqa: S608
        )
        return _leaf(rows[0]) if rows else None

    def nodes(self, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
        rows = sorted({node_row(node)[0] for node in nodes})
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self._rows(
            f"SELECT leaf, nodes FROM {TREE_TABLE} WHERE leaf IN ({marks})",  # noqa: S608
            rows,
        )
        return _picked(nodes, {row[0]: bytes(row[1]) for row in found})

    def leaves(self, first: int, count: int) -> list[Leaf]:
        rows = self._rows(
            f"SELECT leaf, position, hash FROM {TREE_TABLE} "  # noqa: S608
            "WHERE leaf >= ? ORDER BY leaf LIMIT ?",
            (first, count),
        )
        return [_leaf(row) for row in rows]

    def leaf_rows(self, first: int, count: int) -> list[tuple[int, int, bytes]]:
        return self._rows(
            f"SELECT leaf, position, hash FROM {TREE_TABLE} "  # noqa: S608
            "WHERE leaf >= ? ORDER BY leaf LIMIT ?",
            (first, count),
        )

    def leaf_at(self, position: int) -> Leaf | None:
        rows = self._rows(
            f"SELECT leaf, position, hash FROM {TREE_TABLE} WHERE position = ?",  # noqa: S608
            (position,),
        )
        return _leaf(rows[0]) if rows else None

    def append(self, leaves: Sequence[Leaf], hashes: Sequence[tuple[NodeId, bytes]]) -> bool:
        nodes = grouped(hashes)
        try:
            with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
                c.executemany(
                    f"INSERT INTO {TREE_TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                    [(f.index, f.position, f.event_hash, nodes[f.index]) for f in leaves],
                )
        except (IntegrityError, sqlite3.IntegrityError):
            return False
        return True

    def events_after(self, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        return [
            (row[0], row[1], bytes(row[2]))
            for row in self._rows(
                f"SELECT rowid, topic, state FROM {self.events_table} "  # noqa: S608
                "WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (position, limit),
            )
        ]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT OR IGNORE INTO {CHECKPOINTS_TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                (
                    checkpoint.size,
                    checkpoint.root,
                    checkpoint.note,
                    checkpoint.made_at.isoformat(),
                ),
            )
        return self.checkpoints(checkpoint.size - 1, 1)[0]

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        rows = self._rows(
            f"SELECT size, root, note, made_at FROM {CHECKPOINTS_TABLE} "  # noqa: S608
            "WHERE size > ? ORDER BY size LIMIT ?",
            (after, limit),
        )
        return [_checkpoint(row) for row in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._rows(
            f"SELECT size, root, note, made_at FROM {CHECKPOINTS_TABLE} "  # noqa: S608
            "ORDER BY size DESC LIMIT 1"
        )
        return _checkpoint(rows[0]) if rows else None


class PostgresLedger(LedgerTables):
    def __init__(self, recorder: OneTryPostgresRecorder) -> None:
        super().__init__("postgres")
        self.datastore = recorder.datastore
        schema = self.datastore.schema
        self.tree = Identifier(schema, TREE_TABLE)
        self.events_table = Identifier(schema, recorder.events_table_name)
        self.checkpoints_table = Identifier(schema, CHECKPOINTS_TABLE)
        statements = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (leaf bigint PRIMARY KEY, "
                "position bigint NOT NULL UNIQUE, hash bytea NOT NULL, nodes bytea NOT NULL)"
            ).format(self.tree),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (size bigint PRIMARY KEY, root bytea NOT NULL, "
                "note text NOT NULL, made_at timestamptz NOT NULL)"
            ).format(self.checkpoints_table),
        ]
        for statement in statements:
            # Two processes creating it at once: one is told the type exists; fine.
            try:
                with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
                    c.execute(statement)
            except (IntegrityError, psycopg.errors.UniqueViolation):
                continue

    def _rows(self, statement: Any, params: Sequence[Any] = ()) -> list[Any]:
        with reaching_store(self.store), self.datastore.transaction(commit=False) as c:
            c.execute(statement, tuple(params))
            return list(c.fetchall())

    def size(self) -> int:
        leaf = self.last_leaf()
        return 0 if leaf is None else leaf.index + 1

    def last_leaf(self) -> Leaf | None:
        rows = self._rows(
            SQL("SELECT leaf, position, hash FROM {} ORDER BY leaf DESC LIMIT 1").format(self.tree)
        )
        return _leaf(rows[0]) if rows else None

    def nodes(self, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
        rows = sorted({node_row(node)[0] for node in nodes})
        if not rows:
            return {}
        found = self._rows(
            SQL("SELECT leaf, nodes FROM {} WHERE leaf = ANY(%s)").format(self.tree), (rows,)
        )
        return _picked(nodes, {row["leaf"]: bytes(row["nodes"]) for row in found})

    def leaves(self, first: int, count: int) -> list[Leaf]:
        rows = self._rows(
            SQL(
                "SELECT leaf, position, hash FROM {} WHERE leaf >= %s ORDER BY leaf LIMIT %s"
            ).format(self.tree),
            (first, count),
        )
        return [_leaf(row) for row in rows]

    def leaf_rows(self, first: int, count: int) -> list[tuple[int, int, bytes]]:
        rows = self._rows(
            SQL(
                "SELECT leaf, position, hash FROM {} WHERE leaf >= %s ORDER BY leaf LIMIT %s"
            ).format(self.tree),
            (first, count),
        )
        return [(row["leaf"], row["position"], bytes(row["hash"])) for row in rows]

    def leaf_at(self, position: int) -> Leaf | None:
        rows = self._rows(
            SQL("SELECT leaf, position, hash FROM {} WHERE position = %s").format(self.tree),
            (position,),
        )
        return _leaf(rows[0]) if rows else None

    def append(self, leaves: Sequence[Leaf], hashes: Sequence[tuple[NodeId, bytes]]) -> bool:
        nodes = grouped(hashes)
        try:
            with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
                c.executemany(
                    SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(self.tree),
                    [(f.index, f.position, f.event_hash, nodes[f.index]) for f in leaves],
                )
        except (IntegrityError, psycopg.errors.UniqueViolation):
            return False
        return True

    def events_after(self, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._rows(
            SQL(
                "SELECT notification_id, topic, state FROM {} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(self.events_table),
            (position, limit),
        )
        return [(row["notification_id"], row["topic"], bytes(row["state"])) for row in rows]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        with reaching_store(self.store), self.datastore.transaction(commit=True) as c:
            c.execute(
                SQL("INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT (size) DO NOTHING").format(
                    self.checkpoints_table
                ),
                (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.made_at),
            )
        return self.checkpoints(checkpoint.size - 1, 1)[0]

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        rows = self._rows(
            SQL(
                "SELECT size, root, note, made_at FROM {} WHERE size > %s ORDER BY size LIMIT %s"
            ).format(self.checkpoints_table),
            (after, limit),
        )
        return [_checkpoint(row) for row in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._rows(
            SQL("SELECT size, root, note, made_at FROM {} ORDER BY size DESC LIMIT 1").format(
                self.checkpoints_table
            )
        )
        return _checkpoint(rows[0]) if rows else None


class MemoryLedger(LedgerTables):
    """The tables in memory, for an application on the in-memory store (tests)."""

    def __init__(self, recorder: MemoryRecorder) -> None:
        super().__init__("memory")
        self.recorder = recorder
        self._lock = threading.Lock()
        self._tree: dict[int, bytes] = {}
        self._leaves: list[Leaf] = []
        self._by_position: dict[int, Leaf] = {}
        self._checkpoints: dict[int, StoredCheckpoint] = {}

    def size(self) -> int:
        return len(self._leaves)

    def last_leaf(self) -> Leaf | None:
        return self._leaves[-1] if self._leaves else None

    def nodes(self, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
        ids = {node: stored_hash_index(node) for node in nodes}
        return {node: self._tree[i] for node, i in ids.items() if i in self._tree}

    def events_after(self, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        page = self.recorder.select_notifications(position + 1, limit)
        return [(n.id, n.topic, n.state) for n in page]

    def leaves(self, first: int, count: int) -> list[Leaf]:
        return self._leaves[first : first + count]

    def leaf_at(self, position: int) -> Leaf | None:
        return self._by_position.get(position)

    def append(self, leaves: Sequence[Leaf], hashes: Sequence[tuple[NodeId, bytes]]) -> bool:
        with self._lock:
            if leaves and leaves[0].index != len(self._leaves):
                return False
            self._leaves.extend(leaves)
            self._by_position.update((leaf.position, leaf) for leaf in leaves)
            self._tree.update((stored_hash_index(node), value) for node, value in hashes)
        return True

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        with self._lock:
            return self._checkpoints.setdefault(checkpoint.size, checkpoint)

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        sizes = sorted(size for size in self._checkpoints if size > after)[:limit]
        return [self._checkpoints[size] for size in sizes]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._checkpoints[max(self._checkpoints)] if self._checkpoints else None


def _leaf(row: Any) -> Leaf:
    return Leaf(int(row[0] if not isinstance(row, dict) else row["leaf"]), *_leaf_rest(row))


def _leaf_rest(row: Any) -> tuple[int, bytes]:
    if isinstance(row, dict):
        return int(row["position"]), bytes(row["hash"])
    return int(row[1]), bytes(row[2])


def _checkpoint(row: Any) -> StoredCheckpoint:
    if isinstance(row, dict):
        return StoredCheckpoint(
            int(row["size"]), bytes(row["root"]), str(row["note"]), _made_at(row["made_at"])
        )
    return StoredCheckpoint(int(row[0]), bytes(row[1]), str(row[2]), _made_at(row[3]))


def ledger_tables(recorder: StoreRecorder) -> LedgerTables:
    """The log's tables in the store ``recorder`` writes to (created if missing)."""
    if isinstance(recorder, SQLiteRecorder):
        return SQLiteLedger(recorder)
    if isinstance(recorder, OneTryPostgresRecorder):
        return PostgresLedger(recorder)
    if isinstance(recorder, MemoryRecorder):
        tables = getattr(recorder, "_talkstream_ledger", None)
        if tables is None:
            tables = MemoryLedger(recorder)
            recorder._talkstream_ledger = tables  # type: ignore[attr-defined]
        return tables
    raise TypeError(f"no log tables for a {type(recorder).__name__}")
