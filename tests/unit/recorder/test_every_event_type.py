"""Every event type of the contract can be recorded and read back: a new type needs an example
here (and support in the recorder) or this test fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from events import EVENT_TYPES, Envelope
from services.recorder.application import Negotiations
from tests.factories import (
    IRAQ,
    NID,
    USA,
    agreement,
    correction,
    draft,
    joined,
    meeting,
    milestone,
    note,
    opened,
    proposal,
    retraction,
    settled,
    started,
    statement,
    status,
    talks,
)
from tests.unit.recorder.support import given

UN = {"name": "United Nations", "sector": "IGO"}
HEAD = {"name": "Qasim al-Araji", "country": "IRQ", "office": "National Security Adviser"}


def prelude() -> list[Envelope]:
    """An active negotiation with a meeting, statement, proposal, milestone and (last) a note."""
    return [
        *started(),
        meeting("jscd-1", "MeetingScheduled"),
        statement("s-1"),
        proposal("p-1"),
        milestone("m-1"),
        note(),
    ]


Example = Callable[[str], list[Envelope]]  # given the prelude note's event_id: drafts to record

EXAMPLES: dict[str, Example] = {
    "PartyJoined": lambda _: [joined(UN)],
    "PartyLeft": lambda _: [draft("PartyLeft", {"party": USA, "role": "party"})],
    "DelegationAssigned": lambda _: [
        draft(
            "DelegationAssigned",
            {"delegation_id": "irq-1", "party": IRAQ, "head": HEAD, "members": [HEAD]},
        )
    ],
    "MeetingScheduled": lambda _: [meeting("jscd-2", "MeetingScheduled")],
    "MeetingHeld": lambda _: [meeting("jscd-1")],
    "MeetingCancelled": lambda _: [meeting("jscd-1", "MeetingCancelled")],
    "StatementIssued": lambda _: [statement("s-2")],
    "StatementWithdrawn": lambda _: [
        draft("StatementWithdrawn", {"statement_id": "s-1", "by": IRAQ})
    ],
    "StatementDenied": lambda _: [draft("StatementDenied", {"statement_id": "s-1", "by": USA})],
    "DemandMade": lambda _: [
        draft(
            "DemandMade",
            {"actor": IRAQ, "demand": "Set a timetable.", "target": USA, "deadline": "2024-12"},
        )
    ],
    "ProposalTabled": lambda _: [proposal("p-2", supersedes="p-1")],
    "ProposalAccepted": lambda _: [draft("ProposalAccepted", {"proposal_id": "p-1", "by": IRAQ})],
    "ProposalRejected": lambda _: [draft("ProposalRejected", {"proposal_id": "p-1", "by": IRAQ})],
    "PositionStated": lambda _: [
        draft(
            "PositionStated",
            {"party": IRAQ, "issue_id": "timeline", "position": "conditional", "text": "By 2026."},
        )
    ],
    "AgreementReached": lambda _: [agreement("ag-1")],
    "AgreementStatusChanged": lambda _: [agreement("ag-1"), status("signed")],
    "MilestoneScheduled": lambda _: [
        agreement("ag-1"),
        draft(
            "MilestoneScheduled",
            {
                "milestone_id": "m-2",
                "agreement_id": "ag-1",
                "term_id": "t1",
                "obligor": USA,
                "description": "Second phase.",
                "due": {"kind": "relative", "anchor_milestone": "m-1", "offset_days": 365},
            },
        ),
    ],
    "MilestoneMet": lambda _: [settled()],
    "MilestoneMissed": lambda _: [settled(kind="MilestoneMissed")],
    "MilestoneRescheduled": lambda _: [
        draft(
            "MilestoneRescheduled",
            {"milestone_id": "m-1", "new_due": {"kind": "on", "date": "2026-09"}},
        )
    ],
    "ContextNoted": lambda _: [note(text="About 2,500 U.S. troops.")],
    "TalksSuspended": lambda _: [talks("TalksSuspended", by=IRAQ, reason="Strikes.")],
    "TalksResumed": lambda _: [talks("TalksSuspended"), talks("TalksResumed")],
    "TalksConcluded": lambda _: [talks("TalksConcluded", outcome="agreement")],
    "EventCorrected": lambda noted: [correction(noted, {"text": "About 2,000 troops."})],
    "EventRetracted": lambda noted: [retraction(noted)],
}


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_records_and_reads_back_every_event_type(memory_app: Negotiations, kind: str) -> None:
    if kind == "NegotiationOpened":
        drafts = [opened()]
    else:
        assert kind in EXAMPLES, f"no example of {kind}: add one to EXAMPLES"
        noted = given(memory_app, *prelude())[-1]
        drafts = EXAMPLES[kind](noted.event_id)
    written = given(memory_app, *drafts)[-1]
    last = memory_app.history(NID)[-1]
    assert last.type == kind
    assert last.event_id == written.event_id
    assert last.draft == drafts[-1]
    assert last.hash_ok()
