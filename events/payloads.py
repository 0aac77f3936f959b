"""The payload of each event type: the fields that are the type's own."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from events.dates import PartialDate
from events.parts import (
    MAX_LIST,
    Actor,
    Due,
    ExternalIds,
    Ident,
    Issue,
    Label,
    LanguageTag,
    Part,
    Place,
    Position,
    Quantity,
    Stance,
    Term,
    Text,
    Translation,
)

EventId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
Role = Literal["party", "mediator", "observer", "guarantor"]
MeetingMode = Literal["visit", "host", "third_party", "phone", "virtual"]
AgreementForm = Literal[
    "joint_statement", "mou", "treaty", "exchange_of_notes", "political_commitment", "other"
]
AgreementStatus = Literal[
    "draft", "initialled", "signed", "adopted", "ratified", "in_force", "suspended", "terminated"
]
AgreementStage = Literal[
    "pre_negotiation",
    "ceasefire",
    "framework_partial",
    "framework_comprehensive",
    "implementation",
    "renegotiation",
    "other",
]
"""The PA-X stage of an agreement: pre-negotiation/process, ceasefire, framework (partial or
comprehensive, i.e. substantive), implementation, renegotiation (see docs/coding.md)."""
Degree = Annotated[int, Field(ge=0, le=3)]
"""Implementation degree after the Peace Accords Matrix: 0 not started, 1 minimal,
2 intermediate, 3 full."""
Outcome = Literal["agreement", "no_agreement", "superseded"]


def _many(*, min_length: int = 0) -> Any:
    """A list field with the contract's length limit; required when it may not be empty."""
    if min_length:
        return Field(min_length=min_length, max_length=MAX_LIST)
    return Field(default_factory=list, max_length=MAX_LIST)


class NegotiationOpenedPayload(Part):
    title: Label
    format: Literal["bilateral", "multilateral"]
    issues: list[Issue] = _many()
    framework_ref: Label | None = None
    external_ids: ExternalIds | None = None


class PartyPayload(Part):
    party: Actor
    role: Role = "party"


class DelegationAssignedPayload(Part):
    delegation_id: Ident
    party: Actor
    head: Actor
    members: list[Actor] = _many()


class MeetingPayload(Part):
    meeting_id: Ident
    place: Place | None = None
    mode: MeetingMode
    level: Label | None = None
    participants: list[Actor] = _many()
    agenda: list[Ident] = _many()


class StatementIssuedPayload(Part):
    statement_id: Ident
    speaker: Actor
    quote: Text | None = None
    lang: LanguageTag | None = None
    translations: list[Translation] = _many()
    paraphrase: Text | None = None
    stances: list[Stance] = _many()

    @model_validator(mode="after")
    def _says_something(self) -> StatementIssuedPayload:
        if self.quote is None and self.paraphrase is None:
            raise ValueError("a statement needs a quote or a paraphrase")
        if self.quote is None and (self.lang is not None or self.translations):
            raise ValueError("lang and translations belong to a quote; this statement has none")
        return self


class StatementRefPayload(Part):
    statement_id: Ident
    by: Actor


class DemandMadePayload(Part):
    actor: Actor
    demand: Text
    target: Actor | None = None
    deadline: PartialDate | None = None


class ProposalTabledPayload(Part):
    proposal_id: Ident
    by: Actor
    terms: list[Term] = _many(min_length=1)
    supersedes: Ident | None = None


class ProposalAnswerPayload(Part):
    proposal_id: Ident
    by: Actor


class PositionStatedPayload(Part):
    party: Actor
    issue_id: Ident
    position: Position
    text: Text


class AgreementReachedPayload(Part):
    agreement_id: Ident
    title: Label
    form: AgreementForm
    parties: list[Actor] = _many(min_length=1)
    terms: list[Term] = _many()
    status: AgreementStatus | None = None  # the initial status; none given: draft
    stage: AgreementStage | None = None
    external_ids: ExternalIds | None = None


class AgreementStatusChangedPayload(Part):
    agreement_id: Ident
    status: AgreementStatus


class MilestoneScheduledPayload(Part):
    milestone_id: Ident
    agreement_id: Ident | None = None
    term_id: Ident | None = None
    obligor: Actor
    description: Text
    due: Due


class MilestoneSettledPayload(Part):
    milestone_id: Ident
    evidence: Text | None = None


class MilestoneProgressedPayload(Part):
    milestone_id: Ident
    degree: Degree
    evidence: Text | None = None


class MilestoneRescheduledPayload(Part):
    milestone_id: Ident
    new_due: Due
    evidence: Text | None = None


class ContextNotedPayload(Part):
    topic: Label
    text: Text
    quantity: Quantity | None = None
    place: Place | None = None


class TalksPayload(Part):
    by: Actor | None = None
    reason: Text | None = None


class TalksConcludedPayload(TalksPayload):
    outcome: Outcome


class EventCorrectedPayload(Part):
    target_event_id: EventId
    patch: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(
        min_length=1, max_length=50
    )
    reason: Text


class EventRetractedPayload(Part):
    target_event_id: EventId
    reason: Text
