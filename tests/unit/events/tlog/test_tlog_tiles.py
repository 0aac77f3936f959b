"""C2SP tlog-tiles paths and tile sets, the stored-hash numbering, the incremental appender, and
proofs computed from tiles alone."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.tlog.exceptions import (
    HashReadError,
    InvalidProof,
    InvalidTreeRange,
    MalformedHash,
    MalformedTile,
    MalformedTilePath,
)
from events.tlog.merkle import (
    NodeId,
    consistency_proof,
    inclusion_proof,
    reader_from_mapping,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from events.tlog.tiles import (
    TILE_WIDTH,
    Tile,
    append_leaves,
    encode_tile_index,
    entries_path,
    entry_bundle,
    new_tiles,
    parse_entries_path,
    parse_entry_bundle,
    parse_tile_path,
    right_edge_nodes,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    tile_bytes,
    tile_for_node,
    tile_hash_reader,
    tile_hashes,
    tiles_for_size,
)
from services.api.errors import status_of
from tests.unit.events.tlog.reference import mth, perfect_nodes, sample_leaf_hashes


def tile_from_leaves(tile: Tile, leaf_hashes: Sequence[bytes]) -> bytes:
    """The tile by its C2SP definition: hash i is MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l])."""
    span = TILE_WIDTH**tile.level
    first = tile.index * TILE_WIDTH
    return b"".join(
        mth(leaf_hashes[(first + i) * span : (first + i + 1) * span]) for i in range(tile.width)
    )


def build_in_chunks(leaf_hashes: Sequence[bytes], sizes: Sequence[int]) -> dict[NodeId, bytes]:
    """Append ``leaf_hashes`` in chunks of the given sizes, as a writer would."""
    stored: dict[NodeId, bytes] = {}
    size = 0
    for chunk in sizes:
        batch = leaf_hashes[size : size + chunk]
        added = append_leaves(size, batch, reader_from_mapping(stored))
        assert not stored.keys() & {node for node, _ in added}, "a stored hash was rewritten"
        stored.update(added)
        size += len(batch)
    return stored


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "encoded"),
    [
        (1234067, "x001/x234/067"),  # the tlog-tiles spec's example
        (5, "005"),
        (0, "000"),
        (1000, "x001/000"),
        (123456078, "x123/x456/078"),  # golang.org/x/mod/sumdb/tlog TestTilePath
        (3057500, "x003/x057/500"),  # idem
    ],
)
def test_tile_indexes_are_written_in_three_digit_groups(index: int, encoded: str) -> None:
    assert encode_tile_index(index) == encoded
    assert parse_tile_path(f"tile/0/{encoded}") == Tile(0, index)


def test_full_and_partial_tile_paths() -> None:
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(2, 5, 17).path == "tile/2/005.p/17"
    assert parse_tile_path("tile/2/005.p/17") == Tile(2, 5, 17)
    assert parse_tile_path("tile/63/x001/000") == Tile(63, 1000)


def test_entry_bundle_paths_share_the_tile_index_form() -> None:
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(7, 112) == "tile/entries/007.p/112"
    assert parse_entries_path("tile/entries/007.p/112") == Tile(0, 7, 112)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x000/001",
        "tile/0/123/456/078",
        "tile/0/x123/456/x078",
        "tile/64/000",
        "tile/01/000",
        "tile/-1/000",
        "tile/a/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/-01",
        "tiles/0/000",
        "tile/0",
        "tile/entries/000",
        "tile/0/000/",
    ],
)
def test_non_canonical_or_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(MalformedTilePath) as caught:
        parse_tile_path(path)
    assert caught.value.code == "malformed_tile_path"
    assert status_of(caught.value) == 422


def test_a_hash_tile_path_is_not_an_entry_bundle_path() -> None:
    with pytest.raises(MalformedTilePath):
        parse_entries_path("tile/0/000")


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=63),
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=1, max_value=256),
)
def test_every_tile_path_reads_back_as_its_tile(level: int, index: int, width: int) -> None:
    tile = Tile(level, index, width)
    assert parse_tile_path(tile.path) == tile
    assert parse_entries_path(entries_path(index, width)) == Tile(0, index, width)


@pytest.mark.parametrize(
    ("level", "index", "width"), [(64, 0, 1), (-1, 0, 1), (0, -1, 1), (0, 0, 0)]
)
def test_impossible_tiles_cannot_be_made(level: int, index: int, width: int) -> None:
    with pytest.raises(MalformedTilePath):
        Tile(level, index, width)


# --- the tiles of a tree ----------------------------------------------------------------------


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = tiles_for_size(70_000)
    level0 = [t for t in tiles if t.level == 0]
    assert [t for t in level0 if t.is_full] == [Tile(0, i) for i in range(273)]
    assert [t for t in level0 if not t.is_full] == [Tile(0, 273, 112)]
    assert [t for t in tiles if t.level == 1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert [t for t in tiles if t.level == 2] == [Tile(2, 0, 1)]
    assert len(tiles) == 273 + 1 + 2 + 1


def test_a_tree_of_256_has_one_full_tile_and_a_partial_one_above() -> None:
    assert tiles_for_size(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert tiles_for_size(1) == [Tile(0, 0, 1)]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=300_000), st.integers(min_value=0, max_value=300_000))
def test_new_tiles_are_exactly_those_the_smaller_tree_lacks(a: int, b: int) -> None:
    old, new = min(a, b), max(a, b)
    expected = set(tiles_for_size(new)) - set(tiles_for_size(old))
    assert sorted(new_tiles(old, new)) == sorted(expected)


def test_a_shrinking_tree_has_no_new_tiles() -> None:
    with pytest.raises(InvalidTreeRange):
        new_tiles(10, 9)


# --- stored hash numbering ------------------------------------------------------------------


def test_stored_hashes_are_numbered_in_the_order_a_writer_adds_them() -> None:
    # leaf 0; leaf 1 and the pair; leaf 2; leaf 3, its pair, the four.
    order = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4)]
    assert [stored_hash_index(node) for node in order] == list(range(len(order)))
    assert [split_stored_hash_index(i) for i in range(len(order))] == order


def test_splitting_a_stored_hash_index_inverts_it() -> None:
    # golang.org/x/mod/sumdb/tlog TestSplitStoredHashIndex covers the same ground.
    for level in range(12):
        for index in range(150):
            assert split_stored_hash_index(stored_hash_index((level, index))) == (level, index)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 255, 256, 257, 1000])
def test_stored_hash_count_is_the_number_of_perfect_subtrees(size: int) -> None:
    assert stored_hash_count(size) == len(perfect_nodes(sample_leaf_hashes(size)))


@pytest.mark.parametrize("node", [(-1, 0), (0, -1)])
def test_nodes_with_negative_coordinates_have_no_stored_index(node: NodeId) -> None:
    with pytest.raises(InvalidTreeRange):
        stored_hash_index(node)


# --- the incremental appender -----------------------------------------------------------------


def test_appending_one_leaf_at_a_time_stores_every_perfect_subtree_densely() -> None:
    leaf_hashes = sample_leaf_hashes(600)
    stored: dict[NodeId, bytes] = {}
    indexes: list[int] = []
    for size, value in enumerate(leaf_hashes):
        added = append_leaves(size, [value], reader_from_mapping(stored))
        indexes.extend(stored_hash_index(node) for node, _ in added)
        stored.update(added)
    assert indexes == list(range(stored_hash_count(600)))
    assert stored == perfect_nodes(leaf_hashes)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=12))
def test_appending_in_random_chunks_stores_what_leaf_by_leaf_appends_store(
    chunks: list[int],
) -> None:
    leaf_hashes = sample_leaf_hashes(sum(chunks))
    in_chunks = build_in_chunks(leaf_hashes, chunks)
    one_by_one = build_in_chunks(leaf_hashes, [1] * len(leaf_hashes))
    assert in_chunks == one_by_one == perfect_nodes(leaf_hashes)
    assert tree_hash(len(leaf_hashes), reader_from_mapping(in_chunks)) == mth(leaf_hashes)


def test_an_append_reads_only_the_right_edge_in_one_call() -> None:
    size = 0b1101101
    stored = perfect_nodes(sample_leaf_hashes(size))
    calls: list[list[NodeId]] = []

    def reader(nodes: Sequence[NodeId]) -> list[bytes]:
        calls.append(list(nodes))
        return [stored[node] for node in nodes]

    added = append_leaves(size, sample_leaf_hashes(1000, seed=1), reader)
    assert calls == [sorted(right_edge_nodes(size))]
    assert len(calls[0]) == size.bit_count()
    assert len(added) == stored_hash_count(size + 1000) - stored_hash_count(size)


def test_an_append_returns_hashes_in_stored_index_order() -> None:
    added = append_leaves(0, sample_leaf_hashes(77), reader_from_mapping({}))
    indexes = [stored_hash_index(node) for node, _ in added]
    assert indexes == list(range(stored_hash_count(77)))


def test_appending_nothing_reads_nothing() -> None:
    def reader(nodes: Sequence[NodeId]) -> list[bytes]:
        raise AssertionError("read")

    assert append_leaves(12, [], reader) == []


def test_an_append_onto_a_store_missing_its_right_edge_fails() -> None:
    with pytest.raises(HashReadError):
        append_leaves(3, sample_leaf_hashes(1), reader_from_mapping({}))


def test_an_append_of_a_short_leaf_hash_is_refused() -> None:
    with pytest.raises(MalformedHash):
        append_leaves(0, [b"\x00" * 31], reader_from_mapping({}))


# --- tiles read from stored hashes ----------------------------------------------------------


def test_every_tile_of_a_70000_leaf_tree_read_from_stored_hashes_matches_its_definition() -> None:
    leaf_hashes = sample_leaf_hashes(70_000)
    stored = build_in_chunks(leaf_hashes, [40_000, 1, 29_999])
    read = reader_from_mapping(stored)
    for tile in tiles_for_size(70_000):
        assert tile_bytes(tile, read) == tile_from_leaves(tile, leaf_hashes), tile.path


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=1500), st.integers(min_value=0, max_value=1500))
def test_tiles_read_after_random_appends_match_tiles_computed_from_the_leaves(
    size: int, first_chunk: int
) -> None:
    leaf_hashes = sample_leaf_hashes(size)
    first = min(first_chunk, size)
    read = reader_from_mapping(build_in_chunks(leaf_hashes, [first, size - first]))
    for tile in tiles_for_size(size):
        assert tile_bytes(tile, read) == tile_from_leaves(tile, leaf_hashes), tile.path


def test_a_partial_tile_is_a_prefix_of_the_full_tile_it_grows_into() -> None:
    leaf_hashes = sample_leaf_hashes(256)
    read = reader_from_mapping(perfect_nodes(leaf_hashes))
    assert tile_bytes(Tile(0, 0), read)[: 100 * 32] == tile_bytes(Tile(0, 0, 100), read)


def test_tile_bytes_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(MalformedTile):
        tile_hashes(Tile(0, 0, 3), b"\x00" * 64)


# --- proofs computed from tiles -------------------------------------------------------------


def served_tiles(leaf_hashes: Sequence[bytes]) -> dict[Tile, bytes]:
    read = reader_from_mapping(perfect_nodes(leaf_hashes))
    return {tile: tile_bytes(tile, read) for tile in tiles_for_size(len(leaf_hashes))}


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 700, 65_536 + 300])
def test_proofs_from_tiles_equal_proofs_from_the_store(size: int) -> None:
    leaf_hashes = sample_leaf_hashes(size)
    store_reader = reader_from_mapping(perfect_nodes(leaf_hashes))
    tiles = served_tiles(leaf_hashes)
    from_tiles = tile_hash_reader(size, lambda wanted: [tiles[t] for t in wanted])
    assert tree_hash(size, from_tiles) == mth(leaf_hashes)
    for index in {0, size // 2, size - 1}:
        assert inclusion_proof(index, size, from_tiles) == inclusion_proof(
            index, size, store_reader
        )
    for old in {1, size // 3, size - 1}:
        assert consistency_proof(old, size, from_tiles) == consistency_proof(
            old, size, store_reader
        )


def test_an_older_tree_can_be_proven_from_the_tiles_of_its_own_checkpoint() -> None:
    leaf_hashes = sample_leaf_hashes(1000)
    old_tiles = served_tiles(leaf_hashes[:300])
    from_old = tile_hash_reader(300, lambda wanted: [old_tiles[t] for t in wanted])
    verify_inclusion(
        299, 300, leaf_hashes[299], inclusion_proof(299, 300, from_old), mth(leaf_hashes[:300])
    )


def test_a_tampered_tile_yields_a_proof_that_does_not_verify() -> None:
    leaf_hashes = sample_leaf_hashes(600)
    tiles = served_tiles(leaf_hashes)
    original = tiles[Tile(0, 1)]
    tiles[Tile(0, 1)] = original[: 40 * 32] + b"\xff" * 32 + original[41 * 32 :]  # leaf 296
    from_tiles = tile_hash_reader(600, lambda wanted: [tiles[t] for t in wanted])
    with pytest.raises(InvalidProof):
        verify_inclusion(
            297, 600, leaf_hashes[297], inclusion_proof(297, 600, from_tiles), mth(leaf_hashes)
        )
    with pytest.raises(InvalidProof):
        verify_consistency(
            300,
            600,
            mth(leaf_hashes[:300]),
            mth(leaf_hashes),
            consistency_proof(300, 600, from_tiles),
        )


def test_a_node_outside_the_tree_is_in_no_tile() -> None:
    with pytest.raises(InvalidTreeRange):
        tile_for_node((1, 2), 5)
    assert tile_for_node((9, 1), 70_000) == Tile(1, 0)
    assert tile_for_node((3, 8749), 70_000) == Tile(0, 273, 112)


def test_a_tile_reader_answering_the_wrong_count_is_a_server_fault() -> None:
    from_tiles = tile_hash_reader(10, lambda wanted: [])
    with pytest.raises(HashReadError):
        tree_hash(10, from_tiles)


# --- entry bundles --------------------------------------------------------------------------


def test_entry_bundles_length_prefix_each_entry_with_a_big_endian_uint16() -> None:
    bundle = entry_bundle([b"ab", b"", b"x" * 300])
    assert bundle[:4] == b"\x00\x02ab"
    assert bundle[4:6] == b"\x00\x00"
    assert bundle[6:8] == b"\x01\x2c"
    assert parse_entry_bundle(bundle) == [b"ab", b"", b"x" * 300]


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x05abc", b"\x00\x01a" * 257])
def test_truncated_or_oversized_entry_bundles_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedTile):
        parse_entry_bundle(data)


@pytest.mark.parametrize("entries", [[], [b"x"] * 257, [b"x" * 65_536]])
def test_entry_bundles_hold_1_to_256_entries_of_at_most_65535_bytes(entries: list[bytes]) -> None:
    with pytest.raises(MalformedTile):
        entry_bundle(entries)
