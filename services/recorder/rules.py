"""The invariants of a negotiation: one guard per event type, each failure with its own code.

Guards run before anything is recorded and raise InvariantViolation or, for a correction
whose patch does not fit its target, InvalidEvent. ``GUARDS`` names every event type of the
contract (``NO_GUARD`` where there is nothing more to check) and is checked against the contract
at import, so a new type cannot be left unguarded by oversight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from events import CORRECTIONS, PAYLOAD_OF, Envelope, payloads
from events.lifecycle import CLOSED, agreement_move_error, initial_status_error
from events.parts import Due, Term
from events.recorded import invalid_event
from events.registry import Nothing, complete, known
from services.recorder.exceptions import InvariantViolation
from services.recorder.facts import Facts, amend, effective

Guard = Callable[[Facts, Any], None]  # Any: the type's payload model, named by each guard


EARLIEST_OCCURRED_AT = datetime(1900, 1, 1, tzinfo=UTC)
"""No development of a negotiation tracked here is older: an earlier date is a typo."""

BACKGROUND = known(
    "recorder background (BACKGROUND in services/recorder/rules.py)",
    {
        "ContextNoted",
        "DemandMade",
        "StatementIssued",
        "StatementWithdrawn",
        "StatementDenied",
        "PositionStated",
    },
)
"""What was said, demanded or noted may predate the opening; the talks' own events may not."""


def check(facts: Facts, draft: Envelope, now: datetime) -> None:
    _dates(facts, draft, now)
    if draft.type == "NegotiationOpened":
        if facts.status is not None:
            raise InvariantViolation(
                "negotiation_exists", f"negotiation {draft.negotiation_id!r} is already open"
            )
        return
    if facts.status in CLOSED and draft.type not in CORRECTIONS:
        raise InvariantViolation(
            "negotiation_closed",
            f"the negotiation is {facts.status}; only corrections and retractions are accepted",
        )
    guard = _GUARD_OF.get(draft.type)
    if guard is not None:
        guard(facts, draft.payload)


def _dates(f: Facts, draft: Envelope, now: datetime) -> None:
    when = draft.occurred_at
    if draft.modality != "planned" and when.start > now:
        _fail(
            "occurred_after_recorded",
            f"occurred_at {when} is in the future; use modality 'planned'",
        )
    if when.start < EARLIEST_OCCURRED_AT:
        _fail(
            "occurred_implausibly_early",
            f"occurred_at {when} is before {EARLIEST_OCCURRED_AT.year}; check the year",
        )
    opening = f.opened_at
    if opening is None or draft.type in BACKGROUND or draft.type in CORRECTIONS:
        return
    # Refused only when the whole of its interval lies before the opening began: a coarse
    # date ("2023") that may overlap the opening is not known to predate it.
    if when.end <= opening.start and when.start < opening.start:
        _fail(
            "occurred_before_opening",
            f"a {draft.type} dated {when} predates the opening of the negotiation ({opening}); "
            "only background (statements, positions, demands, context) may",
        )


def _fail(code: str, message: str) -> None:
    raise InvariantViolation(code, message)


def _known(kind: str, ids: Iterable[str], known: Iterable[str]) -> None:
    known_set = set(known)
    for item in ids:
        if item not in known_set:
            _fail(f"unknown_{kind}", f"{kind} {item!r} is not part of this negotiation")


def _new(kind: str, item: str, existing: Iterable[str]) -> None:
    if item in set(existing):
        _fail("duplicate_id", f"{kind} {item!r} already exists")


def _terms(f: Facts, terms: list[Term]) -> None:
    _known("issue", [t.issue_id for t in terms], f.issues)


def _party_joined(f: Facts, p: payloads.PartyPayload) -> None:
    if p.party.name in f.parties:
        _fail("duplicate_party", f"{p.party.name!r} is already a party")


def _party(f: Facts, p: payloads.PartyPayload) -> None:
    _known("party", [p.party.name], f.parties)


def _meeting_scheduled(f: Facts, p: payloads.MeetingPayload) -> None:
    _new("meeting", p.meeting_id, f.meetings)
    _known("issue", p.agenda, f.issues)


def _meeting_held(f: Facts, p: payloads.MeetingPayload) -> None:
    if f.meetings.get(p.meeting_id, "scheduled") != "scheduled":
        _fail(
            "meeting_not_open", f"meeting {p.meeting_id!r} was already {f.meetings[p.meeting_id]}"
        )
    _known("issue", p.agenda, f.issues)


