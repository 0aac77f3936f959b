"""What a write answers (id, position, version, hash), the hash chain, batches, principals."""

from __future__ import annotations

import re
import uuid
from itertools import pairwise

import pytest

from services.recorder.application import Negotiations
from services.recorder.exceptions import BatchRejected, InvariantViolation, NegotiationNotFound
from tests.factories import NID, note, opened, started, statement
from tests.unit.recorder.support import PRINCIPAL, given, negotiation

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TestWriteResult:
    def test_write_answers_event_id_position_version_and_hash(
        self, memory_app: Negotiations
    ) -> None:
        written = memory_app.record(opened(), principal=PRINCIPAL)
        assert uuid.UUID(written.event_id)
        assert (written.negotiation_id, written.position, written.version) == (NID, 1, 1)
        assert HEX64.match(written.hash)
        assert not written.duplicate

    def test_answer_matches_the_stored_event(self, memory_app: Negotiations) -> None:
        results = given(memory_app, *started(), note())
        for written, stored in zip(results, memory_app.history(NID), strict=True):
            assert stored.event_id == written.event_id
            assert stored.stamp.position == written.position
            assert stored.stamp.version == written.version
            assert stored.stamp.hash == written.hash

    def test_versions_count_from_one_in_each_negotiation(self, memory_app: Negotiations) -> None:
        interleaved = [
            opened("talks-a"),
            opened("talks-b"),
            note(nid="talks-a"),
            note(nid="talks-b"),
            note(nid="talks-b"),
        ]
        versions = [memory_app.record(d, principal=PRINCIPAL).version for d in interleaved]
        assert versions == [1, 1, 2, 2, 3]

    def test_positions_increase_across_negotiations(self, memory_app: Negotiations) -> None:
        interleaved = [
            opened("talks-a"),
            opened("talks-b"),
            note(nid="talks-a"),
            note(nid="talks-b"),
        ]
        positions = [memory_app.record(d, principal=PRINCIPAL).position for d in interleaved]
        assert positions == [1, 2, 3, 4]
        assert memory_app.max_position() == 4

    def test_recorded_by_is_the_principal(self, memory_app: Negotiations) -> None:
        memory_app.record(opened(), principal="alice")
        memory_app.record(note(), principal="bob")
        assert [e.stamp.recorded_by for e in memory_app.history(NID)] == ["alice", "bob"]
        assert memory_app.history(NID)[1].wire["recorded_by"] == "bob"


class TestHashChain:
    def test_first_event_has_no_previous_hash(self, memory_app: Negotiations) -> None:
        given(memory_app, opened())
        assert memory_app.history(NID)[0].stamp.prev_hash is None

    def test_each_event_chains_the_previous_hash(self, memory_app: Negotiations) -> None:
        given(memory_app, *started(), note())
        memory_app.record(statement("s-1"), principal=PRINCIPAL)
        events = memory_app.history(NID)
        for previous, event in pairwise(events):
            assert event.stamp.prev_hash == previous.stamp.hash
            assert event.wire["prev_hash"] == previous.wire["hash"]

    def test_every_stored_hash_verifies(self, memory_app: Negotiations) -> None:
        given(memory_app, *started(), note())
        assert all(e.hash_ok() for e in memory_app.history(NID))

    def test_chains_are_per_negotiation(self, memory_app: Negotiations) -> None:
        given(memory_app, opened("talks-a"), opened("talks-b"), note(nid="talks-b"))
        first_b, second_b = memory_app.history("talks-b")
        assert first_b.stamp.prev_hash is None
        assert second_b.stamp.prev_hash == first_b.stamp.hash


class TestBatches:
    def test_batch_answers_in_order(self, memory_app: Negotiations) -> None:
        results = given(memory_app, *started(), note())
        assert [w.version for w in results] == [1, 2, 3, 4]
        assert [w.position for w in results] == [1, 2, 3, 4]

    def test_batch_is_rejected_whole_when_its_third_event_breaks_an_invariant(
        self, memory_app: Negotiations
    ) -> None:
        given(memory_app, *started())
        batch = [statement("s-1"), note(), statement("s-1"), note()]
        with pytest.raises(BatchRejected) as info:
            memory_app.record_many(batch, principal=PRINCIPAL)
        assert info.value.index == 2
        assert info.value.code == "duplicate_id"
        assert isinstance(info.value.cause, InvariantViolation)
        assert memory_app.max_position() == 3
        assert len(memory_app.history(NID)) == 3

    def test_rejected_batch_that_opens_leaves_no_negotiation(
        self, memory_app: Negotiations
    ) -> None:
        with pytest.raises(BatchRejected) as info:
            memory_app.record_many([*started(), note(occurred_at="2999")], principal=PRINCIPAL)
        assert (info.value.index, info.value.code) == (3, "occurred_after_recorded")
        assert memory_app.max_position() == 0
        with pytest.raises(NegotiationNotFound):
            memory_app.history(NID)

    def test_rejected_batch_leaves_the_negotiation_as_it_was(
        self, memory_app: Negotiations
    ) -> None:
        given(memory_app, *started())
        with pytest.raises(BatchRejected):
            memory_app.record_many([statement("s-1"), statement("s-1")], principal=PRINCIPAL)
        assert negotiation(memory_app).facts.statements == set()
        assert memory_app.record(statement("s-1"), principal=PRINCIPAL).version == 4

    def test_batch_may_span_negotiations(self, memory_app: Negotiations) -> None:
        results = given(memory_app, opened("talks-a"), opened("talks-b"), note(nid="talks-a"))
        assert [(w.negotiation_id, w.version) for w in results] == [
            ("talks-a", 1),
            ("talks-b", 1),
            ("talks-a", 2),
        ]
        assert sorted(w.position for w in results) == [1, 2, 3]
