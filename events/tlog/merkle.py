"""RFC 9162 §2.1 Merkle tree hashing (SHA-256), proofs and their verification.

Why: the log over all events must be checkable by people who do not trust the server, with the
algorithms transparency logs already use. Proofs are generated from stored hashes of *perfect*
subtrees, addressed as ``(level, index)`` (the subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``), read in one batch through a ``HashReader``: a
proof costs O(log n) stored hashes, never the leaves. Verification follows the iterative
algorithms of §2.1.3.2 and §2.1.4.2 and needs nothing but the proof.

A talkstream leaf is 40 bytes: the event's store position as a big-endian uint64, then the
32-byte SHA-256 of its stored bytes, so reordering stored rows changes the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from events.tlog.exceptions import (
    HashReadError,
    InvalidProof,
    InvalidTreeRange,
    MalformedHash,
)

HASH_SIZE = 32
LEAF_SIZE = 8 + HASH_SIZE
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_POSITION = 2**64 - 1
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_HEX = frozenset("0123456789abcdef")

NodeId = tuple[int, int]
"""``(level, index)`` of a perfect subtree: leaves ``[index << level, (index + 1) << level)``."""

HashReader = Callable[[Sequence[NodeId]], Sequence[bytes]]
"""Returns the stored hash of each node asked for, in the order asked."""


def leaf(position: int, event_hash_hex: str) -> bytes:
    """The 40-byte leaf of one event: big-endian uint64 position || SHA-256 of its bytes."""
    if not 0 <= position <= MAX_POSITION:
        raise InvalidTreeRange("position must be between 0 and 2^64-1", field="position")
    if len(event_hash_hex) != 2 * HASH_SIZE or not _HEX.issuperset(event_hash_hex):
        raise MalformedHash("event hash must be 64 lowercase hex digits", field="hash")
    return position.to_bytes(8, "big") + bytes.fromhex(event_hash_hex)


def parse_leaf(data: bytes) -> tuple[int, str]:
    """The position and event hash (hex) a 40-byte leaf carries."""
    if len(data) != LEAF_SIZE:
        raise MalformedHash(f"a leaf is {LEAF_SIZE} bytes, not {len(data)}", field="leaf")
    return int.from_bytes(data[:8], "big"), data[8:].hex()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def event_leaf_hash(position: int, event_hash_hex: str) -> bytes:
    """The leaf hash of one event, as stored at level 0 of the tree."""
    return leaf_hash(leaf(position, event_hash_hex))


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a whole tree given its leaf hashes, in one pass with O(log n) memory."""
    stack: list[tuple[int, bytes]] = []
    for value in leaf_hashes:
        _check_hash(value, "leaf hash")
        level, current = 0, value
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
        stack.append((level, current))
    return fold([value for _, value in stack]) if stack else EMPTY_ROOT


def fold(subtree_hashes: Sequence[bytes]) -> bytes:
    """MTH of adjacent perfect subtrees of decreasing size (as ``range_nodes`` lists them)."""
    accumulated = subtree_hashes[-1]
    for left in reversed(subtree_hashes[:-1]):
        accumulated = node_hash(left, accumulated)
    return accumulated


def range_nodes(lo: int, hi: int) -> list[NodeId]:
    """The perfect subtrees whose hashes make MTH(D[lo:hi]), left to right.

    Only ranges that are RFC 9162 subtrees (as the proofs use them) qualify: ``lo`` must be a
    multiple of the largest power of two not above ``hi - lo``.
    """
    nodes: list[NodeId] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo % (1 << level):
            raise InvalidTreeRange(f"[{lo}, {hi}) is not a subtree of an RFC 9162 tree")
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def subtree_hash(lo: int, hi: int, read: HashReader) -> bytes:
    """MTH(D[lo:hi]) from at most 1 + log2(hi - lo) stored hashes, read in one call."""
    if not 0 <= lo < hi:
        raise InvalidTreeRange(f"[{lo}, {hi}) is empty or negative")
    nodes = range_nodes(lo, hi)
    stored = read_nodes(read, nodes)
    return fold([stored[node] for node in nodes])


