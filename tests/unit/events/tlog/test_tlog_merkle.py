"""RFC 9162 §2.1 hashing, proofs and verification, against published vectors, pymerkle, and an
independent literal implementation of the RFC's recursive definitions."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from events.tlog.exceptions import (
    HashReadError,
    InvalidProof,
    InvalidTreeRange,
    MalformedHash,
)
from events.tlog.merkle import (
    EMPTY_ROOT,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf,
    leaf_hash,
    node_hash,
    parse_leaf,
    reader_from_mapping,
    root,
    root_from_inclusion_proof,
    subtree_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from services.api.errors import status_of
from tests.unit.events.tlog.reference import (
    mth,
    path,
    perfect_nodes,
    proof,
    rfc_leaf_hash,
    sample_leaf_hashes,
)

# RFC 6962 reference test vectors (the certificate-transparency test suite's 8 leaves, their
# roots, inclusion and consistency proofs), as published in transparency-dev/merkle
# proof/verify_test.go. Inclusion entries give the 1-based leaf number.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC6962_INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
RFC6962_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
EVENT_HASH = hashlib.sha256(b"an event body").hexdigest()


def rfc6962_store() -> dict[NodeId, bytes]:
    return perfect_nodes([leaf_hash(data) for data in RFC6962_LEAVES])


def unhex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def flipped(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


class CountingReader:
    """A hash reader over a mapping that records every call."""

    def __init__(self, stored: dict[NodeId, bytes]) -> None:
        self.read = reader_from_mapping(stored)
        self.calls: list[list[NodeId]] = []

    def __call__(self, nodes: Sequence[NodeId]) -> list[bytes]:
        self.calls.append(list(nodes))
        return list(self.read(nodes))


# --- leaves and hashing -------------------------------------------------------------------


def test_a_leaf_is_the_big_endian_position_then_the_event_hash() -> None:
    value = leaf(258, EVENT_HASH)
    assert len(value) == 40
    assert value[:8] == bytes([0, 0, 0, 0, 0, 0, 1, 2])
    assert value[8:] == bytes.fromhex(EVENT_HASH)
    assert parse_leaf(value) == (258, EVENT_HASH)


def test_the_same_event_at_another_position_is_another_leaf() -> None:
    assert leaf_hash(leaf(1, EVENT_HASH)) != leaf_hash(leaf(2, EVENT_HASH))


def test_swapping_two_stored_rows_changes_the_root() -> None:
    first, second = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    honest = root([leaf_hash(leaf(1, first)), leaf_hash(leaf(2, second))])
    swapped = root([leaf_hash(leaf(1, second)), leaf_hash(leaf(2, first))])
    assert honest != swapped


@pytest.mark.parametrize("bad", ["", "AB" * 32, "g" * 64, "0" * 63, "0" * 65])
def test_an_event_hash_that_is_not_64_lowercase_hex_digits_is_refused(bad: str) -> None:
    with pytest.raises(MalformedHash):
        leaf(1, bad)


@pytest.mark.parametrize("position", [-1, 2**64])
def test_a_position_outside_uint64_is_refused(position: int) -> None:
    with pytest.raises(InvalidTreeRange):
        leaf(position, EVENT_HASH)


def test_a_leaf_of_the_wrong_length_cannot_be_parsed() -> None:
    with pytest.raises(MalformedHash):
        parse_leaf(b"\x00" * 39)


def test_leaf_and_node_hashes_are_domain_separated_by_their_prefix_byte() -> None:
    assert leaf_hash(b"data") == hashlib.sha256(b"\x00data").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_leaf_hash_matches_the_go_checksum_database_record_hash() -> None:
    # golang.org/x/mod/sumdb/tlog TestFormatTree: RecordHash("hello world").
    expected = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    assert base64.b64encode(leaf_hash(b"hello world")).decode() == expected


# --- roots --------------------------------------------------------------------------------


def test_the_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_rfc6962_reference_vectors(size: int) -> None:
    hashes = [leaf_hash(data) for data in RFC6962_LEAVES[:size]]
    assert root(hashes).hex() == RFC6962_ROOTS[size - 1]


def test_roots_match_pymerkle_for_every_size_up_to_300() -> None:
    tree = InmemoryTree(algorithm="sha256")
    leaves = [leaf(i, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(300)]
    for value in leaves:
        tree.append_entry(value)
    hashes = [leaf_hash(value) for value in leaves]
    for size in range(1, 301):
        assert root(hashes[:size]) == tree.get_root(size), size


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=3000))
def test_roots_match_pymerkle_for_random_sizes(size: int) -> None:
    tree = InmemoryTree(algorithm="sha256")
    leaves = [leaf(i, hashlib.sha256(f"x{i}".encode()).hexdigest()) for i in range(size)]
    for value in leaves:
        tree.append_entry(value)
    assert root([leaf_hash(value) for value in leaves]) == tree.get_root()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=700))
def test_tree_hash_from_stored_subtrees_equals_the_recursive_definition(size: int) -> None:
    hashes = sample_leaf_hashes(size)
    assert tree_hash(size, reader_from_mapping(perfect_nodes(hashes))) == mth(hashes)
    assert root(hashes) == mth(hashes)


def test_tree_hash_reads_at_most_one_stored_hash_per_set_bit_in_one_call() -> None:
    size = 0b1011011
    reader = CountingReader(perfect_nodes(sample_leaf_hashes(size)))
    tree_hash(size, reader)
    assert len(reader.calls) == 1
    assert len(reader.calls[0]) == size.bit_count()


def test_a_range_that_is_not_an_rfc_subtree_is_refused() -> None:
    with pytest.raises(InvalidTreeRange):
        subtree_hash(1, 3, reader_from_mapping(rfc6962_store()))


def test_a_hash_store_answering_too_few_hashes_is_a_server_fault() -> None:
    def short_reader(nodes: Sequence[NodeId]) -> list[bytes]:
        return [b"\x00" * 32] * (len(nodes) - 1)

    with pytest.raises(HashReadError) as caught:
        tree_hash(5, short_reader)
    assert status_of(caught.value) == 500  # answered as a server fault
    assert caught.value.code == "tree_read_failed"


def test_a_hash_store_answering_a_short_hash_is_a_server_fault() -> None:
    with pytest.raises(HashReadError):
        tree_hash(1, lambda nodes: [b"\x00" * 31 for _ in nodes])


# --- inclusion proofs -----------------------------------------------------------------------


@pytest.mark.parametrize(("number", "size", "expected"), RFC6962_INCLUSION)
def test_inclusion_proofs_match_the_rfc6962_reference_vectors(
    number: int, size: int, expected: list[str]
) -> None:
    made = inclusion_proof(number - 1, size, reader_from_mapping(rfc6962_store()))
    assert made == unhex(expected)
    verify_inclusion(
        number - 1,
        size,
        leaf_hash(RFC6962_LEAVES[number - 1]),
        made,
        bytes.fromhex(RFC6962_ROOTS[size - 1]),
    )


@pytest.mark.parametrize(("number", "size", "expected"), RFC6962_INCLUSION)
def test_corrupted_rfc6962_inclusion_proofs_are_rejected(
    number: int, size: int, expected: list[str]
) -> None:
    # The corruptions of transparency-dev/merkle's corruptInclusionProof.
    index, good = number - 1, unhex(expected)
    root_hash = bytes.fromhex(RFC6962_ROOTS[size - 1])
    leaf_value = leaf_hash(RFC6962_LEAVES[index])
    probes = [
        (index - 1, size, leaf_value, good, root_hash),
        (index + 1, size, leaf_value, good, root_hash),
        (index ^ 2, size, leaf_value, good, root_hash),
        (index, size * 2, leaf_value, good, root_hash),
        (index, size // 2, leaf_value, good, root_hash),
        (index, size, leaf_hash(b"WrongLeaf"), good, root_hash),
        (index, size, leaf_value, good, EMPTY_ROOT),
        (index, size, leaf_value, good, SOME_HASH),
        (index, size, leaf_value, [*good, root_hash], root_hash),
        (index, size, leaf_value, [root_hash, *good], root_hash),
        (index, size, leaf_value, good[:-1], root_hash),
        (index, size, leaf_value, [good[0], SOME_HASH, *good[1:]], root_hash),
        *(
            (index, size, leaf_value, [*good[:i], flipped(good[i]), *good[i + 1 :]], root_hash)
            for i in range(len(good))
        ),
    ]
    for probe in probes:
        with pytest.raises(InvalidProof):
            verify_inclusion(*probe)


def test_a_one_leaf_tree_has_an_empty_inclusion_proof_and_its_leaf_is_its_root() -> None:
    value = leaf_hash(b"data")
    assert inclusion_proof(0, 1, reader_from_mapping({(0, 0): value})) == []
    verify_inclusion(0, 1, value, [], value)
    with pytest.raises(InvalidProof):
        verify_inclusion(0, 1, value, [], EMPTY_ROOT)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (2, 1), (-1, 3)])
def test_an_index_outside_the_tree_has_no_inclusion_proof(index: int, size: int) -> None:
    with pytest.raises(InvalidTreeRange):
        inclusion_proof(index, size, reader_from_mapping({}))
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, SOME_HASH, [], SOME_HASH)


def test_a_proof_hash_of_the_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidProof):
        root_from_inclusion_proof(0, 2, SOME_HASH, [b"\x00" * 31])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_inclusion_proofs_verify_and_reject_a_wrong_leaf_index_or_root(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=1500), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    hashes = sample_leaf_hashes(size)
    made = inclusion_proof(index, size, reader_from_mapping(perfect_nodes(hashes)))
    tree_root = mth(hashes)
    assert made == path(index, hashes)
    verify_inclusion(index, size, hashes[index], made, tree_root)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, rfc_leaf_hash(b"forged"), made, tree_root)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, hashes[index], made, flipped(tree_root))
    other = data.draw(st.integers(min_value=0, max_value=size - 1), label="other index")
    assume(other != index)
    with pytest.raises(InvalidProof):
        verify_inclusion(other, size, hashes[index], made, tree_root)


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 1000, 4097])
def test_an_inclusion_proof_costs_one_read_of_at_most_two_hashes_per_level(size: int) -> None:
    reader = CountingReader(perfect_nodes(sample_leaf_hashes(size)))
    for index in {0, size // 3, size // 2, size - 1}:
        reader.calls.clear()
        inclusion_proof(index, size, reader)
        assert len(reader.calls) <= 1
        assert sum(len(call) for call in reader.calls) <= 2 * size.bit_length()


# --- consistency proofs ---------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "expected"), RFC6962_CONSISTENCY)
def test_consistency_proofs_match_the_rfc6962_reference_vectors(
    old: int, new: int, expected: list[str]
) -> None:
    made = consistency_proof(old, new, reader_from_mapping(rfc6962_store()))
    assert made == unhex(expected)
    old_root, new_root = (
        bytes.fromhex(RFC6962_ROOTS[old - 1]),
        bytes.fromhex(RFC6962_ROOTS[new - 1]),
    )
    verify_consistency(old, new, old_root, new_root, made)


@pytest.mark.parametrize(("old", "new", "expected"), RFC6962_CONSISTENCY)
def test_corrupted_rfc6962_consistency_proofs_are_rejected(
    old: int, new: int, expected: list[str]
) -> None:
    # The corruptions of transparency-dev/merkle's corruptConsistencyProof.
    good = unhex(expected)
    old_root, new_root = (
        bytes.fromhex(RFC6962_ROOTS[old - 1]),
        bytes.fromhex(RFC6962_ROOTS[new - 1]),
    )
    probes = [
        (old - 1, new, old_root, new_root, good),
        (old + 1, new, old_root, new_root, good),
        (old ^ 2, new, old_root, new_root, good),
        (old, new * 2, old_root, new_root, good),
        (old, new // 2, old_root, new_root, good),
        (old, new, SOME_HASH, new_root, good),
        (old, new, old_root, SOME_HASH, good),
        (old, new, new_root, old_root, good),
        (old, new, old_root, new_root, []),
        (old, new, old_root, new_root, [*good, old_root]),
        (old, new, old_root, new_root, [*good, new_root]),
        (old, new, old_root, new_root, [old_root, *good]),
        (old, new, old_root, new_root, [new_root, *good]),
        (old, new, old_root, new_root, [good[0], *good]),
        (old, new, old_root, new_root, good[:-1]),
        *(
            (old, new, old_root, new_root, [*good[:i], flipped(good[i], 4), *good[i + 1 :]])
            for i in range(len(good))
        ),
    ]
    for probe in probes:
        with pytest.raises(InvalidProof):
            verify_consistency(*probe)


def test_trivial_consistency_needs_an_empty_proof_and_matching_roots() -> None:
    tree_root = bytes.fromhex(RFC6962_ROOTS[0])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 1, EMPTY_ROOT, tree_root, [])
    verify_consistency(1, 1, tree_root, tree_root, [])
    rejected = [
        (1, 1, tree_root, SOME_HASH, []),
        (0, 1, SOME_HASH, tree_root, []),
        (1, 1, tree_root, tree_root, [EMPTY_ROOT]),
        (0, 1, EMPTY_ROOT, tree_root, [EMPTY_ROOT]),
        (1, 0, tree_root, EMPTY_ROOT, []),
        (2, 1, tree_root, tree_root, []),
        (1, 2, tree_root, SOME_HASH, []),
    ]
    for probe in rejected:
        with pytest.raises(InvalidProof):
            verify_consistency(*probe)


def test_a_shrinking_tree_has_no_consistency_proof() -> None:
    with pytest.raises(InvalidTreeRange):
        consistency_proof(5, 4, reader_from_mapping(rfc6962_store()))


def test_consistency_proofs_verify_for_every_pair_of_sizes_up_to_64() -> None:
    hashes = sample_leaf_hashes(64)
    read = reader_from_mapping(perfect_nodes(hashes))
    roots = [mth(hashes[:size]) for size in range(65)]
    for new in range(65):
        for old in range(new + 1):
            made = consistency_proof(old, new, read)
            assert made == (proof(old, hashes[:new]) if 0 < old < new else [])
            verify_consistency(old, new, roots[old], roots[new], made)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_consistency_proofs_verify_and_reject_a_tampered_root(data: st.DataObject) -> None:
    new = data.draw(st.integers(min_value=1, max_value=1500), label="new size")
    old = data.draw(st.integers(min_value=0, max_value=new), label="old size")
    hashes = sample_leaf_hashes(new)
    made = consistency_proof(old, new, reader_from_mapping(perfect_nodes(hashes)))
    old_root, new_root = mth(hashes[:old]), mth(hashes)
    verify_consistency(old, new, old_root, new_root, made)
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, flipped(old_root), new_root, made)
    if old:  # every tree extends the empty tree: there is no new root to get wrong
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, old_root, flipped(new_root), made)
    if made:
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, old_root, new_root, [flipped(made[0]), *made[1:]])


def test_a_rewritten_history_has_no_consistency_proof_to_the_old_checkpoint() -> None:
    honest = sample_leaf_hashes(100)
    rewritten = [*honest[:40], rfc_leaf_hash(b"forged"), *honest[41:]]
    made = consistency_proof(60, 100, reader_from_mapping(perfect_nodes(rewritten)))
    with pytest.raises(InvalidProof):
        verify_consistency(60, 100, mth(honest[:60]), mth(rewritten), made)


def test_a_consistency_proof_costs_one_read_of_logarithmically_many_hashes() -> None:
    size = 5000
    reader = CountingReader(perfect_nodes(sample_leaf_hashes(size)))
    for old in (1, 7, 256, 2500, 4097, 4999):
        reader.calls.clear()
        consistency_proof(old, size, reader)
        assert len(reader.calls) == 1
        assert len(reader.calls[0]) <= 2 * size.bit_length()
