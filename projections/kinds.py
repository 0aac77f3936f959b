"""What each event type does on the read side, in one table: ``KINDS``.

An entry says, for one type, how the ``negotiation`` reducer changes the view (``reduce``),
which view entries that change touches (``touches``, so that storage writes only those), and
its one-line description (``describe``). ``kind`` builds an entry and makes the type checker
hold all three to the same payload shape.

The recorder keeps its own per-type tables (guards, facts): the floors keep the write side and
the read side from importing each other, and the contract below both from importing either.
So each layer has one table and checks it against the contract's ``EVENT_TYPES`` at import
(``events.registry.complete``): a type added to the contract and forgotten here, or a name
here that is no type, fails the import with an error naming this layer and the types. A type
with no reducer or no touched entries says so with ``NO_REDUCER`` or ``REDERIVES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar, cast

from events import PartialDate
from events.registry import Nothing, complete
from events.wire import (
    AgreementReachedPayloadWire,
    AgreementStatusChangedPayloadWire,
    ContextNotedPayloadWire,
    DelegationAssignedPayloadWire,
    DemandMadePayloadWire,
    DueWire,
    MeetingPayloadWire,
    MilestoneRescheduledPayloadWire,
    MilestoneScheduledPayloadWire,
    MilestoneSettledPayloadWire,
    NegotiationOpenedPayloadWire,
    PartyPayloadWire,
    Payload,
    PositionStatedPayloadWire,
    ProposalAnswerPayloadWire,
    ProposalTabledPayloadWire,
    StatementIssuedPayloadWire,
    StatementRefPayloadWire,
)
from projections import describe as text
from projections.shapes import (
    EvidencedStep,
    MeetingEntry,
    MeetingStatus,
    MilestoneEntry,
    MilestoneStatus,
    MilestoneStep,
    Origin,
    Section,
    StatementEntry,
    Touch,
    View,
)

P = TypeVar("P")  # the payload shape of one event type

Reduce = Callable[[View, Payload, Origin], None]
Touches = Callable[[Payload, str], list[Touch]]  # (payload, event_id) -> entries

NO_REDUCER = Nothing("reducer")
"""Only the status moves, which every event passes through ``next_status`` for."""
REDERIVES = Nothing("list of touched entries")
"""Corrections and retractions: the fold re-derives the whole view from the registry."""


@dataclass(frozen=True, slots=True)
class Kind:
    reduce: Reduce | Nothing
    touches: Touches | Nothing
    describe: Callable[[Payload], str]


def kind(
    reduce: Callable[[View, P, Origin], None] | Nothing,
    touches: Callable[[P, str], list[Touch]] | Nothing,
    describe: Callable[[P], str],
) -> Kind:
    """One type's entry. Stored payloads are told apart only by the event's type, which the
    type checker cannot follow through a table, so the three are stored as taking any payload;
    here they are checked against one shape ``P``."""
    return Kind(
        cast("Reduce | Nothing", reduce),
        cast("Touches | Nothing", touches),
        cast("Callable[[Payload], str]", describe),
    )


def _without(payload: Mapping[str, object], key: str) -> dict[str, object]:
    """The payload without its id, in the payload's own key order (a correction may have
    appended fields, and stored views keep that order)."""
    return {k: v for k, v in payload.items() if k != key}


def _opened(v: View, p: NegotiationOpenedPayloadWire, o: Origin) -> None:
    v["title"] = p["title"]
    v["format"] = p["format"]
    v["framework_ref"] = p.get("framework_ref")
    v["opened_at"] = o["occurred_at"]
    for issue in p.get("issues", []):
        v["issues"][issue["issue_id"]] = {"title": issue["title"], "positions": {}}


def _joined(v: View, p: PartyPayloadWire, o: Origin) -> None:
    v["parties"][p["party"]["name"]] = {
        "actor": p["party"],
        "role": p["role"],
        "active": True,
        "joined": o,
        "delegation": None,
    }


def _left(v: View, p: PartyPayloadWire, o: Origin) -> None:
    party = v["parties"].get(p["party"]["name"])
    if party is not None:
        party["active"] = False
        party["left"] = o


def _delegation(v: View, p: DelegationAssignedPayloadWire, o: Origin) -> None:
    v["delegations"][p["delegation_id"]] = {
        "party": p["party"]["name"],
        "head": p["head"],
        "members": p.get("members", []),
        **o,
    }
    party = v["parties"].get(p["party"]["name"])
    if party is not None:
        party["delegation"] = p["delegation_id"]


def _meeting(status: MeetingStatus) -> Callable[[View, MeetingPayloadWire, Origin], None]:
    def handle(v: View, p: MeetingPayloadWire, o: Origin) -> None:
        meeting = v["meetings"].setdefault(p["meeting_id"], cast(MeetingEntry, {"history": []}))
        meeting.update(cast(MeetingEntry, _without(p, "meeting_id")))
        meeting["status"] = status
        meeting["occurred_at"] = o["occurred_at"]
        meeting["occurred_until"] = o["occurred_until"]
        meeting["history"].append({"status": status, **o})

    return handle


def _statement(v: View, p: StatementIssuedPayloadWire, o: Origin) -> None:
    entry = {**_without(p, "statement_id"), "withdrawn": False, "denied": False, **o}
    v["statements"][p["statement_id"]] = cast(StatementEntry, entry)


def _statement_flag(
    flag: Literal["withdrawn", "denied"], by: Literal["withdrawn_by", "denied_by"]
) -> Callable[[View, StatementRefPayloadWire, Origin], None]:
    def handle(v: View, p: StatementRefPayloadWire, o: Origin) -> None:
        statement = v["statements"].get(p["statement_id"])
        if statement is not None:
            statement[flag] = True
            statement[by] = p["by"]

    return handle


def _demand(v: View, p: DemandMadePayloadWire, o: Origin) -> None:
    v["demands"][o["event_id"]] = {**p, **o}


def _proposal(v: View, p: ProposalTabledPayloadWire, o: Origin) -> None:
    v["proposals"][p["proposal_id"]] = {
        "by": p["by"],
        "terms": p["terms"],
        "supersedes": p.get("supersedes"),
        "fate": "tabled",
        "accepted_by": [],
        "rejected_by": [],
        **o,
    }
    old = v["proposals"].get(p.get("supersedes") or "")
    if old is not None:
        old["fate"] = "superseded"


def _answer(
    fate: Literal["accepted", "rejected"], by: Literal["accepted_by", "rejected_by"]
) -> Callable[[View, ProposalAnswerPayloadWire, Origin], None]:
    def handle(v: View, p: ProposalAnswerPayloadWire, o: Origin) -> None:
        proposal = v["proposals"].get(p["proposal_id"])
        if proposal is not None:
            proposal[by].append(p["by"]["name"])
            proposal["fate"] = fate

    return handle


def _position(v: View, p: PositionStatedPayloadWire, o: Origin) -> None:
    """A party's latest position is the latest in world time (on a tie, the later recorded)."""
    issue = v["issues"].get(p["issue_id"])
    if issue is None:
        return
    party = p["party"]["name"]
    current = issue["positions"].get(party)
    if current is None or _when(o) >= _when(current):
        issue["positions"][party] = {"position": p["position"], "text": p["text"], **o}


