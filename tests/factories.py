"""Builders of published events for tests: valid by default, any field overridable."""

from __future__ import annotations

from typing import Any

from events import Envelope, parse_draft
from services.recorder.jsonl import parse_lines, scenario_lines

NID = "talks-a"
SOURCE = {"outlet": "Test Wire", "kind": "wire", "published_at": "2024-07-22"}
IRAQ = {"name": "Iraq", "country": "IRQ", "sector": "GOV"}
USA = {"name": "United States", "country": "USA", "sector": "GOV"}
UK = {"name": "United Kingdom", "country": "GBR", "sector": "GOV"}  # not a party of the talks
ISSUES = ["transition", "timeline"]


def body(kind: str, payload: dict[str, Any], nid: str = NID, **envelope: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "negotiation_id": nid,
        "occurred_at": "2024-07-22",
        "sources": [SOURCE],
        "verification": "confirmed",
        **envelope,
        "payload": payload,
    }


def draft(kind: str, payload: dict[str, Any], nid: str = NID, **envelope: Any) -> Envelope:
    return parse_draft(body(kind, payload, nid, **envelope))


def opened(nid: str = NID, **envelope: Any) -> Envelope:
    issues = [{"issue_id": i, "title": i.title()} for i in ISSUES]
    return draft(
        "NegotiationOpened",
        {"title": "Talks", "format": "bilateral", "issues": issues},
        nid,
        **{"occurred_at": "2023-08", **envelope},
    )


def joined(actor: dict[str, Any], nid: str = NID) -> Envelope:
    return draft("PartyJoined", {"party": actor, "role": "party"}, nid)


def meeting(
    meeting_id: str, kind: str = "MeetingHeld", nid: str = NID, **envelope: Any
) -> Envelope:
    return draft(
        kind, {"meeting_id": meeting_id, "mode": "host", "agenda": ISSUES}, nid, **envelope
    )


def statement(statement_id: str, nid: str = NID, **envelope: Any) -> Envelope:
    payload = {
        "statement_id": statement_id,
        "speaker": {"name": "Pat Ryder", "office": "Press"},
        "paraphrase": "Talks continue.",
        "stances": [{"issue_id": "transition", "position": "support"}],
    }
    return draft("StatementIssued", payload, nid, **envelope)


def proposal(
    proposal_id: str = "p-1",
    *,
    by: dict[str, Any] = USA,
    issue: str = "transition",
    supersedes: str | None = None,
    nid: str = NID,
    **envelope: Any,
) -> Envelope:
    terms = [{"term_id": "t1", "issue_id": issue, "text": "Mission ends."}]
    payload: dict[str, Any] = {"proposal_id": proposal_id, "by": by, "terms": terms}
    if supersedes is not None:
        payload["supersedes"] = supersedes
    return draft("ProposalTabled", payload, nid, **envelope)


def position(
    party: dict[str, Any] = IRAQ, issue: str = "transition", nid: str = NID, **envelope: Any
) -> Envelope:
    payload = {"party": party, "issue_id": issue, "position": "support", "text": "It should end."}
    return draft("PositionStated", payload, nid, **envelope)


def agreement(agreement_id: str = "ag-1", nid: str = NID, **envelope: Any) -> Envelope:
    terms = [
        {
            "term_id": "t1",
            "issue_id": "transition",
            "text": "Mission ends.",
            "due": {"kind": "not_later_than", "date": "2025-09-30"},
        }
    ]
    payload = {
        "agreement_id": agreement_id,
        "title": "Joint statement",
        "form": "joint_statement",
        "parties": [IRAQ, USA],
        "terms": terms,
    }
    return draft("AgreementReached", payload, nid, **{"occurred_at": "2024-09-27", **envelope})


def status(new: str, agreement_id: str = "ag-1", nid: str = NID) -> Envelope:
    return draft(
        "AgreementStatusChanged",
        {"agreement_id": agreement_id, "status": new},
        nid,
        occurred_at="2024-09-27",
    )


