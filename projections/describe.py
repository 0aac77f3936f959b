"""One-line human descriptions of events, for timelines and tables."""

from __future__ import annotations

from typing import Any


def _name(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "?"
    office = actor.get("office")
    return f"{actor['name']} ({office})" if office else str(actor["name"])


def describe(kind: str, p: dict[str, Any]) -> str:  # noqa: PLR0911, PLR0912, C901 (a flat table)
    match kind:
        case "NegotiationOpened":
            return f"Negotiation opened: {p['title']}"
        case "PartyJoined" | "PartyLeft":
            verb = "joined" if kind == "PartyJoined" else "left"
            return f"{_name(p['party'])} {verb} as {p['role']}"
        case "DelegationAssigned":
            return f"{p['party']['name']} delegation led by {_name(p['head'])}"
        case "MeetingScheduled" | "MeetingHeld" | "MeetingCancelled":
            verb = kind.removeprefix("Meeting").lower()
            where = f" at {p['location']}" if p.get("location") else ""
            return f"Meeting {p['meeting_id']} {verb}{where}"
        case "StatementIssued":
            said = p.get("quote") or p.get("paraphrase") or ""
            return f"{_name(p['speaker'])}: {said}"
        case "StatementWithdrawn" | "StatementDenied":
            verb = kind.removeprefix("Statement").lower()
            return f"Statement {p['statement_id']} {verb} by {_name(p['by'])}"
        case "DemandMade":
            return f"{_name(p['actor'])} demands: {p['demand']}"
        case "ProposalTabled":
            return f"{_name(p['by'])} tabled proposal {p['proposal_id']}"
        case "ProposalAccepted" | "ProposalRejected":
            verb = kind.removeprefix("Proposal").lower()
            return f"{_name(p['by'])} {verb} proposal {p['proposal_id']}"
        case "PositionStated":
            return f"{p['party']['name']} on {p['issue_id']}: {p['position']} ({p['text']})"
        case "AgreementReached":
            return f"Agreement reached: {p['title']}"
        case "AgreementStatusChanged":
            return f"Agreement {p['agreement_id']} is now {p['status']}"
        case "MilestoneScheduled":
            return f"Milestone {p['milestone_id']}: {p['description']} (due {due_text(p['due'])})"
        case "MilestoneMet" | "MilestoneMissed":
            return f"Milestone {p['milestone_id']} {kind.removeprefix('Milestone').lower()}"
        case "MilestoneRescheduled":
            return f"Milestone {p['milestone_id']} rescheduled to {due_text(p['new_due'])}"
        case "ContextNoted":
            return f"{p['topic']}: {p['text']}"
        case "TalksSuspended" | "TalksResumed":
            return f"Talks {kind.removeprefix('Talks').lower()}" + (
                f": {p['reason']}" if p.get("reason") else ""
            )
        case "TalksConcluded":
            return f"Talks concluded ({p['outcome']})"
        case "EventCorrected":
            return f"Correction of {p['target_event_id']}: {p['reason']}"
        case "EventRetracted":
            return f"Retraction of {p['target_event_id']}: {p['reason']}"
    return kind


def due_text(due: dict[str, Any]) -> str:
    match due["kind"]:
        case "on":
            return f"on {due['date']}"
        case "not_later_than":
            return f"by {due['date']}"
        case "relative":
            return f"{due['offset_days']} days after {due['anchor_milestone']}"
    return f"when {due.get('condition', '?')}"
