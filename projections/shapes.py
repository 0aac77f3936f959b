"""The shapes of a negotiation's state: the registry of records and the view, as typed
dictionaries.

States are plain JSON data (stored in Redis, compared by fingerprint, served as they are), so
they stay dictionaries; these types only tell the type checker what they hold. Entries built
from a payload keep the payload's own keys in its own order (after a correction too), which is
why some of them inherit the payload's wire shape.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, get_args

from events.parts import Position
from events.payloads import AgreementForm, AgreementStage, AgreementStatus, MeetingMode, Role
from events.types import Modality, Verification
from events.wire import (
    ActorWire,
    ContextNotedPayloadWire,
    DemandMadePayloadWire,
    DueWire,
    ExternalIdsWire,
    Payload,
    PlaceWire,
    SourceWire,
    StanceWire,
    TermWire,
    TranslationWire,
)

Section = Literal[
    "issues",
    "parties",
    "delegations",
    "meetings",
    "statements",
    "demands",
    "proposals",
    "agreements",
    "milestones",
    "context",
]
SECTIONS: tuple[Section, ...] = get_args(Section)
"""The view's keyed sections, each a dict of entries (stored one entry per field)."""

Touch = tuple[Section, str]
"""One view entry: its section and its key."""


class Record(TypedDict):
    """A visible event in the registry, with its effective payload (corrections applied)."""

    type: str
    payload: Payload
    occurred_at: str
    occurred_until: str | None
    position: int | None
    version: int
    recorded_at: str
    recorded_by: str
    hash: str
    verification: Verification
    modality: Modality
    sources: list[SourceWire]
    corrected_by: list[str]
    retracted_by: str | None


Registry = dict[str, Record]


class Origin(TypedDict):
    """Which event an entry comes from, and when it happened."""

    event_id: str
    occurred_at: str
    occurred_until: str | None
    verification: Verification
    corrected: bool
    grades: NotRequired[list[str]]  # the Admiralty grades of its graded sources, e.g. "B2"


class PositionEntry(Origin):
    position: Position
    text: str


class IssueEntry(TypedDict):
    title: str
    positions: dict[str, PositionEntry]


class PartyEntry(TypedDict):
    actor: ActorWire
    role: Role
    active: bool
    joined: Origin
    delegation: str | None
    left: NotRequired[Origin]


class DelegationEntry(Origin):
    party: str
    head: ActorWire
    members: list[ActorWire]


MeetingStatus = Literal["scheduled", "held", "cancelled"]


class MeetingStep(Origin):
    status: MeetingStatus


class MeetingEntry(TypedDict):
    history: list[MeetingStep]
    place: NotRequired[PlaceWire | None]
    mode: MeetingMode
    level: NotRequired[str | None]
    participants: list[ActorWire]
    agenda: list[str]
    status: MeetingStatus
    occurred_at: str
    occurred_until: str | None


class StatementEntry(Origin):
    speaker: ActorWire
    quote: NotRequired[str | None]
    lang: NotRequired[str | None]
    translations: NotRequired[list[TranslationWire]]
    paraphrase: NotRequired[str | None]
    stances: list[StanceWire]
    withdrawn: bool
    denied: bool
    withdrawn_by: NotRequired[ActorWire]
    denied_by: NotRequired[ActorWire]


class DemandEntry(DemandMadePayloadWire, Origin):
    """The demand as made, keyed by its event (demands have no id of their own)."""


Fate = Literal["tabled", "superseded", "accepted", "rejected"]


class ProposalEntry(Origin):
    by: ActorWire
    terms: list[TermWire]
    supersedes: str | None
    fate: Fate
    accepted_by: list[str]
    rejected_by: list[str]


class AgreementStep(Origin):
    status: AgreementStatus


class AgreementEntry(Origin):
    title: str
    form: AgreementForm
    parties: list[str]
    terms: list[TermWire]
    status: AgreementStatus
    history: list[AgreementStep]
    stage: NotRequired[AgreementStage]
    external_ids: NotRequired[ExternalIdsWire]


MilestoneStatus = Literal["scheduled", "met", "missed"]


class MilestoneStep(Origin):
    status: MilestoneStatus


class EvidencedStep(MilestoneStep):
    evidence: str


class DegreePoint(TypedDict):
    """A milestone's implementation degree from one event on (PAM: 0 to 3)."""

    degree: int
    occurred_at: str
    event_id: str
    evidence: NotRequired[str]


class MilestoneEntry(Origin):
    agreement_id: NotRequired[str | None]
    term_id: NotRequired[str | None]
    obligor: ActorWire
    description: str
    due: DueWire
    status: MilestoneStatus
    history: list[MilestoneStep]
    degree: int  # the latest in world time
    degrees: list[DegreePoint]  # in record order


class ContextEntry(ContextNotedPayloadWire, Origin):
    """The note as made, keyed by its event."""


class CorrectionEntry(TypedDict):
    event_id: str
    type: str
    target_event_id: str
    fields: list[str]
    reason: str
    recorded_at: str


class _ViewFields(TypedDict):
    """Every field of the view but the milestones, whose entries differ once rendered."""

    negotiation_id: str | None
    title: str | None
    format: str | None
    framework_ref: str | None
    external_ids: ExternalIdsWire | None
    status: str | None
    opened_at: str | None
    version: int
    position: int | None
    issues: dict[str, IssueEntry]
    parties: dict[str, PartyEntry]
    delegations: dict[str, DelegationEntry]
    meetings: dict[str, MeetingEntry]
    statements: dict[str, StatementEntry]
    demands: dict[str, DemandEntry]
    proposals: dict[str, ProposalEntry]
    agreements: dict[str, AgreementEntry]
    context: dict[str, ContextEntry]
    corrections: list[CorrectionEntry]
    retracted: list[str]


class View(_ViewFields):
    """A negotiation's current state as the reducer derives it (no clock involved)."""

    milestones: dict[str, MilestoneEntry]


class DueMilestone(MilestoneEntry):
    overdue: bool


class NegotiationView(_ViewFields):
    """The view as served: each milestone also says whether it is overdue today."""

    milestones: dict[str, DueMilestone]


class State(TypedDict):
    registry: Registry
    view: View
