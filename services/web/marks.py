"""The kind of each event type, with the mark the timeline shows for it and the filter that
selects it: one table over every type of the contract (``complete`` stops the import when a
type is missing or unknown)."""

from __future__ import annotations

from dataclasses import dataclass

from events.registry import complete


@dataclass(frozen=True)
class Kind:
    name: str
    mark: str
    label: str


TALKS = Kind("talks", "▶", "Talks")
PARTIES = Kind("parties", "●", "Parties and delegations")
MEETING = Kind("meeting", "◆", "Meetings")
STATEMENT = Kind("statement", "❝", "Statements and positions")
PROPOSAL = Kind("proposal", "✎", "Proposals")
AGREEMENT = Kind("agreement", "✔", "Agreements")
MILESTONE = Kind("milestone", "⚑", "Milestones")
CONTEXT = Kind("context", "ℹ", "Context and demands")
CORRECTION = Kind("correction", "↺", "Corrections")

KIND_OF = complete(
    "page kinds",
    {
        "NegotiationOpened": TALKS,
        "TalksSuspended": TALKS,
        "TalksResumed": TALKS,
        "TalksConcluded": TALKS,
        "PartyJoined": PARTIES,
        "PartyLeft": PARTIES,
        "DelegationAssigned": PARTIES,
        "MeetingScheduled": MEETING,
        "MeetingHeld": MEETING,
        "MeetingCancelled": MEETING,
        "StatementIssued": STATEMENT,
        "StatementWithdrawn": STATEMENT,
        "StatementDenied": STATEMENT,
        "PositionStated": STATEMENT,
        "DemandMade": CONTEXT,
        "ContextNoted": CONTEXT,
        "ProposalTabled": PROPOSAL,
        "ProposalAccepted": PROPOSAL,
        "ProposalRejected": PROPOSAL,
        "AgreementReached": AGREEMENT,
        "AgreementStatusChanged": AGREEMENT,
        "MilestoneScheduled": MILESTONE,
        "MilestoneMet": MILESTONE,
        "MilestoneMissed": MILESTONE,
        "MilestoneProgressed": MILESTONE,
        "MilestoneRescheduled": MILESTONE,
        "EventCorrected": CORRECTION,
        "EventRetracted": CORRECTION,
    },
)
KINDS: dict[str, Kind] = {k.name: k for k in KIND_OF.values()}
OTHER = Kind("other", "•", "Other")


def kind_of(event_type: str) -> Kind:
    return KIND_OF.get(event_type, OTHER)
