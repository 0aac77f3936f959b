"""Events dated before the negotiation opened: background (what was said, demanded or noted)
may predate the opening; the talks' own events may not; nothing may be dated before 1900."""

from __future__ import annotations

from typing import Any

import pytest

from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.recorder.support import given, record, refused

OPENED = "2023-08"  # the factories' opening date (its interval: all of August 2023)
BEFORE = "2023-07-31"


BACKGROUND = [
    pytest.param(lambda when: f.note(occurred_at=when), id="ContextNoted"),
    pytest.param(
        lambda when: f.draft("DemandMade", {"actor": f.UK, "demand": "Leave."}, occurred_at=when),
        id="DemandMade",
    ),
    pytest.param(lambda when: f.statement("s-1", occurred_at=when), id="StatementIssued"),
    pytest.param(lambda when: f.position(occurred_at=when), id="PositionStated"),
]

STRUCTURAL = [
    pytest.param(
        lambda when: f.draft("PartyJoined", {"party": f.UK, "role": "observer"}, occurred_at=when),
        id="PartyJoined",
    ),
    pytest.param(
        lambda when: f.draft(
            "DelegationAssigned",
            {"delegation_id": "d-1", "party": f.IRAQ, "head": {"name": "A", "office": "B"}},
            occurred_at=when,
        ),
        id="DelegationAssigned",
    ),
    pytest.param(
        lambda when: f.meeting("m-1", "MeetingScheduled", occurred_at=when), id="MeetingScheduled"
    ),
    pytest.param(lambda when: f.meeting("m-1", occurred_at=when), id="MeetingHeld"),
    pytest.param(lambda when: f.proposal(occurred_at=when), id="ProposalTabled"),
    pytest.param(lambda when: f.agreement(occurred_at=when), id="AgreementReached"),
    pytest.param(lambda when: f.milestone(occurred_at=when), id="MilestoneScheduled"),
    pytest.param(lambda when: f.draft("TalksSuspended", {}, occurred_at=when), id="TalksSuspended"),
    pytest.param(
        lambda when: f.draft("TalksConcluded", {"outcome": "no_agreement"}, occurred_at=when),
        id="TalksConcluded",
    ),
]


class TestBeforeTheOpening:
    @pytest.mark.parametrize("event", BACKGROUND)
    def test_background_may_predate_the_opening(self, app: Negotiations, event: Any) -> None:
        record(app, event("1991-01-17"))

    @pytest.mark.parametrize("event", STRUCTURAL)
    def test_the_talks_own_events_may_not_predate_the_opening(
        self, app: Negotiations, event: Any
    ) -> None:
        error = refused(app, event(BEFORE), "occurred_before_opening")
        assert OPENED in error.message
        assert BEFORE in error.message

    @pytest.mark.parametrize("event", STRUCTURAL)
    def test_the_talks_own_events_may_fall_within_the_opening_s_interval(
        self, app: Negotiations, event: Any
    ) -> None:
        """Opened "2023-08": an event of 1 August may have happened after the opening."""
        record(app, event("2023-08-01"))

    def test_a_coarse_date_that_may_overlap_the_opening_is_accepted(
        self, app: Negotiations
    ) -> None:
        record(app, f.meeting("m-1", occurred_at="2023"))

    def test_settling_a_milestone_before_the_opening_is_refused(self, app: Negotiations) -> None:
        given(app, f.milestone())
        met = f.draft("MilestoneMet", {"milestone_id": "m-1"}, occurred_at="2020")
        refused(app, met, "occurred_before_opening")

    def test_a_correction_of_background_is_not_dated_by_the_opening(
        self, app: Negotiations
    ) -> None:
        (old,) = given(app, f.note(occurred_at="1991"))
        payload = {"target_event_id": old.event_id, "reason": "Wrong year"}
        record(app, f.draft("EventRetracted", payload, occurred_at="1992"))


class TestImplausiblyEarly:
    @pytest.mark.parametrize("when", ["0001", "0001-01-01", "1000-06", "1899-12-31T23:59:59Z"])
    def test_an_occurred_at_before_1900_is_refused(self, app: Negotiations, when: str) -> None:
        error = refused(app, f.note(occurred_at=when), "occurred_implausibly_early")
        assert "1900" in error.message

    def test_an_opening_before_1900_is_refused(self, memory_app: Negotiations) -> None:
        refused(memory_app, f.opened(occurred_at="0001-01-01"), "occurred_implausibly_early")

    def test_1900_itself_is_accepted(self, app: Negotiations) -> None:
        record(app, f.note(occurred_at="1900"))
        record(app, f.note(occurred_at="1900-01-01T00:00:00Z"))

    def test_the_opening_may_be_as_early_as_1900(self, memory_app: Negotiations) -> None:
        given(memory_app, f.opened(occurred_at="1900-01"), f.joined(f.IRAQ))
