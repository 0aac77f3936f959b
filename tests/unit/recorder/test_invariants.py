"""Every invariant the recorder enforces: each refusal has its own code and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from events import Envelope, InvalidEvent
from services.recorder.application import Negotiations
from services.recorder.exceptions import ConflictError, NegotiationNotFound
from tests.factories import (
    IRAQ,
    NID,
    UK,
    USA,
    agreement,
    correction,
    draft,
    joined,
    meeting,
    milestone,
    note,
    opened,
    position,
    proposal,
    retraction,
    settled,
    started,
    statement,
    status,
    talks,
)
from tests.unit.recorder.support import PRINCIPAL, given, record, refused

SPEAKER = {"name": "Pat Ryder", "office": "Press"}
FUTURE = "2999-01-01"


def rescheduled(milestone_id: str = "m-1", **due: Any) -> Envelope:
    new_due = due or {"kind": "on", "date": "2026-09"}
    return draft(
        "MilestoneRescheduled",
        {"milestone_id": milestone_id, "new_due": new_due},
        occurred_at="2025-10-01",
    )


class TestAgreementStatus:
    def test_rejects_ratification_before_signature(self, app: Negotiations) -> None:
        given(app, agreement(), status("initialled"))
        refused(app, status("ratified"), "agreement_not_signed")

    def test_rejects_entry_into_force_before_signature(self, app: Negotiations) -> None:
        given(app, agreement())
        refused(app, status("in_force"), "agreement_not_signed")

    @pytest.mark.parametrize("earlier", ["draft", "initialled", "signed"])
    def test_rejects_status_moving_backward(self, app: Negotiations, earlier: str) -> None:
        given(app, agreement(), status("signed"))
        refused(app, status(earlier), "agreement_status_backward")

    def test_accepts_skipping_steps_forward(self, app: Negotiations) -> None:
        given(app, agreement(), status("signed"), status("in_force"))

    @pytest.mark.parametrize("later", ["in_force", "suspended", "signed", "terminated"])
    def test_terminated_status_is_final(self, app: Negotiations, later: str) -> None:
        given(app, agreement(), status("signed"), status("terminated"))
        refused(app, status(later), "agreement_terminated")

    @pytest.mark.parametrize("move", ["suspended", "terminated"])
    def test_rejects_suspension_or_termination_before_signature(
        self, app: Negotiations, move: str
    ) -> None:
        given(app, agreement(), status("initialled"))
        refused(app, status(move), "agreement_not_signed")

    def test_accepts_suspended_agreement_back_in_force(self, app: Negotiations) -> None:
        given(app, agreement(), status("signed"), status("in_force"), status("suspended"))
        record(app, status("in_force"))
        assert app.max_position() == 8

    def test_rejects_suspended_agreement_going_back_to_ratified(self, app: Negotiations) -> None:
        given(app, agreement(), status("signed"), status("suspended"))
        refused(app, status("ratified"), "agreement_status_backward")


class TestTalks:
    def test_rejects_resuming_talks_that_are_not_suspended(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1"))
        refused(app, talks("TalksResumed"), "talks_not_suspended")

    def test_rejects_suspending_talks_already_suspended(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1"), talks("TalksSuspended"))
        refused(app, talks("TalksSuspended"), "talks_not_active")

    def test_rejects_suspending_talks_after_agreement_reached(self, app: Negotiations) -> None:
        given(app, agreement())
        refused(app, talks("TalksSuspended"), "talks_not_active")

    def test_accepts_resuming_suspended_talks(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1"), talks("TalksSuspended"))
        record(app, talks("TalksResumed"))


class TestMilestones:
    def test_rejects_milestone_met_twice(self, app: Negotiations) -> None:
        given(app, milestone(), settled())
        refused(app, settled(), "milestone_already_settled")

    def test_rejects_milestone_missed_after_met(self, app: Negotiations) -> None:
        given(app, milestone(), settled())
        refused(app, settled(kind="MilestoneMissed"), "milestone_already_settled")

    @pytest.mark.parametrize("kind", ["MilestoneMet", "MilestoneMissed"])
    def test_rejects_milestone_settled_before_scheduled(self, app: Negotiations, kind: str) -> None:
        refused(app, settled(kind=kind), "milestone_not_scheduled")

    def test_rejects_rescheduling_a_milestone_never_scheduled(self, app: Negotiations) -> None:
        refused(app, rescheduled(), "milestone_not_scheduled")

    def test_accepts_missed_milestone_met_after_rescheduling(self, app: Negotiations) -> None:
        given(app, milestone(), settled(kind="MilestoneMissed"), rescheduled())
        record(app, settled())

    def test_accepts_met_milestone_met_again_after_rescheduling(self, app: Negotiations) -> None:
        given(app, milestone(), settled())
        record(app, rescheduled(), settled())
        assert app.max_position() == 7


class TestMeetings:
    def test_rejects_holding_a_meeting_already_held(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1"))
        refused(app, meeting("jscd-1"), "meeting_not_open")

    def test_rejects_holding_a_cancelled_meeting(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1", "MeetingScheduled"), meeting("jscd-1", "MeetingCancelled"))
        refused(app, meeting("jscd-1"), "meeting_not_open")

    def test_accepts_holding_a_scheduled_meeting(self, app: Negotiations) -> None:
        given(app, meeting("jscd-1", "MeetingScheduled"))
        record(app, meeting("jscd-1"))


class TestClosedNegotiation:
    @pytest.mark.parametrize("outcome", ["agreement", "no_agreement", "superseded"])
    def test_rejects_anything_but_corrections_after_talks_concluded(
        self, app: Negotiations, outcome: str
    ) -> None:
        given(app, talks("TalksConcluded", outcome=outcome))
        refused(app, note(), "negotiation_closed")

    def test_rejects_concluding_twice(self, app: Negotiations) -> None:
        given(app, talks("TalksConcluded", outcome="no_agreement"))
        refused(app, talks("TalksConcluded", outcome="agreement"), "negotiation_closed")

    def test_accepts_correction_after_talks_concluded(self, app: Negotiations) -> None:
        noted = given(app, note(), talks("TalksConcluded", outcome="agreement"))[0]
        record(app, correction(noted.event_id, {"text": "About 2,000 troops."}))

    def test_accepts_retraction_after_talks_concluded(self, app: Negotiations) -> None:
        noted = given(app, note(), talks("TalksConcluded", outcome="no_agreement"))[0]
        record(app, retraction(noted.event_id))


class TestCorrections:
    def test_rejects_correction_of_event_in_another_negotiation(self, app: Negotiations) -> None:
        other = given(app, opened("talks-b"), note(nid="talks-b"))[1]
        refused(app, correction(other.event_id, {"text": "x"}), "correction_target_unknown")

    def test_rejects_correction_of_event_never_recorded(self, app: Negotiations) -> None:
        unknown = "0b0e8f9e-4c1a-4d5e-9a2b-3c4d5e6f7a8b"
        refused(app, correction(unknown, {"text": "x"}), "correction_target_unknown")

    def test_rejects_retraction_of_already_retracted_event(self, app: Negotiations) -> None:
        noted = given(app, note())[0]
        given(app, retraction(noted.event_id))
        refused(app, retraction(noted.event_id), "correction_target_retracted")

    def test_rejects_correction_of_retracted_event(self, app: Negotiations) -> None:
        noted = given(app, note())[0]
        given(app, retraction(noted.event_id))
        refused(app, correction(noted.event_id, {"text": "x"}), "correction_target_retracted")

    def test_rejects_correction_targeting_a_correction(self, app: Negotiations) -> None:
        noted = given(app, note())[0]
        fixed = given(app, correction(noted.event_id, {"text": "x"}))[0]
        refused(app, correction(fixed.event_id, {"reason": "y"}), "correction_target_invalid")

    def test_rejects_retraction_targeting_a_retraction(self, app: Negotiations) -> None:
        noted = given(app, note())[0]
        gone = given(app, retraction(noted.event_id))[0]
        refused(app, retraction(gone.event_id), "correction_target_invalid")

    @pytest.mark.parametrize(
        ("patch", "field"),
        [
            ({"mode": "teleport"}, "payload.patch.mode"),
            ({"venue": "Baghdad"}, "payload.patch.venue"),
            ({"participants": "everyone"}, "payload.patch.participants"),
        ],
    )
    def test_rejects_patch_that_does_not_fit_target_payload(
        self, app: Negotiations, patch: dict[str, Any], field: str
    ) -> None:
        held = given(app, meeting("jscd-1"))[0]
        error = refused(app, correction(held.event_id, patch), "invalid_event", InvalidEvent)
        assert error.field.startswith("payload.patch.")
        assert error.field == field

    def test_rejects_patch_that_breaks_a_whole_payload_rule(self, app: Negotiations) -> None:
        said = given(app, statement("s-1"))[0]
        error = refused(
            app, correction(said.event_id, {"paraphrase": None}), "invalid_event", InvalidEvent
        )
        assert error.field == "payload.patch"

    @pytest.mark.parametrize("name", ["meeting_id", "issue_id", "agreement_id"])
    def test_rejects_patch_of_an_identifier(self, app: Negotiations, name: str) -> None:
        held = given(app, meeting("jscd-1"))[0]
        refused(app, correction(held.event_id, {name: "jscd-9"}), "correction_patch_invalid")

    def test_accepts_patch_that_fits_target_payload(self, app: Negotiations) -> None:
        held = given(app, meeting("jscd-1"))[0]
        record(app, correction(held.event_id, {"place": {"name": "Washington, D.C."}}))

    def test_rejects_patch_that_references_an_unknown_issue(self, app: Negotiations) -> None:
        held = given(app, meeting("jscd-1"))[0]
        refused(app, correction(held.event_id, {"agenda": ["no-such-issue"]}), "unknown_issue")


def _stance_on(issue: str) -> Envelope:
    return draft(
        "StatementIssued",
        {
            "statement_id": "s-9",
            "speaker": SPEAKER,
            "quote": "Yes.",
            "stances": [{"issue_id": issue, "position": "support"}],
        },
    )


def _scheduled(**payload: Any) -> Envelope:
    base = {
        "milestone_id": "m-9",
        "obligor": USA,
        "description": "Hand over.",
        "due": {"kind": "not_later_than", "date": "2025-09"},
    }
    return draft("MilestoneScheduled", {**base, **payload})


UNKNOWN_REFERENCES = [
    pytest.param(_stance_on("no-such-issue"), "unknown_issue", id="stance-issue"),
    pytest.param(position(IRAQ, "no-such-issue"), "unknown_issue", id="position-issue"),
    pytest.param(proposal(issue="no-such-issue"), "unknown_issue", id="proposal-term-issue"),
    pytest.param(
        draft("MeetingHeld", {"meeting_id": "m", "mode": "host", "agenda": ["x"]}),
        "unknown_issue",
        id="meeting-agenda-issue",
    ),
    pytest.param(proposal(by=UK), "unknown_party", id="proposal-by"),
    pytest.param(position(UK, "transition"), "unknown_party", id="position-party"),
    pytest.param(
        draft("DelegationAssigned", {"delegation_id": "d-1", "party": UK, "head": SPEAKER}),
        "unknown_party",
        id="delegation",
    ),
    pytest.param(draft("PartyLeft", {"party": UK}), "unknown_party", id="party-left"),
    pytest.param(
        draft(
            "AgreementReached",
            {"agreement_id": "ag-9", "title": "T", "form": "mou", "parties": [IRAQ, UK]},
        ),
        "unknown_party",
        id="agreement-party",
    ),
    pytest.param(
        draft("ProposalAccepted", {"proposal_id": "p-9", "by": IRAQ}),
        "unknown_proposal",
        id="proposal-accepted",
    ),
    pytest.param(proposal("p-2", supersedes="p-9"), "unknown_proposal", id="supersedes"),
    pytest.param(status("signed", "ag-9"), "unknown_agreement", id="agreement-status"),
    pytest.param(_scheduled(agreement_id="ag-9"), "unknown_agreement", id="milestone-agreement"),
    pytest.param(meeting("m-9", "MeetingCancelled"), "unknown_meeting", id="meeting-cancelled"),
    *(
        pytest.param(draft(kind, {"statement_id": "s-9", "by": IRAQ}), "unknown_statement", id=kind)
        for kind in ("StatementWithdrawn", "StatementDenied")
    ),
    pytest.param(
        _scheduled(due={"kind": "relative", "anchor_milestone": "m-0", "offset_days": 1}),
        "unknown_milestone",
        id="milestone-anchor",
    ),
    pytest.param(
        rescheduled("m-1", kind="relative", anchor_milestone="m-0", offset_days=1),
        "unknown_milestone",
        id="reschedule-anchor",
    ),
    pytest.param(_scheduled(agreement_id="ag-1", term_id="t-9"), "unknown_term", id="term"),
]


class TestReferences:
    @pytest.mark.parametrize(("event", "code"), UNKNOWN_REFERENCES)
    def test_rejects_reference_to_something_not_in_the_negotiation(
        self, app: Negotiations, event: Envelope, code: str
    ) -> None:
        given(app, agreement(), milestone())
        refused(app, event, code)

    def test_rejects_reference_to_a_party_that_left(self, app: Negotiations) -> None:
        given(app, draft("PartyLeft", {"party": USA}))
        refused(app, proposal(by=USA), "unknown_party")

    def test_accepts_demand_from_an_actor_outside_the_talks(self, app: Negotiations) -> None:
        record(app, draft("DemandMade", {"actor": UK, "demand": "Leave."}))


class TestDuplicates:
    @pytest.mark.parametrize(
        "event",
        [
            pytest.param(meeting("jscd-1", "MeetingScheduled"), id="meeting"),
            pytest.param(statement("s-1"), id="statement"),
            pytest.param(proposal("p-1"), id="proposal"),
            pytest.param(agreement("ag-1"), id="agreement"),
            pytest.param(milestone("m-1"), id="milestone"),
        ],
    )
    def test_rejects_an_id_already_used(self, app: Negotiations, event: Envelope) -> None:
        given(app, event)
        refused(app, event, "duplicate_id")

    def test_rejects_a_party_joining_twice(self, app: Negotiations) -> None:
        refused(app, joined(IRAQ), "duplicate_party")

    def test_accepts_a_party_rejoining_after_leaving(self, app: Negotiations) -> None:
        given(app, draft("PartyLeft", {"party": IRAQ}))
        record(app, joined(IRAQ))


class TestTwoClocks:
    @pytest.mark.parametrize("when", [FUTURE, "2999", "2999-01-01T00:00:00Z"])
    def test_rejects_event_that_occurred_after_it_was_recorded(
        self, app: Negotiations, when: str
    ) -> None:
        refused(app, note(occurred_at=when), "occurred_after_recorded")

    def test_rejects_future_hypothetical_event(self, app: Negotiations) -> None:
        refused(app, note(occurred_at=FUTURE, modality="hypothetical"), "occurred_after_recorded")

    def test_accepts_future_event_with_planned_modality(self, app: Negotiations) -> None:
        record(app, meeting("jscd-9", "MeetingScheduled", occurred_at=FUTURE, modality="planned"))

    def test_rejects_opening_a_negotiation_in_the_future(self, memory_app: Negotiations) -> None:
        refused(memory_app, opened(occurred_at=FUTURE), "occurred_after_recorded")


class TestOpening:
    def test_rejects_opening_the_same_negotiation_twice(self, app: Negotiations) -> None:
        refused(app, opened(), "negotiation_exists")

    def test_rejects_recording_into_a_negotiation_never_opened(self, app: Negotiations) -> None:
        error = refused(app, note(nid="talks-z"), "negotiation_not_found", NegotiationNotFound)
        assert error.details == {"negotiation_id": "talks-z"}


class TestExpectedVersion:
    def test_rejects_stale_expected_version(self, app: Negotiations) -> None:
        error = refused(app, note(), "version_conflict", ConflictError, expected_version=2)
        assert error.details == {"current_version": 3}

    def test_accepts_matching_expected_version(self, app: Negotiations) -> None:
        written = app.record(note(), principal=PRINCIPAL, expected_version=3)
        assert written.version == 4

    def test_rejects_opening_with_an_expected_version_the_new_negotiation_lacks(
        self, memory_app: Negotiations
    ) -> None:
        refused(memory_app, opened(), "version_conflict", ConflictError, expected_version=7)


class TestIdempotency:
    def test_same_key_and_body_returns_the_first_result(self, app: Negotiations) -> None:
        first = app.record(note(idempotency_key="k-1"), principal=PRINCIPAL)
        given(app, note(text="Later news."))
        before = app.max_position()
        again = app.record(note(idempotency_key="k-1"), principal=PRINCIPAL)
        assert (again.event_id, again.position, again.version, again.hash) == (
            first.event_id,
            first.position,
            first.version,
            first.hash,
        )
        assert again.duplicate and not first.duplicate
        assert app.max_position() == before
        assert len(app.history(NID)) == 5

    def test_same_key_with_different_body_is_a_conflict(self, app: Negotiations) -> None:
        first = given(app, note(idempotency_key="k-1"))[0]
        error = refused(
            app, note(text="Other.", idempotency_key="k-1"), "idempotency_key_reused", ConflictError
        )
        assert error.details == {"event_id": first.event_id}

    def test_same_key_within_one_batch_records_once(self, memory_app: Negotiations) -> None:
        results = given(
            memory_app, *started(), note(idempotency_key="k"), note(idempotency_key="k")
        )
        assert results[3].event_id == results[4].event_id and results[4].duplicate
        assert memory_app.max_position() == 4

    def test_repeated_opening_with_same_key_returns_the_first_result(
        self, memory_app: Negotiations
    ) -> None:
        first = memory_app.record(opened(idempotency_key="o"), principal=PRINCIPAL)
        again = memory_app.record(opened(idempotency_key="o"), principal=PRINCIPAL)
        assert again.event_id == first.event_id and again.duplicate
        assert memory_app.max_position() == 1

    def test_repeat_is_answered_even_after_talks_concluded(self, app: Negotiations) -> None:
        first = given(app, note(idempotency_key="k"), talks("TalksConcluded", outcome="agreement"))
        again = app.record(note(idempotency_key="k"), principal=PRINCIPAL)
        assert again.event_id == first[0].event_id and again.duplicate