def tree_hash(size: int, read: HashReader) -> bytes:
    """The root of the tree of ``size`` leaves, from stored hashes."""
    if size < 0:
        raise InvalidTreeRange("tree size must not be negative")
    return subtree_hash(0, size, read) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), from one batched read of stored hashes."""
    if not 0 <= index < size:
        raise InvalidTreeRange(f"leaf {index} is not in a tree of size {size}", field="index")
    return _range_hashes(_inclusion_ranges(index, size), read)


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); empty when there is nothing to prove."""
    if not 0 <= old_size <= new_size:
        raise InvalidTreeRange(f"cannot prove size {old_size} against size {new_size}")
    if old_size in (0, new_size):
        return []
    return _range_hashes(_consistency_ranges(old_size, new_size), read)


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash_value: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root a §2.1.3.2 inclusion proof implies; raises if the proof has the wrong shape."""
    if not 0 <= index < size:
        raise InvalidProof(f"leaf {index} is not in a tree of size {size}")
    _check_proof_hashes([leaf_hash_value, *proof])
    fn, sn, result = index, size - 1, leaf_hash_value
    for sibling in proof:
        if sn == 0:
            raise InvalidProof("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            fn, sn = _shift_while_even(fn, sn)
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    index: int, size: int, leaf_hash_value: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Raise ``InvalidProof`` unless ``proof`` shows the leaf at ``index`` under ``root_hash``."""
    if root_from_inclusion_proof(index, size, leaf_hash_value, proof) != root_hash:
        raise InvalidProof("the inclusion proof leads to a different root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``InvalidProof`` unless the tree ``new_root`` extends the tree ``old_root``."""
    _check_proof_hashes([old_root, new_root, *proof])
    if not 0 <= old_size <= new_size:
        raise InvalidProof(f"size {old_size} cannot precede size {new_size}")
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    old_computed, new_computed = _consistency_roots(old_size, new_size, old_root, proof)
    if old_computed != old_root:
        raise InvalidProof("the consistency proof does not lead to the old root")
    if new_computed != new_root:
        raise InvalidProof("the consistency proof does not lead to the new root")


def read_nodes(read: HashReader, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Read distinct nodes in one call, sorted, and check the answer's count and sizes."""
    wanted = sorted(set(nodes))
    if not wanted:
        return {}
    answered = list(read(wanted))
    if len(answered) != len(wanted):
        raise HashReadError(f"asked for {len(wanted)} stored hashes, got {len(answered)}")
    for value in answered:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise HashReadError("the hash store answered a value that is not a 32-byte hash")
    return dict(zip(wanted, answered, strict=True))


def reader_from_mapping(stored: Mapping[NodeId, bytes]) -> HashReader:
    """A ``HashReader`` over hashes held in memory (tests, offline rebuilds)."""

    def read(nodes: Sequence[NodeId]) -> list[bytes]:
        missing = [node for node in nodes if node not in stored]
        if missing:
            raise HashReadError(f"no stored hash for node {missing[0]}")
        return [stored[node] for node in nodes]

    return read


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Ranges whose MTHs form PATH(index, D[0:size]), deepest first (RFC order)."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        split = lo + _largest_power_of_two_below(hi - lo)
        if index < split:
            ranges.append((split, hi))
            hi = split
        else:
            ranges.append((lo, split))
            lo = split
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Ranges whose MTHs form SUBPROOF(old_size, D[0:new_size], true), deepest first."""
    ranges: list[tuple[int, int]] = []
    lo, hi, remaining, is_old_tree = 0, new_size, old_size, True
    while remaining != hi - lo:
        split = lo + _largest_power_of_two_below(hi - lo)
        if lo + remaining <= split:
            ranges.append((split, hi))
            hi = split
        else:
            ranges.append((lo, split))
            remaining -= split - lo
            lo, is_old_tree = split, False
    if not is_old_tree:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _range_hashes(ranges: list[tuple[int, int]], read: HashReader) -> list[bytes]:
    per_range = [range_nodes(lo, hi) for lo, hi in ranges]
    stored = read_nodes(read, (node for nodes in per_range for node in nodes))
    return [fold([stored[node] for node in nodes]) for nodes in per_range]


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    if proof:
        raise InvalidProof("nothing to prove between these sizes, but the proof is not empty")
    if old_size == new_size and old_root != new_root:
        raise InvalidProof("two different roots for the same tree size")
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise InvalidProof("the old root is not the root of the empty tree")


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 1-6: the old and new roots the proof implies."""
    if not proof:
        raise InvalidProof("the consistency proof is empty")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_computed = new_computed = path[0]
    for value in path[1:]:
        if sn == 0:
            raise InvalidProof("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            old_computed = node_hash(value, old_computed)
            new_computed = node_hash(value, new_computed)
            fn, sn = _shift_while_even(fn, sn)
        else:
            new_computed = node_hash(new_computed, value)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the consistency proof is shorter than the tree is deep")
    return old_computed, new_computed


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise MalformedHash(f"a {what} is {HASH_SIZE} bytes, not {len(value)}")


def _check_proof_hashes(values: Iterable[bytes]) -> None:
    for value in values:
        if len(value) != HASH_SIZE:
            raise InvalidProof(f"a hash is {HASH_SIZE} bytes, not {len(value)}")
