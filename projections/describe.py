"""One-line human descriptions of events, for timelines and tables: one function per event
type (or per family of types that read alike), each typed with its payload's shape. Which
function describes which type is said in projections/kinds.py."""

from __future__ import annotations

from collections.abc import Callable

from events.wire import (
    ActorWire,
    AgreementReachedPayloadWire,
    AgreementStatusChangedPayloadWire,
    ContextNotedPayloadWire,
    DelegationAssignedPayloadWire,
    DemandMadePayloadWire,
    DueWire,
    EventCorrectedPayloadWire,
    EventRetractedPayloadWire,
    MeetingPayloadWire,
    MilestoneRescheduledPayloadWire,
    MilestoneScheduledPayloadWire,
    MilestoneSettledPayloadWire,
    NegotiationOpenedPayloadWire,
    PartyPayloadWire,
    PositionStatedPayloadWire,
    ProposalAnswerPayloadWire,
    ProposalTabledPayloadWire,
    StatementIssuedPayloadWire,
    StatementRefPayloadWire,
    TalksConcludedPayloadWire,
    TalksPayloadWire,
)


def _name(actor: ActorWire | None) -> str:
    if not actor:
        return "?"
    office = actor.get("office")
    return f"{actor['name']} ({office})" if office else str(actor["name"])


def opened(p: NegotiationOpenedPayloadWire) -> str:
    return f"Negotiation opened: {p['title']}"


def party(verb: str) -> Callable[[PartyPayloadWire], str]:
    return lambda p: f"{_name(p['party'])} {verb} as {p['role']}"


def delegation(p: DelegationAssignedPayloadWire) -> str:
    return f"{p['party']['name']} delegation led by {_name(p['head'])}"


def meeting(verb: str) -> Callable[[MeetingPayloadWire], str]:
    def text(p: MeetingPayloadWire) -> str:
        where = f" at {p['location']}" if p.get("location") else ""
        return f"Meeting {p['meeting_id']} {verb}{where}"

    return text


def statement(p: StatementIssuedPayloadWire) -> str:
    said = p.get("quote") or p.get("paraphrase") or ""
    return f"{_name(p['speaker'])}: {said}"


def statement_ref(verb: str) -> Callable[[StatementRefPayloadWire], str]:
    return lambda p: f"Statement {p['statement_id']} {verb} by {_name(p['by'])}"


def demand(p: DemandMadePayloadWire) -> str:
    return f"{_name(p['actor'])} demands: {p['demand']}"


def proposal(p: ProposalTabledPayloadWire) -> str:
    return f"{_name(p['by'])} tabled proposal {p['proposal_id']}"


def proposal_answer(verb: str) -> Callable[[ProposalAnswerPayloadWire], str]:
    return lambda p: f"{_name(p['by'])} {verb} proposal {p['proposal_id']}"


def position(p: PositionStatedPayloadWire) -> str:
    return f"{p['party']['name']} on {p['issue_id']}: {p['position']} ({p['text']})"


def agreement(p: AgreementReachedPayloadWire) -> str:
    return f"Agreement reached: {p['title']}"


def agreement_status(p: AgreementStatusChangedPayloadWire) -> str:
    return f"Agreement {p['agreement_id']} is now {p['status']}"


def milestone(p: MilestoneScheduledPayloadWire) -> str:
    return f"Milestone {p['milestone_id']}: {p['description']} (due {due_text(p['due'])})"


def milestone_settled(verb: str) -> Callable[[MilestoneSettledPayloadWire], str]:
    return lambda p: f"Milestone {p['milestone_id']} {verb}"


def milestone_rescheduled(p: MilestoneRescheduledPayloadWire) -> str:
    return f"Milestone {p['milestone_id']} rescheduled to {due_text(p['new_due'])}"


def context(p: ContextNotedPayloadWire) -> str:
    return f"{p['topic']}: {p['text']}"


def talks(verb: str) -> Callable[[TalksPayloadWire], str]:
    return lambda p: f"Talks {verb}" + (f": {p['reason']}" if p.get("reason") else "")


def concluded(p: TalksConcludedPayloadWire) -> str:
    return f"Talks concluded ({p['outcome']})"


def correction(p: EventCorrectedPayloadWire) -> str:
    return f"Correction of {p['target_event_id']}: {p['reason']}"


def retraction(p: EventRetractedPayloadWire) -> str:
    return f"Retraction of {p['target_event_id']}: {p['reason']}"


def due_text(due: DueWire) -> str:
    match due["kind"]:
        case "on":
            return f"on {due['date']}"
        case "not_later_than":
            return f"by {due['date']}"
        case "relative":
            return f"{due['offset_days']} days after {due['anchor_milestone']}"
    return f"when {due.get('condition', '?')}"
