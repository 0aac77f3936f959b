"""``Ledger``: the verifiable log as the store holds it, for the writer, the API, the CLI and
the verifier: its size, roots, tiles and entry bundles, RFC 9162 proofs and signed
checkpoints. Every answer reads O(log n) stored hashes (a tile, 256), never the events."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from events.tlog import (
    EMPTY_ROOT,
    HashReader,
    HashReadError,
    InvalidTreeRange,
    Tile,
    consistency_proof,
    entry_bundle,
    inclusion_proof,
    leaf,
    leaf_hash,
    reader_from_mapping,
    root_from_inclusion_proof,
    sign_checkpoint,
    tile_bytes,
    tree_hash,
)
from events.tlog.checkpoint import Checkpoint
from events.tlog.merkle import NodeId
from events.tlog.note import NoteSigner
from services.recorder.application import Negotiations
from services.recorder.exceptions import LedgerNotFound, LogKeyProblem
from services.recorder.ledger.tables import Leaf, LedgerTables, StoredCheckpoint, ledger_tables
from services.settings import Settings


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 §2.1.3 proof that the event at ``position`` (leaf ``index``) is in the tree of
    ``size`` leaves whose root is ``root``."""

    position: int
    index: int
    size: int
    leaf: bytes  # the 40-byte leaf: uint64_be(position) || event hash
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes

    def as_json(self) -> dict[str, Any]:
        """The proof as the API and ``audit prove --json`` give it (hashes in base64)."""
        return {
            "position": self.position,
            "leaf_index": self.index,
            "tree_size": self.size,
            "leaf": _b64(self.leaf),
            "leaf_hash": _b64(self.leaf_hash),
            "proof": [_b64(value) for value in self.proof],
            "root": _b64(self.root),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 §2.1.4 proof that the tree of ``new`` leaves extends the tree of ``old``."""

    old: int
    new: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "from_root": _b64(self.old_root),
            "to_root": _b64(self.new_root),
            "proof": [_b64(value) for value in self.proof],
        }


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class Ledger:
    """The log over all events, read from (and appended to) its tables in the store."""

    def __init__(self, tables: LedgerTables, origin: str) -> None:
        self.tables = tables
        self.origin = origin

    def size(self) -> int:
        return self.tables.size()

    def last_position(self) -> int:
        last = self.tables.last_leaf()
        return 0 if last is None else last.position

    def reader(self, nodes: Sequence[NodeId]) -> list[bytes]:
        """An ``events.tlog.HashReader`` over the stored hashes (one query)."""
        found = self.tables.nodes(nodes)
        missing = [node for node in nodes if node not in found]
        if missing:
            raise HashReadError(f"the stored tree has no hash for node {missing[0]}")
        return [found[node] for node in nodes]

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return tree_hash(size, self.reader)

    def _prefetched(self, *computations: Callable[[HashReader], object]) -> HashReader:
        """A reader holding, from one query, every stored hash the computations ask for: each
        is run first against a reader that only notes what it is asked (O(log n) work)."""
        wanted: set[NodeId] = set()

        def noting(nodes: Sequence[NodeId]) -> list[bytes]:
            wanted.update(nodes)
            return [EMPTY_ROOT] * len(nodes)

        for computation in computations:
            computation(noting)
        return reader_from_mapping(self._read_all(sorted(wanted)))

    def _read_all(self, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
        return dict(zip(nodes, self.reader(nodes), strict=True)) if nodes else {}

    def leaves(self, first: int, count: int) -> list[Leaf]:
        return self.tables.leaves(first, count)

    def leaf_rows(self, first: int, count: int) -> list[tuple[int, int, bytes]]:
        """``(index, position, event_hash)`` of up to ``count`` leaves from index ``first``."""
        return self.tables.leaf_rows(first, count)

    def leaf_index(self, position: int) -> int:
        return self._leaf(position).index

    def _leaf(self, position: int) -> Leaf:
        found = self.tables.leaf_at(position)
        if found is None:
            raise LedgerNotFound(
                "position_not_logged",
                f"position {position} is not in the log (no such event, or not logged yet)",
                details={"position": position},
            )
        return found

    def tile(self, tile: Tile) -> bytes:
        """A hash tile's bytes, if the tree holds all its hashes."""
        self._check_tile(tile)
        return tile_bytes(tile, self.reader)

    def entries(self, tile: Tile) -> bytes:
        """The entry bundle beside level-0 tile ``tile``: its 40-byte leaves."""
        self._check_tile(tile)
        found = self.tables.leaves(tile.index * 256, tile.width)
        return entry_bundle([leaf(f.position, f.event_hash.hex()) for f in found])

    def inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        """The proof for ``position`` in the tree of ``size`` leaves (the latest checkpoint's
        size when None)."""
        size = self._size_or_latest(size)
        found = self._leaf(position)
        if found.index >= size:
            raise InvalidTreeRange(
                f"position {position} is leaf {found.index}, not in a tree of size {size}"
            )
        data = leaf(found.position, found.event_hash.hex())
        hashed = leaf_hash(data)
        path = inclusion_proof(found.index, size, self.reader)
        return InclusionProof(
            position=position,
            index=found.index,
            size=size,
            leaf=data,
            leaf_hash=hashed,
            proof=path,
            root=root_from_inclusion_proof(found.index, size, hashed, path),
        )

    def consistency(self, old: int, new: int) -> ConsistencyProof:
        self._check_size(new)
        if not 0 <= old <= new:
            raise InvalidTreeRange(f"cannot prove size {old} against size {new}", field="from")
        read = self._prefetched(
            lambda r: tree_hash(old, r),
            lambda r: tree_hash(new, r),
            lambda r: consistency_proof(old, new, r),
        )
        return ConsistencyProof(
            old=old,
            new=new,
            old_root=tree_hash(old, read),
            new_root=tree_hash(new, read),
            proof=consistency_proof(old, new, read),
        )

    def checkpoint(self, signer: NoteSigner, size: int | None = None) -> StoredCheckpoint:
        """Signs and stores the checkpoint of the tree (of ``size`` leaves; the whole tree
        when None). One per size: a size already checkpointed answers the stored one."""
        if signer.name != self.origin:
            raise LogKeyProblem(
                "log_key_invalid",
                f"the signing key is named {signer.name!r}, not the log's origin {self.origin!r}",
            )
        size = self.size() if size is None else size
        root = self.root(size)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), [signer])
        made = StoredCheckpoint(size, root, note, datetime.now(UTC))
        return self.tables.add_checkpoint(made)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.tables.latest_checkpoint()

    def checkpoints(self, after: int = 0, limit: int = 1000) -> list[StoredCheckpoint]:
        return self.tables.checkpoints(after, limit)

    def _size_or_latest(self, size: int | None) -> int:
        if size is not None:
            self._check_size(size)
            return size
        latest = self.latest_checkpoint()
        if latest is None:
            raise LedgerNotFound("no_checkpoint", "the log has no checkpoint yet")
        return latest.size

    def _check_size(self, size: int) -> None:
        have = self.size()
        if not 0 <= size <= have:
            raise InvalidTreeRange(
                f"the log has {have} leaves; size {size} is not one of its trees"
            )

    def _check_tile(self, tile: Tile) -> None:
        available = self.size() >> (8 * tile.level)
        if tile.index * 256 + tile.width > available:
            raise LedgerNotFound(
                "tile_not_found",
                f"{tile.path} is beyond the log's tree",
                details={"tile": tile.path},
            )


def open_ledger(app: Negotiations, settings: Settings) -> Ledger:
    """The log in the store ``app`` writes to, named ``settings.log_origin``; its tables are
    created if missing."""
    return Ledger(ledger_tables(app.store_recorder), settings.log_origin)