def _meeting_cancelled(f: Facts, p: payloads.MeetingPayload) -> None:
    _known("meeting", [p.meeting_id], f.meetings)
    _meeting_held(f, p)


def _statement(f: Facts, p: payloads.StatementIssuedPayload) -> None:
    _new("statement", p.statement_id, f.statements)
    _known("issue", [s.issue_id for s in p.stances], f.issues)


def _statement_ref(f: Facts, p: payloads.StatementRefPayload) -> None:
    _known("statement", [p.statement_id], f.statements)


def _proposal(f: Facts, p: payloads.ProposalTabledPayload) -> None:
    _new("proposal", p.proposal_id, f.proposals)
    _known("party", [p.by.name], f.parties)
    _terms(f, p.terms)
    if p.supersedes is not None:
        _known("proposal", [p.supersedes], f.proposals)


def _proposal_answer(f: Facts, p: payloads.ProposalAnswerPayload) -> None:
    _known("proposal", [p.proposal_id], f.proposals)
    _known("party", [p.by.name], f.parties)


def _position(f: Facts, p: payloads.PositionStatedPayload) -> None:
    _known("party", [p.party.name], f.parties)
    _known("issue", [p.issue_id], f.issues)


def _delegation(f: Facts, p: payloads.DelegationAssignedPayload) -> None:
    _known("party", [p.party.name], f.parties)


def _agreement(f: Facts, p: payloads.AgreementReachedPayload) -> None:
    _new("agreement", p.agreement_id, f.agreements)
    _known("party", [a.name for a in p.parties], f.parties)
    _terms(f, p.terms)
    if p.status is not None:
        problem = initial_status_error(p.form, p.status)
        if problem is not None:
            _fail(*problem)


def _agreement_status(f: Facts, p: payloads.AgreementStatusChangedPayload) -> None:
    _known("agreement", [p.agreement_id], f.agreements)
    form = f.agreement_forms[p.agreement_id]
    problem = agreement_move_error(form, f.agreements[p.agreement_id], p.status)
    if problem is not None:
        _fail(*problem)


def _due(f: Facts, due: Due) -> None:
    if due.anchor_milestone is not None:
        _known("milestone", [due.anchor_milestone], f.milestones)


def _milestone_scheduled(f: Facts, p: payloads.MilestoneScheduledPayload) -> None:
    _new("milestone", p.milestone_id, f.milestones)
    if p.term_id is not None and p.agreement_id is None:
        _fail("unknown_term", f"term {p.term_id!r} needs the agreement_id it belongs to")
    if p.agreement_id is not None:
        _known("agreement", [p.agreement_id], f.agreements)
        if p.term_id is not None:
            _known("term", [p.term_id], f.agreement_terms[p.agreement_id])
    _due(f, p.due)


def _milestone_settled(f: Facts, p: payloads.MilestoneSettledPayload) -> None:
    state = f.milestones.get(p.milestone_id)
    if state is None:
        _fail("milestone_not_scheduled", f"milestone {p.milestone_id!r} was never scheduled")
    if state in ("met", "missed"):
        _fail(
            "milestone_already_settled",
            f"milestone {p.milestone_id!r} was already {state}; reschedule it first",
        )


def _milestone_progressed(f: Facts, p: payloads.MilestoneProgressedPayload) -> None:
    state = f.milestones.get(p.milestone_id)
    if state is None:
        _fail("milestone_not_scheduled", f"milestone {p.milestone_id!r} was never scheduled")
    if state == "met":
        _fail(
            "milestone_already_met",
            f"milestone {p.milestone_id!r} was met (degree 3); reschedule it before recording "
            "progress again",
        )


def _milestone_rescheduled(f: Facts, p: payloads.MilestoneRescheduledPayload) -> None:
    state = f.milestones.get(p.milestone_id)
    if state is None:
        _fail("milestone_not_scheduled", f"milestone {p.milestone_id!r} was never scheduled")
    _due(f, p.new_due)


def _suspended(f: Facts, p: payloads.TalksPayload) -> None:
    if f.status not in ("pre_negotiation", "active"):
        _fail("talks_not_active", f"talks that are {f.status} cannot be suspended")


def _resumed(f: Facts, p: payloads.TalksPayload) -> None:
    if f.status != "suspended":
        _fail("talks_not_suspended", f"talks that are {f.status} cannot be resumed")


