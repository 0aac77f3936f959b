"""The negotiation's status, derived from its events (the fold and the aggregate agree)."""

from __future__ import annotations

from typing import Any

import pytest

from events import Envelope
from projections.negotiation import fold, view
from services.recorder.application import Negotiations
from tests.factories import (
    IRAQ,
    NID,
    USA,
    agreement,
    draft,
    meeting,
    milestone,
    note,
    settled,
    started,
    statement,
    status,
    talks,
)
from tests.unit.recorder.support import given, negotiation


def status_after(app: Negotiations, *drafts: Envelope) -> str | None:
    """Records ``drafts`` after opening with two parties; the status both sides derive."""
    given(app, *started(), *drafts)
    folded: str | None = view(fold(None, app.history(NID)))["status"]
    assert negotiation(app).facts.status == folded
    return folded


def concluded(outcome: str) -> Envelope:
    return talks("TalksConcluded", outcome=outcome)


ENGAGING = [
    pytest.param(meeting("jscd-1"), id="MeetingHeld"),
    pytest.param(statement("s-1"), id="StatementIssued"),
    pytest.param(
        draft(
            "PositionStated",
            {"party": IRAQ, "issue_id": "transition", "position": "support", "text": "End it."},
        ),
        id="PositionStated",
    ),
    pytest.param(
        draft(
            "ProposalTabled",
            {
                "proposal_id": "p-1",
                "by": USA,
                "terms": [{"term_id": "t1", "issue_id": "transition", "text": "End it."}],
            },
        ),
        id="ProposalTabled",
    ),
]


class TestOpening:
    def test_starts_in_pre_negotiation_when_opened(self, memory_app: Negotiations) -> None:
        assert status_after(memory_app) == "pre_negotiation"

    @pytest.mark.parametrize("event", [meeting("jscd-1", "MeetingScheduled"), note()])
    def test_stays_in_pre_negotiation_until_talks_engage(
        self, memory_app: Negotiations, event: Envelope
    ) -> None:
        assert status_after(memory_app, event) == "pre_negotiation"


class TestTalks:
    @pytest.mark.parametrize("event", ENGAGING)
    def test_becomes_active_at_first_engagement(
        self, memory_app: Negotiations, event: Envelope
    ) -> None:
        assert status_after(memory_app, event) == "active"

    def test_is_suspended_after_talks_suspended(self, memory_app: Negotiations) -> None:
        assert status_after(memory_app, meeting("j-1"), talks("TalksSuspended")) == "suspended"

    def test_cycles_between_suspended_and_active(self, memory_app: Negotiations) -> None:
        cycle = [talks("TalksSuspended"), talks("TalksResumed")]
        assert status_after(memory_app, meeting("j-1"), *cycle, *cycle) == "active"

    def test_engagement_while_suspended_does_not_resume_talks(
        self, memory_app: Negotiations
    ) -> None:
        assert status_after(memory_app, talks("TalksSuspended"), statement("s-1")) == "suspended"


class TestAgreement:
    def test_reaches_agreement_when_agreement_reached(self, memory_app: Negotiations) -> None:
        assert status_after(memory_app, meeting("j-1"), agreement()) == "agreement_reached"

    def test_signature_alone_does_not_start_implementation(self, memory_app: Negotiations) -> None:
        assert status_after(memory_app, agreement(), status("signed")) == "agreement_reached"

    def test_enters_implementation_when_agreement_in_force(self, memory_app: Negotiations) -> None:
        moves = [status("signed"), status("in_force")]
        assert status_after(memory_app, agreement(), *moves) == "implementation"

    def test_enters_implementation_when_a_milestone_is_met(self, memory_app: Negotiations) -> None:
        assert status_after(memory_app, agreement(), milestone(), settled()) == "implementation"

    def test_another_agreement_keeps_implementation(self, memory_app: Negotiations) -> None:
        moves = [agreement(), status("signed"), status("in_force"), agreement("ag-2")]
        assert status_after(memory_app, *moves) == "implementation"


class TestConclusion:
    @pytest.mark.parametrize(
        ("outcome", "expected"),
        [("agreement", "completed"), ("superseded", "completed"), ("no_agreement", "collapsed")],
    )
    def test_concludes_by_outcome(
        self, memory_app: Negotiations, outcome: str, expected: str
    ) -> None:
        moves = [agreement(), status("signed"), status("in_force")]
        assert status_after(memory_app, *moves, concluded(outcome)) == expected

    @pytest.mark.parametrize(
        "before",
        [
            pytest.param([], id="pre_negotiation"),
            pytest.param([meeting("j-1")], id="active"),
            pytest.param([meeting("j-1"), talks("TalksSuspended")], id="suspended"),
            pytest.param([agreement()], id="agreement_reached"),
        ],
    )
    def test_collapses_from_any_open_state(
        self, memory_app: Negotiations, before: list[Any]
    ) -> None:
        assert status_after(memory_app, *before, concluded("no_agreement")) == "collapsed"
