"""Corrections and retractions change the write side's facts, and must leave a history that
still satisfies every invariant."""

from __future__ import annotations

from services.recorder.application import Negotiations
from services.recorder.domain import negotiation_uuid
from tests.factories import (
    IRAQ,
    NID,
    agreement,
    correction,
    draft,
    milestone,
    opened,
    retraction,
    settled,
    started,
    status,
)
from tests.unit.recorder.support import given, refused


def test_rejects_retracting_a_milestone_that_was_later_met(memory_app: Negotiations) -> None:
    scheduled, _ = given(memory_app, *started(), milestone("m-1"), settled("m-1"))[3:]
    error = refused(memory_app, retraction(scheduled.event_id), "milestone_not_scheduled")
    assert "this retraction would leave a history" in error.message


def test_a_retracted_status_change_can_be_recorded_again(memory_app: Negotiations) -> None:
    signed = given(memory_app, *started(), agreement(), status("signed"))[-1]
    memory_app.record(retraction(signed.event_id), principal="p")
    negotiation = memory_app.repository.get(negotiation_uuid(NID))
    assert negotiation.facts.agreements["ag-1"] == "draft"
    memory_app.record(status("signed"), principal="p")


def test_rejects_a_correction_that_would_move_an_agreement_backward(
    memory_app: Negotiations,
) -> None:
    events = given(memory_app, *started(), agreement(), status("signed"), status("ratified"))
    refused(
        memory_app,
        correction(events[-1].event_id, {"status": "initialled"}),
        "agreement_status_backward",
    )


def test_rejects_renaming_a_party_that_later_events_refer_to(memory_app: Negotiations) -> None:
    events = given(
        memory_app,
        *started(),
        draft(
            "PositionStated",
            {"party": IRAQ, "issue_id": "timeline", "position": "support", "text": "Soon."},
        ),
    )
    joined_iraq = events[1]
    refused(
        memory_app, correction(joined_iraq.event_id, {"party": {"name": "Irak"}}), "unknown_party"
    )


def test_a_batch_keeps_its_order_in_positions_across_negotiations(
    memory_app: Negotiations,
) -> None:
    written = memory_app.record_many(
        [opened("talks-a"), opened("talks-b"), draft("ContextNoted", {"topic": "t", "text": "x"})],
        principal="p",
    )
    assert [w.position for w in written] == [1, 2, 3]
    assert [w.negotiation_id for w in written] == ["talks-a", "talks-b", "talks-a"]
