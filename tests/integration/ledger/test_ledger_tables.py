"""The log kept in the event store (SQLite and PostgreSQL): the tree persists beside the
events, a new process continues it, tiles served are the tiles computed from the leaves,
proofs verify against signed checkpoints."""

from __future__ import annotations

import pytest

from events.tlog import (
    Ed25519Signer,
    Tile,
    event_leaf_hash,
    leaf,
    open_checkpoint,
    parse_entry_bundle,
    reader_from_mapping,
    root,
    tile_bytes,
    tiles_for_size,
    verify_consistency,
    verify_inclusion,
)
from events.tlog.tiles import append_leaves
from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted
from services.recorder.ledger import Leaf, Ledger, LogWriter, open_ledger
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.factories import note
from tests.store_faults import stored_state, write_state

SYNTHETIC = 70_000  # three tile levels: 273 full level-0 tiles, 0/273.p/112, 1/001.p/17, 2/000.p/1


def test_the_tree_and_checkpoints_persist_and_a_new_process_continues_them(
    store_app: Negotiations, store_settings: Settings, writer: LogWriter, signer: Ed25519Signer
) -> None:
    writer.catch_up()
    assert [c.size for c in writer.ledger.checkpoints()] == [6, 12]
    store_app.record(note("after", nid="us-iraq-jscd"), principal="ledger-test")

    later = build_application(store_settings)
    try:
        ledger = open_ledger(later, store_settings)
        assert ledger.size() == 15
        made = LogWriter(later, ledger, signer, every=1000).checkpoint_now()
        expected = [event_leaf_hash(n.id, later.body_of(n)[1]) for n in later.notifications()]
        assert [c.size for c in ledger.checkpoints()] == [6, 12, 16]
        assert ledger.latest_checkpoint() == made
    finally:
        later.close()
    checkpoint, _ = open_checkpoint(made.note, [signer.verifier], origin=ledger.origin)
    assert (checkpoint.size, checkpoint.root) == (16, root(expected))


def test_every_inclusion_and_consistency_proof_verifies_against_the_signed_checkpoints(
    store_app: Negotiations, ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    writer.catch_up()
    latest = writer.checkpoint_now()
    for n in store_app.notifications():
        proof = ledger.inclusion(n.id)
        assert proof.leaf == leaf(n.id, store_app.body_of(n)[1])
        verify_inclusion(proof.index, proof.size, proof.leaf_hash, proof.proof, latest.root)
    for old in ledger.checkpoints():
        proof = ledger.consistency(old.size, latest.size)
        verify_consistency(old.size, latest.size, old.root, latest.root, proof.proof)


def test_tiles_served_are_the_tiles_computed_from_the_leaves(ledger: Ledger) -> None:
    leaf_hashes = [event_leaf_hash(i + 1, f"{i:064x}") for i in range(SYNTHETIC)]
    added = append_leaves(0, leaf_hashes, reader_from_mapping({}))
    leaves = [Leaf(i, i + 1, bytes.fromhex(f"{i:064x}")) for i in range(SYNTHETIC)]
    assert ledger.tables.append(leaves, added)
    computed = reader_from_mapping(dict(added))
    tiles = tiles_for_size(SYNTHETIC)
    assert [t.path for t in tiles if not t.is_full] == [
        "tile/0/273.p/112",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
    ]
    for tile in tiles:
        assert ledger.tile(tile) == tile_bytes(tile, computed), tile.path
    assert ledger.tile(Tile(0, 273, 100)) == tile_bytes(Tile(0, 273, 100), computed)
    bundle = parse_entry_bundle(ledger.entries(Tile(0, 273, 112)))
    assert bundle == [leaf(p + 1, f"{p:064x}") for p in range(273 * 256, SYNTHETIC)]
    assert ledger.root(SYNTHETIC) == root(leaf_hashes)


def test_a_writer_stops_before_an_event_whose_bytes_changed(
    store_app: Negotiations, ledger: Ledger, signer: Ed25519Signer, store_settings: Settings
) -> None:
    positions = [n.id for n in store_app.notifications()]
    state = stored_state(store_settings, positions[9])
    write_state(store_settings, positions[9], state.replace(b"confirmed", b"Confirmed", 1))
    writer = LogWriter(store_app, ledger, signer, every=1000)
    with pytest.raises(EventCorrupted) as stopped:
        writer.catch_up()
    assert stopped.value.position == positions[9]
    assert ledger.size() == 9
    assert ledger.last_position() == positions[8]
