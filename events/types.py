"""Every event type as published: the envelope fields plus the type's payload.

``Draft`` is the discriminated union of all of them, keyed on ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from events.dates import PartialDate
from events.parts import MAX_SOURCES, Codes, Ident, Part, Slug, Source
from events.payloads import (
    AgreementReachedPayload,
    AgreementStatusChangedPayload,
    ContextNotedPayload,
    DelegationAssignedPayload,
    DemandMadePayload,
    EventCorrectedPayload,
    EventRetractedPayload,
    MeetingPayload,
    MilestoneProgressedPayload,
    MilestoneRescheduledPayload,
    MilestoneScheduledPayload,
    MilestoneSettledPayload,
    NegotiationOpenedPayload,
    PartyPayload,
    PositionStatedPayload,
    ProposalAnswerPayload,
    ProposalTabledPayload,
    StatementIssuedPayload,
    StatementRefPayload,
    TalksConcludedPayload,
    TalksPayload,
)

Verification = Literal["reported", "confirmed", "disputed", "denied"]
Modality = Literal["actual", "planned", "hypothetical"]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Envelope(Part):
    """Fields every published event carries. The server adds the fields in ``Stamp``.

    Schema version 2 of every type that had a version 1: sources gained their Admiralty grade
    (``reliability``, ``credibility``) and the publisher's copy (``archived_url``,
    ``content_sha256``); each type's own changes are named on its class (events/upcasting.py).
    """

    SCHEMA_VERSION: ClassVar[int] = 2

    type: str
    negotiation_id: Slug
    schema_version: int = Field(default=2, ge=1)
    occurred_at: PartialDate
    occurred_until: PartialDate | None = None
    sources: list[Source] = Field(min_length=1, max_length=MAX_SOURCES)
    verification: Verification
    confidence: float | None = Field(default=None, ge=0, le=1)
    modality: Modality = "actual"
    codes: Codes | None = None
    correlation_id: Ident | None = None
    causation_id: Ident | None = None
    idempotency_key: IdempotencyKey | None = None
    payload: Any

    @field_validator("schema_version")
    @classmethod
    def _current(cls, version: int) -> int:
        if version != cls.SCHEMA_VERSION:
            raise ValueError(f"version {version} is not current ({cls.SCHEMA_VERSION})")
        return version

    @field_validator("occurred_until")
    @classmethod
    def _after_start(cls, until: PartialDate | None, info: ValidationInfo) -> PartialDate | None:
        start = info.data.get("occurred_at")
        if until is not None and start is not None and until < start:
            raise ValueError(f"is before occurred_at {start}")
        return until


class NegotiationOpened(Envelope):
    """Schema version 2: ``external_ids``."""

    type: Literal["NegotiationOpened"]
    payload: NegotiationOpenedPayload


class PartyJoined(Envelope):
    type: Literal["PartyJoined"]
    payload: PartyPayload


class PartyLeft(Envelope):
    type: Literal["PartyLeft"]
    payload: PartyPayload


class DelegationAssigned(Envelope):
    type: Literal["DelegationAssigned"]
    payload: DelegationAssignedPayload


class MeetingScheduled(Envelope):
    """Schema version 2 (as for every meeting type): ``location`` became ``place``."""

    type: Literal["MeetingScheduled"]
    payload: MeetingPayload


class MeetingHeld(Envelope):
    type: Literal["MeetingHeld"]
    payload: MeetingPayload


class MeetingCancelled(Envelope):
    type: Literal["MeetingCancelled"]
    payload: MeetingPayload


class StatementIssued(Envelope):
    """Schema version 2: ``lang`` of the quote and its ``translations``."""

    type: Literal["StatementIssued"]
    payload: StatementIssuedPayload


class StatementWithdrawn(Envelope):
    type: Literal["StatementWithdrawn"]
    payload: StatementRefPayload


class StatementDenied(Envelope):
    type: Literal["StatementDenied"]
    payload: StatementRefPayload


class DemandMade(Envelope):
    type: Literal["DemandMade"]
    payload: DemandMadePayload


class ProposalTabled(Envelope):
    type: Literal["ProposalTabled"]
    payload: ProposalTabledPayload


class ProposalAccepted(Envelope):
    type: Literal["ProposalAccepted"]
    payload: ProposalAnswerPayload


class ProposalRejected(Envelope):
    type: Literal["ProposalRejected"]
    payload: ProposalAnswerPayload


class PositionStated(Envelope):
    type: Literal["PositionStated"]
    payload: PositionStatedPayload


class AgreementReached(Envelope):
    """Schema version 2: the initial ``status``, the PA-X ``stage``, ``external_ids``, and the
    form ``political_commitment``."""

    type: Literal["AgreementReached"]
    payload: AgreementReachedPayload


class AgreementStatusChanged(Envelope):
    """Schema version 2: the status ``adopted`` (forms that take effect without signature)."""

    type: Literal["AgreementStatusChanged"]
    payload: AgreementStatusChangedPayload


class MilestoneScheduled(Envelope):
    type: Literal["MilestoneScheduled"]
    payload: MilestoneScheduledPayload


class MilestoneMet(Envelope):
    type: Literal["MilestoneMet"]
    payload: MilestoneSettledPayload


class MilestoneMissed(Envelope):
    type: Literal["MilestoneMissed"]
    payload: MilestoneSettledPayload


class MilestoneProgressed(Envelope):
    """New at schema version 1 (graded sources from the start)."""

    SCHEMA_VERSION: ClassVar[int] = 1
    type: Literal["MilestoneProgressed"]
    schema_version: int = Field(default=1, ge=1)
    payload: MilestoneProgressedPayload


class MilestoneRescheduled(Envelope):
    type: Literal["MilestoneRescheduled"]
    payload: MilestoneRescheduledPayload


class ContextNoted(Envelope):
    """Schema version 2: ``quantity`` became an object; version 3: graded sources and
    ``place`` (see events/upcasting.py)."""

    SCHEMA_VERSION: ClassVar[int] = 3
    type: Literal["ContextNoted"]
    schema_version: int = Field(default=3, ge=1)
    payload: ContextNotedPayload


class TalksSuspended(Envelope):
    type: Literal["TalksSuspended"]
    payload: TalksPayload


class TalksResumed(Envelope):
    type: Literal["TalksResumed"]
    payload: TalksPayload


class TalksConcluded(Envelope):
    type: Literal["TalksConcluded"]
    payload: TalksConcludedPayload


class EventCorrected(Envelope):
    type: Literal["EventCorrected"]
    payload: EventCorrectedPayload


class EventRetracted(Envelope):
    type: Literal["EventRetracted"]
    payload: EventRetractedPayload


Draft = Annotated[
    Union[
        NegotiationOpened,
        PartyJoined,
        PartyLeft,
        DelegationAssigned,
        MeetingScheduled,
        MeetingHeld,
        MeetingCancelled,
        StatementIssued,
        StatementWithdrawn,
        StatementDenied,
        DemandMade,
        ProposalTabled,
        ProposalAccepted,
        ProposalRejected,
        PositionStated,
        AgreementReached,
        AgreementStatusChanged,
        MilestoneScheduled,
        MilestoneMet,
        MilestoneMissed,
        MilestoneProgressed,
        MilestoneRescheduled,
        ContextNoted,
        TalksSuspended,
        TalksResumed,
        TalksConcluded,
        EventCorrected,
        EventRetracted,
    ],
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[Envelope]] = {cls.__name__: cls for cls in Envelope.__subclasses__()}
CORRECTIONS = frozenset({"EventCorrected", "EventRetracted"})
PAYLOAD_OF: dict[str, type[Part]] = {
    name: cls.model_fields["payload"].annotation  # type: ignore[misc]
    for name, cls in EVENT_TYPES.items()
}