def _when(entry: Origin) -> tuple[datetime, int]:
    return PartialDate.parse(entry["occurred_at"]).sort_key()


def _agreement(v: View, p: AgreementReachedPayloadWire, o: Origin) -> None:
    v["agreements"][p["agreement_id"]] = {
        "title": p["title"],
        "form": p["form"],
        "parties": [a["name"] for a in p["parties"]],
        "terms": p.get("terms", []),
        "status": "draft",
        "history": [{"status": "draft", **o}],
        **o,
    }


def _agreement_status(v: View, p: AgreementStatusChangedPayloadWire, o: Origin) -> None:
    agreement = v["agreements"].get(p["agreement_id"])
    if agreement is not None:
        agreement["status"] = p["status"]
        agreement["history"].append({"status": p["status"], **o})


def _milestone(v: View, p: MilestoneScheduledPayloadWire, o: Origin) -> None:
    step: MilestoneStep = {"status": "scheduled", **o}
    entry = {**_without(p, "milestone_id"), "status": "scheduled", "history": [step], **o}
    v["milestones"][p["milestone_id"]] = cast(MilestoneEntry, entry)


def _settled(
    status: MilestoneStatus,
) -> Callable[[View, MilestoneSettledPayloadWire, Origin], None]:
    def handle(v: View, p: MilestoneSettledPayloadWire, o: Origin) -> None:
        _milestone_step(v, p["milestone_id"], status, o, evidence=p.get("evidence"))

    return handle


def _rescheduled(v: View, p: MilestoneRescheduledPayloadWire, o: Origin) -> None:
    milestone_id, evidence = p["milestone_id"], p.get("evidence")
    _milestone_step(v, milestone_id, "scheduled", o, new_due=p["new_due"], evidence=evidence)


def _milestone_step(
    v: View,
    milestone_id: str,
    status: MilestoneStatus,
    o: Origin,
    *,
    new_due: DueWire | None = None,
    evidence: str | None,
) -> None:
    milestone = v["milestones"].get(milestone_id)
    if milestone is None:
        return
    milestone["status"] = status
    if new_due:
        milestone["due"] = new_due
    step: MilestoneStep = {"status": status, **o}
    if evidence:
        evidenced: EvidencedStep = {**step, "evidence": evidence}
        step = evidenced
    milestone["history"].append(step)


def _context(v: View, p: ContextNotedPayloadWire, o: Origin) -> None:
    v["context"][o["event_id"]] = {**p, **o}


def _issues_touch(p: NegotiationOpenedPayloadWire, event_id: str) -> list[Touch]:
    section: Section = "issues"
    return [(section, issue["issue_id"]) for issue in p.get("issues", [])]


