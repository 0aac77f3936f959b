"""The offline verifier's tree, grown leaf by leaf with O(log n) memory, has RFC 9162's root
at every size and completes exactly the tile-level nodes the stored tree holds."""

from __future__ import annotations

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from events.tlog import append_leaves, reader_from_mapping, root, tree_hash
from services.audit.offline import Frontier


def _leaf_hashes(n: int) -> list[bytes]:
    return [sha256(i.to_bytes(8, "big")).digest() for i in range(n)]


@settings(max_examples=60)
@given(st.integers(min_value=0, max_value=700))
def test_the_root_at_every_size_is_the_merkle_tree_hash(n: int) -> None:
    leaves = _leaf_hashes(n)
    frontier = Frontier()
    assert frontier.root() == root([])
    for i, value in enumerate(leaves, start=1):
        frontier.push(value)
        if i in (1, 2, 3, n // 2 or 1, n):
            assert frontier.root() == root(leaves[:i])


def test_the_completed_nodes_are_the_stored_ones_at_tile_levels() -> None:
    leaves = _leaf_hashes(70_000 // 100)  # 700 leaves: two full level-0 tiles and a node at 8
    stored: dict[tuple[int, int], bytes] = {}
    stored.update(append_leaves(0, leaves, reader_from_mapping(stored)))
    frontier = Frontier()
    for value in leaves:
        frontier.push(value)
    completed = {(level, index): value for level, index, value in frontier.completed}
    at_tile_levels = {node: v for node, v in stored.items() if node[0] % 8 == 0}
    assert completed == at_tile_levels
    assert (8, 1) in completed and (8, 2) not in completed
    assert frontier.root() == tree_hash(700, reader_from_mapping(stored))
