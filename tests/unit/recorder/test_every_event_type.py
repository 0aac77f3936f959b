"""Every event type of the contract can be recorded and read back: a new type needs an example
here (and support in the recorder) or this test fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from events import EVENT_TYPES, Envelope
from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.recorder.support import given

UN = {"name": "United Nations", "sector": "IGO"}
HEAD = {"name": "Qasim al-Araji", "country": "IRQ", "office": "National Security Adviser"}


def prelude() -> list[Envelope]:
    """An active negotiation with a meeting, statement, proposal, milestone and (last) a note."""
    return [
        *f.started(),
        f.meeting("jscd-1", "MeetingScheduled"),
        f.statement("s-1"),
        f.proposal("p-1"),
        f.milestone("m-1"),
        f.note(),
    ]


Example = Callable[[str], list[Envelope]]  # given the prelude note's event_id: drafts to record

EXAMPLES: dict[str, Example] = {
    "PartyJoined": lambda _: [f.joined(UN)],
    "PartyLeft": lambda _: [f.draft("PartyLeft", {"party": f.USA, "role": "party"})],
    "DelegationAssigned": lambda _: [
        f.draft(
            "DelegationAssigned",
            {"delegation_id": "irq-1", "party": f.IRAQ, "head": HEAD, "members": [HEAD]},
        )
    ],
    "MeetingScheduled": lambda _: [f.meeting("jscd-2", "MeetingScheduled")],
    "MeetingHeld": lambda _: [f.meeting("jscd-1")],
    "MeetingCancelled": lambda _: [f.meeting("jscd-1", "MeetingCancelled")],
    "StatementIssued": lambda _: [f.statement("s-2")],
    "StatementWithdrawn": lambda _: [
        f.draft("StatementWithdrawn", {"statement_id": "s-1", "by": f.IRAQ})
    ],
    "StatementDenied": lambda _: [f.draft("StatementDenied", {"statement_id": "s-1", "by": f.USA})],
    "DemandMade": lambda _: [
        f.draft(
            "DemandMade",
            {"actor": f.IRAQ, "demand": "Set a timetable.", "target": f.USA, "deadline": "2024-12"},
        )
    ],
    "ProposalTabled": lambda _: [f.proposal("p-2", supersedes="p-1")],
    "ProposalAccepted": lambda _: [
        f.draft("ProposalAccepted", {"proposal_id": "p-1", "by": f.IRAQ})
    ],
    "ProposalRejected": lambda _: [
        f.draft("ProposalRejected", {"proposal_id": "p-1", "by": f.IRAQ})
    ],
    "PositionStated": lambda _: [
        f.draft(
            "PositionStated",
            {
                "party": f.IRAQ,
                "issue_id": "timeline",
                "position": "conditional",
                "text": "By 2026.",
            },
        )
    ],
    "AgreementReached": lambda _: [f.agreement("ag-1")],
    "AgreementStatusChanged": lambda _: [f.agreement("ag-1"), f.status("signed")],
    "MilestoneScheduled": lambda _: [
        f.agreement("ag-1"),
        f.draft(
            "MilestoneScheduled",
            {
                "milestone_id": "m-2",
                "agreement_id": "ag-1",
                "term_id": "t1",
                "obligor": f.USA,
                "description": "Second phase.",
                "due": {"kind": "relative", "anchor_milestone": "m-1", "offset_days": 365},
            },
        ),
    ],
    "MilestoneMet": lambda _: [f.settled()],
    "MilestoneMissed": lambda _: [f.settled(kind="MilestoneMissed")],
    "MilestoneProgressed": lambda _: [
        f.draft("MilestoneProgressed", {"milestone_id": "m-1", "degree": 1, "evidence": "Begun."})
    ],
    "MilestoneRescheduled": lambda _: [
        f.draft(
            "MilestoneRescheduled",
            {"milestone_id": "m-1", "new_due": {"kind": "on", "date": "2026-09"}},
        )
    ],
    "ContextNoted": lambda _: [f.note(text="About 2,500 U.S. troops.")],
    "TalksSuspended": lambda _: [f.talks("TalksSuspended", by=f.IRAQ, reason="Strikes.")],
    "TalksResumed": lambda _: [f.talks("TalksSuspended"), f.talks("TalksResumed")],
    "TalksConcluded": lambda _: [f.talks("TalksConcluded", outcome="agreement")],
    "EventCorrected": lambda noted: [f.correction(noted, {"text": "About 2,000 troops."})],
    "EventRetracted": lambda noted: [f.retraction(noted)],
}


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_records_and_reads_back_every_event_type(memory_app: Negotiations, kind: str) -> None:
    if kind == "NegotiationOpened":
        drafts = [f.opened()]
    else:
        assert kind in EXAMPLES, f"no example of {kind}: add one to EXAMPLES"
        noted = given(memory_app, *prelude())[-1]
        drafts = EXAMPLES[kind](noted.event_id)
    written = given(memory_app, *drafts)[-1]
    last = memory_app.history(f.NID)[-1]
    assert last.type == kind
    assert last.event_id == written.event_id
    assert last.draft == drafts[-1]
    assert last.hash_ok()
