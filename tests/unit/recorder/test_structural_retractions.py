"""Retracting or correcting the events a negotiation's structure rests on: the opening is never
retracted; any other structural event only when the history it leaves still satisfies every
rule (no later event may refer to what it introduced)."""

from __future__ import annotations

import pytest

from events import Envelope
from services.recorder.application import Negotiations
from services.recorder.exceptions import BatchRejected
from tests.factories import (
    IRAQ,
    USA,
    agreement,
    correction,
    draft,
    meeting,
    milestone,
    position,
    proposal,
    retraction,
    settled,
    status,
)
from tests.unit.recorder.support import PRINCIPAL, given, negotiation, refused

HEAD = {"name": "Thabit al-Abbasi", "office": "Minister of Defense"}


def delegation() -> Envelope:
    return draft(
        "DelegationAssigned",
        {"delegation_id": "iraq-delegation", "party": IRAQ, "head": HEAD, "members": []},
    )


def opening_id(app: Negotiations) -> str:
    return app.history("talks-a")[0].event_id


class TestTheOpening:
    def test_retracting_the_opening_is_refused(self, app: Negotiations) -> None:
        error = refused(app, retraction(opening_id(app)), "opening_not_retractable")
        assert "NegotiationOpened" in error.message
        assert negotiation(app).facts.status == "pre_negotiation"

    def test_retracting_the_opening_of_a_concluded_negotiation_is_refused(
        self, app: Negotiations
    ) -> None:
        given(app, draft("TalksConcluded", {"outcome": "no_agreement"}, occurred_at="2024-08"))
        refused(app, retraction(opening_id(app)), "opening_not_retractable")

    def test_the_refusal_is_the_same_inside_a_batch(self, app: Negotiations) -> None:
        before = app.max_position()
        with pytest.raises(BatchRejected) as info:
            app.record_many(
                [draft("ContextNoted", {"topic": "t", "text": "x"}), retraction(opening_id(app))],
                principal=PRINCIPAL,
            )
        assert (info.value.code, info.value.index) == ("opening_not_retractable", 1)
        assert app.max_position() == before

    def test_correcting_the_opening_may_drop_an_issue_nothing_refers_to(
        self, app: Negotiations
    ) -> None:
        issues = [{"issue_id": "transition", "title": "Transition"}]
        app.record(correction(opening_id(app), {"issues": issues}), principal=PRINCIPAL)
        assert negotiation(app).facts.issues == {"transition"}

    def test_correcting_the_opening_to_drop_an_issue_a_later_event_refers_to_is_refused(
        self, app: Negotiations
    ) -> None:
        given(app, position(issue="timeline"))
        issues = [{"issue_id": "transition", "title": "Transition"}]
        error = refused(app, correction(opening_id(app), {"issues": issues}), "unknown_issue")
        assert "this correction would leave a history" in error.message
        assert negotiation(app).facts.issues == {"transition", "timeline"}


def agreement_milestone() -> Envelope:
    payload = {
        "milestone_id": "m-2",
        "agreement_id": "ag-1",
        "obligor": USA,
        "description": "Mission ends",
        "due": {"kind": "not_later_than", "date": "2025-09-30"},
    }
    return draft("MilestoneScheduled", payload, occurred_at="2024-09-27")


# (setup that introduces something, a later event that refers to it, the code of the refusal)
STRUCTURAL = [
    pytest.param([], draft("PartyLeft", {"party": IRAQ}), "unknown_party", id="party-left"),
    pytest.param([], delegation(), "unknown_party", id="party-delegation"),
    pytest.param([], position(), "unknown_party", id="party-position"),
    pytest.param(
        [meeting("jscd-1", "MeetingScheduled")],
        meeting("jscd-1", "MeetingCancelled"),
        "unknown_meeting",
        id="meeting-cancelled",
    ),
    pytest.param(
        [proposal()],
        draft("ProposalAccepted", {"proposal_id": "p-1", "by": IRAQ}),
        "unknown_proposal",
        id="proposal-accepted",
    ),
    pytest.param([proposal()], proposal("p-2", supersedes="p-1"), "unknown_proposal", id="super"),
    pytest.param([agreement()], status("signed"), "unknown_agreement", id="agreement-status"),
    pytest.param(
        [agreement()], agreement_milestone(), "unknown_agreement", id="agreement-milestone"
    ),
    pytest.param([milestone()], settled(), "milestone_not_scheduled", id="milestone-met"),
    pytest.param(
        [milestone()],
        settled(kind="MilestoneMissed"),
        "milestone_not_scheduled",
        id="milestone-missed",
    ),
    pytest.param(
        [draft("TalksSuspended", {}, occurred_at="2024-08")],
        draft("TalksResumed", {}, occurred_at="2024-08"),
        "talks_not_suspended",
        id="talks-resumed",
    ),
]


def introduced(app: Negotiations, setup: list[Envelope]) -> str:
    """Records ``setup`` and returns the id of the event that introduced the referred thing:
    the last of ``setup``, or Iraq's PartyJoined when there is no setup."""
    given(app, *setup)
    events = app.history("talks-a")
    return events[-1].event_id if setup else events[1].event_id


class TestStructuralEvents:
    @pytest.mark.parametrize(("setup", "later", "code"), STRUCTURAL)
    def test_retracting_what_a_later_event_refers_to_is_refused(
        self, app: Negotiations, setup: list[Envelope], later: Envelope, code: str
    ) -> None:
        target = introduced(app, setup)
        given(app, later)
        error = refused(app, retraction(target), code)
        assert "this retraction would leave a history that breaks a rule" in error.message

    @pytest.mark.parametrize(("setup", "later", "code"), STRUCTURAL)
    def test_retracting_the_later_event_first_then_allows_it(
        self, app: Negotiations, setup: list[Envelope], later: Envelope, code: str
    ) -> None:
        target = introduced(app, setup)
        (referring,) = given(app, later)
        app.record(retraction(referring.event_id), principal=PRINCIPAL)
        app.record(retraction(target), principal=PRINCIPAL)

    def test_a_retracted_delegation_leaves_its_party_without_one(self, app: Negotiations) -> None:
        (assigned,) = given(app, delegation())
        app.record(retraction(assigned.event_id), principal=PRINCIPAL)
        assert negotiation(app).facts.parties == {"Iraq", "United States"}

    def test_a_meeting_held_stays_held_when_its_scheduling_is_retracted(
        self, app: Negotiations
    ) -> None:
        """A meeting may be recorded as held without having been scheduled, so the history
        left by this retraction is valid: the meeting reads as held, never scheduled."""
        scheduled, _ = given(
            app, meeting("jscd-1", "MeetingScheduled"), meeting("jscd-1", "MeetingHeld")
        )
        app.record(retraction(scheduled.event_id), principal=PRINCIPAL)
        assert negotiation(app).facts.meetings == {"jscd-1": "held"}
