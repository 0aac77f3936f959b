"""The log writer appends every stored event as a leaf, in position order, checkpoints every N
leaves, after T seconds and on demand, and continues a stored tree without recomputing it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given as given_
from hypothesis import settings as examples
from hypothesis import strategies as st

from events.tlog import (
    Ed25519Signer,
    event_leaf_hash,
    open_checkpoint,
    root,
    split_stored_hash_index,
    stored_hash_count,
    verify_consistency,
    verify_inclusion,
)
from events.tlog.merkle import NodeId
from services.recorder.application import Negotiations
from services.recorder.exceptions import LogKeyProblem
from services.recorder.ledger import Ledger, LogWriter, StoredCheckpoint, open_ledger
from services.settings import Settings
from tests.factories import note
from tests.unit.recorder.ledger.conftest import ORIGIN, Clock
from tests.unit.recorder.support import given


def stored_leaf_hashes(app: Negotiations) -> list[bytes]:
    """Each stored event's leaf hash, computed from the store alone."""
    return [event_leaf_hash(n.id, app.body_of(n)[1]) for n in app.notifications()]


def test_catch_up_logs_every_stored_event_in_position_order(
    recorded: Negotiations, ledger: Ledger, writer: LogWriter
) -> None:
    assert writer.catch_up() == 15
    leaves = ledger.leaves(0, 100)
    assert [leaf.position for leaf in leaves] == [n.id for n in recorded.notifications()]
    assert [leaf.index for leaf in leaves] == list(range(15))
    assert ledger.root(15) == root(stored_leaf_hashes(recorded))
    assert ledger.last_position() == leaves[-1].position


def test_a_checkpoint_is_signed_every_n_leaves(ledger: Ledger, writer: LogWriter) -> None:
    made: list[StoredCheckpoint] = []
    writer.on_checkpoint.append(made.append)
    writer.catch_up()
    assert [c.size for c in ledger.checkpoints()] == [4, 8, 12]
    assert [c.size for c in made] == [4, 8, 12]
    assert not writer.due()  # 3 new leaves, and no time has passed


def test_a_checkpoint_is_signed_after_t_seconds_with_new_leaves(
    ledger: Ledger, writer: LogWriter, clock: Clock
) -> None:
    writer.catch_up()
    clock.now += 59
    assert not writer.due()
    clock.now += 2
    assert writer.due()
    writer.catch_up()
    assert ledger.latest_checkpoint() is not None
    assert ledger.latest_checkpoint().size == 15  # type: ignore[union-attr]
    clock.now += 120
    assert not writer.due()  # nothing new to sign


def test_a_checkpoint_on_demand_covers_the_whole_store_and_verifies(
    recorded: Negotiations, ledger: Ledger, signer: Ed25519Signer
) -> None:
    writer = LogWriter(recorded, ledger, signer, every=1000, seconds=1e9)
    made = writer.checkpoint_now()
    checkpoint, note_ = open_checkpoint(made.note, [signer.verifier], origin=ORIGIN)
    assert (checkpoint.size, checkpoint.root) == (15, root(stored_leaf_hashes(recorded)))
    assert note_.signatures[0].name == ORIGIN
    assert made.root == checkpoint.root
    assert writer.checkpoint_now() == made  # one checkpoint per size


def test_a_restarted_writer_continues_the_stored_tree_reading_only_its_right_edge(
    memory_app: Negotiations, settings: Settings, signer: Ed25519Signer
) -> None:
    from tests.factories import scenario

    drafts = scenario()
    given(memory_app, *drafts[:11])
    first = LogWriter(memory_app, open_ledger(memory_app, settings), signer, every=1000)
    assert first.catch_up() == 11
    tables = first.ledger.tables
    old_nodes = [split_stored_hash_index(i) for i in range(stored_hash_count(11))]
    before = tables.nodes(old_nodes)
    assert len(before) == stored_hash_count(11)

    given(memory_app, *drafts[11:], note("later", nid="us-iraq-jscd"))
    ledger = open_ledger(memory_app, settings)  # a new process: the same tables
    asked: list[Sequence[NodeId]] = []
    reader = ledger.reader

    def counting(nodes: Sequence[NodeId]) -> list[bytes]:
        asked.append(nodes)
        return reader(nodes)

    ledger.reader = counting  # type: ignore[method-assign]
    again = LogWriter(memory_app, ledger, signer, every=1000)
    assert again.catch_up() == 16
    assert tables.nodes(old_nodes) == before  # nothing rewritten
    assert [len(nodes) for nodes in asked] == [(11).bit_count()]  # the right edge of 11
    assert ledger.root(16) == root(stored_leaf_hashes(memory_app))