def _party_touch(p: PartyPayloadWire, event_id: str) -> list[Touch]:
    return [("parties", p["party"]["name"])]


def _meeting_touch(p: MeetingPayloadWire, event_id: str) -> list[Touch]:
    return [("meetings", p["meeting_id"])]


def _statement_touch(
    p: StatementIssuedPayloadWire | StatementRefPayloadWire, event_id: str
) -> list[Touch]:
    return [("statements", p["statement_id"])]


def _proposal_touch(p: ProposalTabledPayloadWire, event_id: str) -> list[Touch]:
    touched: list[Touch] = [("proposals", p["proposal_id"])]
    supersedes = p.get("supersedes")
    if supersedes:
        touched.append(("proposals", supersedes))
    return touched


def _answer_touch(p: ProposalAnswerPayloadWire, event_id: str) -> list[Touch]:
    return [("proposals", p["proposal_id"])]


def _agreement_touch(
    p: AgreementReachedPayloadWire | AgreementStatusChangedPayloadWire, event_id: str
) -> list[Touch]:
    return [("agreements", p["agreement_id"])]


def _milestone_touch(
    p: MilestoneScheduledPayloadWire
    | MilestoneSettledPayloadWire
    | MilestoneRescheduledPayloadWire,
    event_id: str,
) -> list[Touch]:
    return [("milestones", p["milestone_id"])]


def _no_entry(p: object, event_id: str) -> list[Touch]:
    return []


KINDS: dict[str, Kind] = complete(
    "projections (KINDS in projections/kinds.py)",
    {
        "NegotiationOpened": kind(_opened, _issues_touch, text.opened),
        "PartyJoined": kind(_joined, _party_touch, text.party("joined")),
        "PartyLeft": kind(_left, _party_touch, text.party("left")),
        "DelegationAssigned": kind(
            _delegation,
            lambda p, _: [("delegations", p["delegation_id"]), ("parties", p["party"]["name"])],
            text.delegation,
        ),
        "MeetingScheduled": kind(_meeting("scheduled"), _meeting_touch, text.meeting("scheduled")),
        "MeetingHeld": kind(_meeting("held"), _meeting_touch, text.meeting("held")),
        "MeetingCancelled": kind(_meeting("cancelled"), _meeting_touch, text.meeting("cancelled")),
        "StatementIssued": kind(_statement, _statement_touch, text.statement),
        "StatementWithdrawn": kind(
            _statement_flag("withdrawn", "withdrawn_by"),
            _statement_touch,
            text.statement_ref("withdrawn"),
        ),
        "StatementDenied": kind(
            _statement_flag("denied", "denied_by"), _statement_touch, text.statement_ref("denied")
        ),
        "DemandMade": kind(_demand, lambda p, event_id: [("demands", event_id)], text.demand),
        "ProposalTabled": kind(_proposal, _proposal_touch, text.proposal),
        "ProposalAccepted": kind(
            _answer("accepted", "accepted_by"), _answer_touch, text.proposal_answer("accepted")
        ),
        "ProposalRejected": kind(
            _answer("rejected", "rejected_by"), _answer_touch, text.proposal_answer("rejected")
        ),
        "PositionStated": kind(_position, lambda p, _: [("issues", p["issue_id"])], text.position),
        "AgreementReached": kind(_agreement, _agreement_touch, text.agreement),
        "AgreementStatusChanged": kind(_agreement_status, _agreement_touch, text.agreement_status),
        "MilestoneScheduled": kind(_milestone, _milestone_touch, text.milestone),
        "MilestoneMet": kind(_settled("met"), _milestone_touch, text.milestone_settled("met")),
        "MilestoneMissed": kind(
            _settled("missed"), _milestone_touch, text.milestone_settled("missed")
        ),
        "MilestoneRescheduled": kind(_rescheduled, _milestone_touch, text.milestone_rescheduled),
        "ContextNoted": kind(_context, lambda p, event_id: [("context", event_id)], text.context),
        "TalksSuspended": kind(NO_REDUCER, _no_entry, text.talks("suspended")),
        "TalksResumed": kind(NO_REDUCER, _no_entry, text.talks("resumed")),
        "TalksConcluded": kind(NO_REDUCER, _no_entry, text.concluded),
        "EventCorrected": kind(NO_REDUCER, REDERIVES, text.correction),
        "EventRetracted": kind(NO_REDUCER, REDERIVES, text.retraction),
    },
)
REDUCERS: dict[str, Reduce] = {
    name: k.reduce for name, k in KINDS.items() if not isinstance(k.reduce, Nothing)
}
TOUCHES: dict[str, Touches] = {
    name: k.touches for name, k in KINDS.items() if not isinstance(k.touches, Nothing)
}


def describe(event_type: str, payload: Payload) -> str:
    """The event's one-line description (an unknown type is named as it is)."""
    entry = KINDS.get(event_type)
    return entry.describe(payload) if entry is not None else event_type
