"""The JSON form of recorded events ("wire form"), as typed dictionaries.

Readers of stored events (the recorder's facts, the reducers) take events in this form and do
not validate them again: they were validated when recorded. These shapes tell the type checker
what those dictionaries hold. They follow the pydantic models as dumped with
``exclude_none=True``: a field whose default is None may be absent, every other field is
present. A correction's patch may set an optional field to null, so optional fields also allow
None. tests/unit/events/test_wire_shapes.py keeps them in step with the models.

The shape of a payload model ``XPayload`` is ``XPayloadWire``; ``PAYLOAD_WIRE`` finds it for
each event type, and refuses at import a payload model that has none.
"""

from __future__ import annotations

import sys
from typing import NotRequired, TypedDict

from events.exceptions import RegistryMismatch
from events.parts import DueKind, Position, Precision, Reliability, Sector, SourceKind
from events.payloads import (
    AgreementForm,
    AgreementStage,
    AgreementStatus,
    MeetingMode,
    Outcome,
    Role,
)
from events.types import PAYLOAD_OF, Modality, Verification


class ActorWire(TypedDict):
    name: str
    country: NotRequired[str | None]
    sector: NotRequired[Sector | None]
    office: NotRequired[str | None]
    wikidata: NotRequired[str | None]


class SourceWire(TypedDict):
    url: NotRequired[str | None]
    outlet: str
    published_at: NotRequired[str | None]
    kind: SourceKind
    excerpt: NotRequired[str | None]
    reliability: NotRequired[Reliability | None]
    credibility: NotRequired[int | None]
    archived_url: NotRequired[str | None]
    content_sha256: NotRequired[str | None]


class PlaceWire(TypedDict):
    name: str
    country: NotRequired[str | None]
    geonames_id: NotRequired[int | None]
    wikidata: NotRequired[str | None]
    lat: NotRequired[float | None]
    lon: NotRequired[float | None]
    precision: Precision


class ExternalIdsWire(TypedDict):
    pax: NotRequired[str | None]
    ucdp: NotRequired[str | None]
    wikidata: NotRequired[str | None]


class TranslationWire(TypedDict):
    lang: str
    text: str
    by: NotRequired[str | None]


class CodesWire(TypedDict):
    cameo: NotRequired[str | None]
    plover: NotRequired[str | None]


class IssueWire(TypedDict):
    issue_id: str
    title: str


class StanceWire(TypedDict):
    issue_id: str
    position: Position


class DueWire(TypedDict):
    kind: DueKind
    date: NotRequired[str | None]
    anchor_milestone: NotRequired[str | None]
    offset_days: NotRequired[int | None]
    condition: NotRequired[str | None]


class TermWire(TypedDict):
    term_id: str
    issue_id: str
    text: str
    due: NotRequired[DueWire | None]


class QuantityWire(TypedDict):
    value: float
    unit: NotRequired[str | None]
    approximate: bool


class NegotiationOpenedPayloadWire(TypedDict):
    title: str
    format: str
    issues: list[IssueWire]
    framework_ref: NotRequired[str | None]
    external_ids: NotRequired[ExternalIdsWire | None]


class PartyPayloadWire(TypedDict):
    party: ActorWire
    role: Role


class DelegationAssignedPayloadWire(TypedDict):
    delegation_id: str
    party: ActorWire
    head: ActorWire
    members: list[ActorWire]


class MeetingPayloadWire(TypedDict):
    meeting_id: str
    place: NotRequired[PlaceWire | None]
    mode: MeetingMode
    level: NotRequired[str | None]
    participants: list[ActorWire]
    agenda: list[str]


class StatementIssuedPayloadWire(TypedDict):
    statement_id: str
    speaker: ActorWire
    quote: NotRequired[str | None]
    lang: NotRequired[str | None]
    translations: list[TranslationWire]
    paraphrase: NotRequired[str | None]
    stances: list[StanceWire]


class StatementRefPayloadWire(TypedDict):
    statement_id: str
    by: ActorWire


class DemandMadePayloadWire(TypedDict):
    actor: ActorWire
    demand: str
    target: NotRequired[ActorWire | None]
    deadline: NotRequired[str | None]


class ProposalTabledPayloadWire(TypedDict):
    proposal_id: str
    by: ActorWire
    terms: list[TermWire]
    supersedes: NotRequired[str | None]


class ProposalAnswerPayloadWire(TypedDict):
    proposal_id: str
    by: ActorWire


class PositionStatedPayloadWire(TypedDict):
    party: ActorWire
    issue_id: str
    position: Position
    text: str


class AgreementReachedPayloadWire(TypedDict):
    agreement_id: str
    title: str
    form: AgreementForm
    parties: list[ActorWire]
    terms: list[TermWire]
    status: NotRequired[AgreementStatus | None]
    stage: NotRequired[AgreementStage | None]
    external_ids: NotRequired[ExternalIdsWire | None]


class AgreementStatusChangedPayloadWire(TypedDict):
    agreement_id: str
    status: AgreementStatus


class MilestoneScheduledPayloadWire(TypedDict):
    milestone_id: str
    agreement_id: NotRequired[str | None]
    term_id: NotRequired[str | None]
    obligor: ActorWire
    description: str
    due: DueWire


class MilestoneSettledPayloadWire(TypedDict):
    milestone_id: str
    evidence: NotRequired[str | None]


class MilestoneProgressedPayloadWire(TypedDict):
    milestone_id: str
    degree: int
    evidence: NotRequired[str | None]


class MilestoneRescheduledPayloadWire(TypedDict):
    milestone_id: str
    new_due: DueWire
    evidence: NotRequired[str | None]


class ContextNotedPayloadWire(TypedDict):
    topic: str
    text: str
    quantity: NotRequired[QuantityWire | None]
    place: NotRequired[PlaceWire | None]


class TalksPayloadWire(TypedDict):
    by: NotRequired[ActorWire | None]
    reason: NotRequired[str | None]


class TalksConcludedPayloadWire(TalksPayloadWire):
    outcome: Outcome


class EventCorrectedPayloadWire(TypedDict):
    target_event_id: str
    patch: dict[str, object]  # fields of the target's payload, any of its shapes
    reason: str


class EventRetractedPayloadWire(TypedDict):
    target_event_id: str
    reason: str


Payload = dict[str, object]
"""Some event type's payload wire form (one of the above, told apart by the event's type)."""


class Wire(TypedDict):
    """A recorded event: the envelope, the payload and the server's stamp."""

    type: str
    negotiation_id: str
    schema_version: int
    occurred_at: str
    occurred_until: NotRequired[str | None]
    sources: list[SourceWire]
    verification: Verification
    confidence: NotRequired[float | None]
    modality: Modality
    codes: NotRequired[CodesWire | None]
    correlation_id: NotRequired[str | None]
    causation_id: NotRequired[str | None]
    idempotency_key: NotRequired[str | None]
    payload: Payload
    event_id: str
    recorded_at: str
    recorded_by: str
    version: int
    prev_hash: NotRequired[str | None]
    hash: str
    position: NotRequired[int | None]


def _payload_wire() -> dict[str, type]:
    module = sys.modules[__name__]
    shapes = {
        name: getattr(module, f"{model.__name__}Wire", None) for name, model in PAYLOAD_OF.items()
    }
    missing = [name for name, shape in shapes.items() if shape is None]
    if missing:
        raise RegistryMismatch("payload wire shapes (events/wire.py)", missing=missing)
    return {name: shape for name, shape in shapes.items() if shape is not None}


PAYLOAD_WIRE: dict[str, type] = _payload_wire()
"""The wire shape of each event type's payload."""