def milestone(milestone_id: str = "m-1", nid: str = NID, **envelope: Any) -> Envelope:
    payload = {
        "milestone_id": milestone_id,
        "obligor": USA,
        "description": "Mission ends",
        "due": {"kind": "not_later_than", "date": "2025-09-30"},
    }
    return draft("MilestoneScheduled", payload, nid, **{"occurred_at": "2024-09-27", **envelope})


def settled(milestone_id: str = "m-1", kind: str = "MilestoneMet", nid: str = NID) -> Envelope:
    return draft(kind, {"milestone_id": milestone_id}, nid, occurred_at="2025-09-30")


def progressed(
    milestone_id: str = "m-1", degree: int = 1, nid: str = NID, **envelope: Any
) -> Envelope:
    payload = {"milestone_id": milestone_id, "degree": degree}
    return draft("MilestoneProgressed", payload, nid, **{"occurred_at": "2025-01", **envelope})


def talks(kind: str, nid: str = NID, **payload: Any) -> Envelope:
    return draft(kind, payload, nid, occurred_at="2024-08")


def note(text: str = "About 2,500 troops.", nid: str = NID, **envelope: Any) -> Envelope:
    return draft("ContextNoted", {"topic": "Troops", "text": text}, nid, **envelope)


def correction(target: str, patch: dict[str, Any], nid: str = NID) -> Envelope:
    return draft(
        "EventCorrected",
        {"target_event_id": target, "patch": patch, "reason": "Fixed spelling"},
        nid,
        occurred_at="2024-10-01",
    )


def retraction(target: str, nid: str = NID) -> Envelope:
    return draft(
        "EventRetracted",
        {"target_event_id": target, "reason": "Wrong report"},
        nid,
        occurred_at="2024-10-01",
    )


def scenario() -> list[Envelope]:
    """The drafts of the bundled U.S.–Iraq scenario (what ``talkstream demo`` records)."""
    drafts, _ = parse_lines(scenario_lines())
    return drafts


def started(nid: str = NID) -> list[Envelope]:
    """A negotiation opened with two parties."""
    return [opened(nid), joined(IRAQ, nid), joined(USA, nid)]


# Published bodies shared by the CLI and HTTP refusal tables

MEETING = {"meeting_id": "round-1", "mode": "host", "agenda": ISSUES}
NOTE = {"topic": "Troops", "text": "About 2,500 troops."}


def opening_body() -> dict[str, Any]:
    issues = [{"issue_id": i, "title": i.title()} for i in ISSUES]
    return body(
        "NegotiationOpened",
        {"title": "Talks", "format": "bilateral", "issues": issues},
        occurred_at="2023-08",
    )


def without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def quote(text: str) -> dict[str, Any]:
    return {"statement_id": "s-1", "speaker": {"name": "Pat Ryder"}, "quote": text}


SETUP = [
    opening_body(),
    body("PartyJoined", {"party": IRAQ, "role": "party"}),
    body("PartyJoined", {"party": USA, "role": "party"}),
    body(
        "AgreementReached",
        {
            "agreement_id": "ag-1",
            "title": "Joint statement",
            "form": "joint_statement",
            "parties": [IRAQ, USA],
            "terms": [{"term_id": "t1", "issue_id": "transition", "text": "Mission ends."}],
        },
        occurred_at="2024-09-27",
    ),
    body(
        "MilestoneScheduled",
        {
            "milestone_id": "m-1",
            "obligor": USA,
            "description": "Mission ends",
            "due": {"kind": "not_later_than", "date": "2025-09-30"},
        },
        occurred_at="2024-09-27",
    ),
    body("MilestoneMet", {"milestone_id": "m-1"}, occurred_at="2024-10-01"),
    body("ContextNoted", NOTE, idempotency_key="note-1"),
]
