"""An independent, deliberately naive RFC 9162 §2.1 implementation the tests compare against.

It hashes with hashlib directly and follows the RFC's recursive definitions (MTH, PATH, PROOF,
SUBPROOF) literally, so a changed hashing rule or proof shape in ``events.tlog`` shows up as a
mismatch here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

NodeId = tuple[int, int]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc_leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def rfc_node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, by the recursive definition."""
    if not leaf_hashes:
        return sha256(b"")
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = split_point(len(leaf_hashes))
    return rfc_node_hash(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def path(m: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaf_hashes)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*path(m, leaf_hashes[:k]), mth(leaf_hashes[k:])]
    return [*path(m - k, leaf_hashes[k:]), mth(leaf_hashes[:k])]


def proof(m: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (0 < m < n)."""
    return subproof(m, leaf_hashes, True)


def subproof(m: int, leaf_hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaf_hashes)
    if m == n:
        return [] if complete else [mth(leaf_hashes)]
    k = split_point(n)
    if m <= k:
        return [*subproof(m, leaf_hashes[:k], complete), mth(leaf_hashes[k:])]
    return [*subproof(m - k, leaf_hashes[k:], False), mth(leaf_hashes[:k])]


def perfect_nodes(leaf_hashes: Sequence[bytes]) -> dict[NodeId, bytes]:
    """Every perfect-subtree hash of the tree, level by level from the leaves."""
    nodes: dict[NodeId, bytes] = {}
    row = list(leaf_hashes)
    level = 0
    while row:
        nodes.update(((level, i), value) for i, value in enumerate(row))
        row = [rfc_node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return nodes


def sample_leaf_hashes(n: int, seed: int = 0) -> list[bytes]:
    """Distinct leaf hashes of 40-byte leaves (position || SHA-256 of a fake event body)."""
    return [
        rfc_leaf_hash(i.to_bytes(8, "big") + sha256(f"event {seed}/{i}".encode())) for i in range(n)
    ]
