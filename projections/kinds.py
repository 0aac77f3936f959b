"""What each event type does on the read side, in one table: ``KINDS``.

An entry says, for one type, the shape of its payload, how the ``negotiation`` reducer changes
the view (``reduce``), which view entries that change touches (``touches``, so that storage
writes only those), and its one-line description (``describe``). The type checker holds the
three functions to the declared shape, and the import holds the shape to the type's payload
(``events.wire.PAYLOAD_WIRE``).

Why one table per layer rather than one place for all of a type's behaviour: the recorder keeps
its own per-type tables (guards, facts), and the floors keep the write side and the read side
from importing each other, and the contract below both from importing either. So each layer
has one table, checked against the contract's ``EVENT_TYPES`` at import
(``events.registry.complete``): a type added to the contract and forgotten here, or a name here
that is no type, fails the import with an error naming this layer and the types. A type with no
reducer or no list of touched entries says so with ``NO_REDUCER`` or ``REDERIVES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar, cast

from events import PartialDate
from events.exceptions import RegistryMismatch
from events.registry import Nothing, complete
from events.wire import (
    PAYLOAD_WIRE,
    AgreementReachedPayloadWire,
    AgreementStatusChangedPayloadWire,
    ContextNotedPayloadWire,
    DelegationAssignedPayloadWire,
    DemandMadePayloadWire,
    DueWire,
    EventCorrectedPayloadWire,
    EventRetractedPayloadWire,
    MeetingPayloadWire,
    MilestoneProgressedPayloadWire,
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
    TalksConcludedPayloadWire,
    TalksPayloadWire,
)
from projections.describe import due_text, name
from projections.shapes import (
    AgreementEntry,
    AgreementStep,
    DegreePoint,
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
    shape: type  # the payload's wire shape (events/wire.py)
    reduce: Reduce | Nothing
    touches: Touches | Nothing
    describe: Callable[[Payload], str]


def kind(
    shape: type[P],
    reduce: Callable[[View, P, Origin], None] | Nothing,
    touches: Callable[[P, str], list[Touch]] | Nothing,
    describe: Callable[[P], str],
) -> Kind:
    """One type's entry. Stored payloads are told apart only by the event's type, which the
    type checker cannot follow through a table, so the three are stored as taking any payload.
    Here the type checker holds them to ``shape``, and the import to the type's own payload
    shape (``PAYLOAD_WIRE``)."""
    return Kind(
        shape,
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
    v["external_ids"] = p.get("external_ids")
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
    status = p.get("status") or "draft"
    step: AgreementStep = {"status": status, **o}
    fields = {
        "title": p["title"],
        "form": p["form"],
        "parties": [a["name"] for a in p["parties"]],
        "terms": p.get("terms", []),
        "status": status,
        "history": [step],
        **o,
    }
    entry = cast(AgreementEntry, fields)
    # Only when given, so that an agreement recorded before they existed reads as it did.
    if stage := p.get("stage"):
        entry["stage"] = stage
    if external_ids := p.get("external_ids"):
        entry["external_ids"] = external_ids
    v["agreements"][p["agreement_id"]] = entry


def _agreement_status(v: View, p: AgreementStatusChangedPayloadWire, o: Origin) -> None:
    agreement = v["agreements"].get(p["agreement_id"])
    if agreement is not None:
        agreement["status"] = p["status"]
        agreement["history"].append({"status": p["status"], **o})


def _milestone(v: View, p: MilestoneScheduledPayloadWire, o: Origin) -> None:
    step: MilestoneStep = {"status": "scheduled", **o}
    point = _point(0, o)
    entry = {
        **_without(p, "milestone_id"),
        "status": "scheduled",
        "history": [step],
        "degree": 0,
        "degrees": [point],
        **o,
    }
    v["milestones"][p["milestone_id"]] = cast(MilestoneEntry, entry)


def _point(degree: int, o: Origin, evidence: str | None = None) -> DegreePoint:
    point: DegreePoint = {
        "degree": degree,
        "occurred_at": o["occurred_at"],
        "event_id": o["event_id"],
    }
    if evidence:
        point["evidence"] = evidence
    return point


def _degree(v: View, milestone_id: str, point: DegreePoint) -> None:
    """Adds a dated degree; the milestone's ``degree`` is the latest in world time (on a tie,
    the later recorded)."""
    milestone = v["milestones"].get(milestone_id)
    if milestone is None:
        return
    milestone["degrees"].append(point)
    latest = max(
        enumerate(milestone["degrees"]),
        key=lambda ip: (PartialDate.parse(ip[1]["occurred_at"]).sort_key(), ip[0]),
    )
    milestone["degree"] = latest[1]["degree"]


def _progressed(v: View, p: MilestoneProgressedPayloadWire, o: Origin) -> None:
    _degree(v, p["milestone_id"], _point(p["degree"], o, p.get("evidence")))


def _settled(
    status: MilestoneStatus,
) -> Callable[[View, MilestoneSettledPayloadWire, Origin], None]:
    def handle(v: View, p: MilestoneSettledPayloadWire, o: Origin) -> None:
        _milestone_step(v, p["milestone_id"], status, o, evidence=p.get("evidence"))
        if status == "met":
            _degree(v, p["milestone_id"], _point(3, o))  # met is full implementation

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
    | MilestoneProgressedPayloadWire
    | MilestoneRescheduledPayloadWire,
    event_id: str,
) -> list[Touch]:
    return [("milestones", p["milestone_id"])]


def _no_entry(p: object, event_id: str) -> list[Touch]:
    return []


def _meeting_text(verb: str) -> Callable[[MeetingPayloadWire], str]:
    def describe(p: MeetingPayloadWire) -> str:
        place = p.get("place")
        where = f" at {place['name']}" if place else ""
        return f"Meeting {p['meeting_id']} {verb}{where}"

    return describe


def _talks_text(verb: str) -> Callable[[TalksPayloadWire], str]:
    return lambda p: f"Talks {verb}" + (f": {p['reason']}" if p.get("reason") else "")


LAYER = "projections (KINDS in projections/kinds.py)"

KINDS: dict[str, Kind] = complete(
    LAYER,
    {
        "NegotiationOpened": kind(
            NegotiationOpenedPayloadWire,
            _opened,
            _issues_touch,
            lambda p: f"Negotiation opened: {p['title']}",
        ),
        "PartyJoined": kind(
            PartyPayloadWire,
            _joined,
            _party_touch,
            lambda p: f"{name(p['party'])} joined as {p['role']}",
        ),
        "PartyLeft": kind(
            PartyPayloadWire,
            _left,
            _party_touch,
            lambda p: f"{name(p['party'])} left as {p['role']}",
        ),
        "DelegationAssigned": kind(
            DelegationAssignedPayloadWire,
            _delegation,
            lambda p, _: [("delegations", p["delegation_id"]), ("parties", p["party"]["name"])],
            lambda p: f"{p['party']['name']} delegation led by {name(p['head'])}",
        ),
        "MeetingScheduled": kind(
            MeetingPayloadWire, _meeting("scheduled"), _meeting_touch, _meeting_text("scheduled")
        ),
        "MeetingHeld": kind(
            MeetingPayloadWire, _meeting("held"), _meeting_touch, _meeting_text("held")
        ),
        "MeetingCancelled": kind(
            MeetingPayloadWire, _meeting("cancelled"), _meeting_touch, _meeting_text("cancelled")
        ),
        "StatementIssued": kind(
            StatementIssuedPayloadWire,
            _statement,
            _statement_touch,
            lambda p: f"{name(p['speaker'])}: {p.get('quote') or p.get('paraphrase') or ''}",
        ),
        "StatementWithdrawn": kind(
            StatementRefPayloadWire,
            _statement_flag("withdrawn", "withdrawn_by"),
            _statement_touch,
            lambda p: f"Statement {p['statement_id']} withdrawn by {name(p['by'])}",
        ),
        "StatementDenied": kind(
            StatementRefPayloadWire,
            _statement_flag("denied", "denied_by"),
            _statement_touch,
            lambda p: f"Statement {p['statement_id']} denied by {name(p['by'])}",
        ),
        "DemandMade": kind(
            DemandMadePayloadWire,
            _demand,
            lambda p, event_id: [("demands", event_id)],
            lambda p: f"{name(p['actor'])} demands: {p['demand']}",
        ),
        "ProposalTabled": kind(
            ProposalTabledPayloadWire,
            _proposal,
            _proposal_touch,
            lambda p: f"{name(p['by'])} tabled proposal {p['proposal_id']}",
        ),
        "ProposalAccepted": kind(
            ProposalAnswerPayloadWire,
            _answer("accepted", "accepted_by"),
            _answer_touch,
            lambda p: f"{name(p['by'])} accepted proposal {p['proposal_id']}",
        ),
        "ProposalRejected": kind(
            ProposalAnswerPayloadWire,
            _answer("rejected", "rejected_by"),
            _answer_touch,
            lambda p: f"{name(p['by'])} rejected proposal {p['proposal_id']}",
        ),
        "PositionStated": kind(
            PositionStatedPayloadWire,
            _position,
            lambda p, _: [("issues", p["issue_id"])],
            lambda p: f"{p['party']['name']} on {p['issue_id']}: {p['position']} ({p['text']})",
        ),
        "AgreementReached": kind(
            AgreementReachedPayloadWire,
            _agreement,
            _agreement_touch,
            lambda p: f"Agreement reached: {p['title']}",
        ),
        "AgreementStatusChanged": kind(
            AgreementStatusChangedPayloadWire,
            _agreement_status,
            _agreement_touch,
            lambda p: f"Agreement {p['agreement_id']} is now {p['status']}",
        ),
        "MilestoneScheduled": kind(
            MilestoneScheduledPayloadWire,
            _milestone,
            _milestone_touch,
            lambda p: (
                f"Milestone {p['milestone_id']}: {p['description']} (due {due_text(p['due'])})"
            ),
        ),
        "MilestoneMet": kind(
            MilestoneSettledPayloadWire,
            _settled("met"),
            _milestone_touch,
            lambda p: f"Milestone {p['milestone_id']} met",
        ),
        "MilestoneMissed": kind(
            MilestoneSettledPayloadWire,
            _settled("missed"),
            _milestone_touch,
            lambda p: f"Milestone {p['milestone_id']} missed",
        ),
        "MilestoneProgressed": kind(
            MilestoneProgressedPayloadWire,
            _progressed,
            _milestone_touch,
            lambda p: f"Milestone {p['milestone_id']} at degree {p['degree']} of 3",
        ),
        "MilestoneRescheduled": kind(
            MilestoneRescheduledPayloadWire,
            _rescheduled,
            _milestone_touch,
            lambda p: f"Milestone {p['milestone_id']} rescheduled to {due_text(p['new_due'])}",
        ),
        "ContextNoted": kind(
            ContextNotedPayloadWire,
            _context,
            lambda p, event_id: [("context", event_id)],
            lambda p: f"{p['topic']}: {p['text']}",
        ),
        "TalksSuspended": kind(TalksPayloadWire, NO_REDUCER, _no_entry, _talks_text("suspended")),
        "TalksResumed": kind(TalksPayloadWire, NO_REDUCER, _no_entry, _talks_text("resumed")),
        "TalksConcluded": kind(
            TalksConcludedPayloadWire,
            NO_REDUCER,
            _no_entry,
            lambda p: f"Talks concluded ({p['outcome']})",
        ),
        "EventCorrected": kind(
            EventCorrectedPayloadWire,
            NO_REDUCER,
            REDERIVES,
            lambda p: f"Correction of {p['target_event_id']}: {p['reason']}",
        ),
        "EventRetracted": kind(
            EventRetractedPayloadWire,
            NO_REDUCER,
            REDERIVES,
            lambda p: f"Retraction of {p['target_event_id']}: {p['reason']}",
        ),
    },
)
_misshapen = [t for t, k in KINDS.items() if k.shape is not PAYLOAD_WIRE[t]]
if _misshapen:
    raise RegistryMismatch(LAYER, misshapen=_misshapen)
REDUCERS: dict[str, Reduce] = {
    t: k.reduce for t, k in KINDS.items() if not isinstance(k.reduce, Nothing)
}
TOUCHES: dict[str, Touches] = {
    t: k.touches for t, k in KINDS.items() if not isinstance(k.touches, Nothing)
}


def describe(event_type: str, payload: Payload) -> str:
    """The event's one-line description (an unknown type is named as it is)."""
    entry = KINDS.get(event_type)
    return entry.describe(payload) if entry is not None else event_type