def _target(f: Facts, target_id: str) -> None:
    target = f.event(target_id)
    if target is None:
        _fail(
            "correction_target_unknown",
            f"event {target_id} is not an event of negotiation {f.negotiation_id!r}",
        )
    elif target.retracted:
        _fail("correction_target_retracted", f"event {target_id} was already retracted")
    elif target.type in CORRECTIONS:
        _fail("correction_target_invalid", "corrections and retractions cannot be targeted")


def _corrected(f: Facts, p: payloads.EventCorrectedPayload) -> None:
    _target(f, p.target_event_id)
    target = f.full(p.target_event_id)
    for name in p.patch:
        if name.endswith("_id"):
            _fail(
                "correction_patch_invalid",
                f"identifier {name!r} cannot be corrected; retract the event and record it anew",
            )
    try:
        PAYLOAD_OF[target.type].model_validate({**(target.payload or {}), **p.patch})
    except ValidationError as e:
        raise invalid_event(e, prefix="payload.patch") from None
    _replay(f, "EventCorrected", p, "this correction")


def _retracted(f: Facts, p: payloads.EventRetractedPayload) -> None:
    _target(f, p.target_event_id)
    target = f.event(p.target_event_id)
    if target is not None and target.type == "NegotiationOpened":
        # The replay below starts from an empty negotiation and needs no opening, so a
        # history without one would pass it: every later event would hang off nothing.
        _fail(
            "opening_not_retractable",
            "the NegotiationOpened event cannot be retracted; correct its fields with "
            "EventCorrected, or end the talks with TalksConcluded",
        )
    _replay(f, "EventRetracted", p, "this retraction")


def _replay(
    f: Facts,
    kind: str,
    p: payloads.EventCorrectedPayload | payloads.EventRetractedPayload,
    what: str,
) -> None:
    """A correction or retraction is accepted only if the history it leaves still satisfies
    every invariant (no orphaned reference, no status moving backward)."""
    trial_events = dict(f.events)
    target = f.event(p.target_event_id)  # an inert event slim facts keep apart, too
    if target is not None:
        trial_events.setdefault(p.target_event_id, target)
    amend(trial_events, kind, p.model_dump(mode="json"))
    trial = Facts(negotiation_id=f.negotiation_id)
    for fact in effective(trial_events):
        guard = _GUARD_OF.get(fact.type)
        if guard is not None:
            try:
                guard(trial, PAYLOAD_OF[fact.type].model_validate(fact.payload or {}))
            except InvariantViolation as e:
                raise InvariantViolation(
                    e.code, f"{what} would leave a history that breaks a rule: {e.message}"
                ) from None
        trial.derive(fact.type, fact.payload or {})


NO_GUARD = Nothing("guard")
"""Nothing to check beyond what ``check`` checks for every event (dates, a closed
negotiation); the opening's own check (not opened twice) comes first in ``check``."""

GUARDS: dict[str, Guard | Nothing] = {
    "NegotiationOpened": NO_GUARD,
    "PartyJoined": _party_joined,
    "PartyLeft": _party,
    "DelegationAssigned": _delegation,
    "MeetingScheduled": _meeting_scheduled,
    "MeetingHeld": _meeting_held,
    "MeetingCancelled": _meeting_cancelled,
    "StatementIssued": _statement,
    "StatementWithdrawn": _statement_ref,
    "StatementDenied": _statement_ref,
    "DemandMade": NO_GUARD,
    "ProposalTabled": _proposal,
    "ProposalAccepted": _proposal_answer,
    "ProposalRejected": _proposal_answer,
    "PositionStated": _position,
    "AgreementReached": _agreement,
    "AgreementStatusChanged": _agreement_status,
    "MilestoneScheduled": _milestone_scheduled,
    "MilestoneMet": _milestone_settled,
    "MilestoneMissed": _milestone_settled,
    "MilestoneProgressed": _milestone_progressed,
    "MilestoneRescheduled": _milestone_rescheduled,
    "ContextNoted": NO_GUARD,
    "TalksSuspended": _suspended,
    "TalksResumed": _resumed,
    "TalksConcluded": NO_GUARD,
    "EventCorrected": _corrected,
    "EventRetracted": _retracted,
}
"""The invariants of each event type: one entry per type of the contract, checked at import
(see events/registry.py for why each layer keeps its own table)."""

_GUARD_OF = complete("recorder guards (GUARDS in services/recorder/rules.py)", GUARDS)