def test_two_writers_on_one_store_build_one_tree(
    recorded: Negotiations, settings: Settings, signer: Ed25519Signer
) -> None:
    one = LogWriter(recorded, open_ledger(recorded, settings), signer, batch=4)
    two = LogWriter(recorded, open_ledger(recorded, settings), signer, batch=5)
    while one.append_once() + two.append_once():
        pass
    assert one.ledger.size() == 15
    assert one.ledger.root(15) == root(stored_leaf_hashes(recorded))


def test_a_key_named_for_another_log_signs_nothing(recorded: Negotiations, ledger: Ledger) -> None:
    other = Ed25519Signer.generate("someone.else/log")
    with pytest.raises(LogKeyProblem, match=r"someone\.else/log"):
        LogWriter(recorded, ledger, other).checkpoint_now()
    assert ledger.latest_checkpoint() is None


@examples(max_examples=25, deadline=None)
@given_(
    batch=st.integers(min_value=1, max_value=16),
    every=st.integers(min_value=1, max_value=16),
    cut=st.integers(min_value=0, max_value=15),
)
def test_any_batching_and_restart_point_builds_the_same_tree_and_proofs(
    batch: int, every: int, cut: int
) -> None:
    from services.recorder.store import MEMORY_ENV
    from tests.factories import scenario

    app = Negotiations(env=MEMORY_ENV)
    try:
        drafts = scenario()
        signer = Ed25519Signer.generate(ORIGIN)
        config = Settings(log_origin=ORIGIN)
        if cut:
            given(app, *drafts[:cut])
            LogWriter(app, open_ledger(app, config), signer, every=every, batch=batch).catch_up()
        if drafts[cut:]:
            given(app, *drafts[cut:])
        ledger = open_ledger(app, config)
        LogWriter(app, ledger, signer, every=every, batch=batch).catch_up()
        expected = stored_leaf_hashes(app)
        assert ledger.root(15) == root(expected)
        sizes = [c.size for c in ledger.checkpoints()]
        assert sizes == sorted(set(sizes)) and all(s > 0 for s in sizes)
        for n in app.notifications():
            proof = ledger.inclusion(n.id, 15)
            verify_inclusion(proof.index, 15, proof.leaf_hash, proof.proof, root(expected))
        for size in sizes:
            joined = ledger.consistency(size, 15)
            verify_consistency(size, 15, root(expected[:size]), root(expected), joined.proof)
    finally:
        app.close()


def test_the_running_writer_waits_out_a_damaged_tree_with_one_log_line(
    recorded: Negotiations, ledger: Ledger, signer: Ed25519Signer, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    from tests.waiting import wait_for

    LogWriter(recorded, ledger, signer).catch_up()
    tree = ledger.tables._tree  # type: ignore[attr-defined]
    edge = stored_hash_count(14)  # the hash of leaf 14, on the tree's right edge
    kept = tree.pop(edge)
    given(recorded, note("later", nid="us-iraq-jscd"))
    writer = LogWriter(recorded, ledger, signer, poll_interval=0.01, gather=0.0)
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,), daemon=True)
    with caplog.at_level("WARNING", logger="talkstream.ledger"):
        thread.start()
        wait_for(lambda: "waiting" in caplog.text, 10, "the writer to say it waits")
        assert thread.is_alive() and ledger.size() == 15
        tree[edge] = kept
        wait_for(lambda: ledger.size() == 16, 10, "the writer to go on")
    stop.set()
    writer.notify()
    thread.join(10)
    assert caplog.text.count("log writer: waiting") == 1
