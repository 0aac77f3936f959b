"""What a Negotiation remembers in order to check invariants, evolved from stored events.

Facts take the wire form directly (no re-validation) so that loading stays cheap: the wire
dict an event was just built from when it is recorded, the stored JSON parsed when it is
loaded, brought up to the current schema version first (events/upcasting.py). A correction
or a retraction rebuilds the derived facts from the effective events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from events import CORRECTIONS, SERVER_FIELDS, PartialDate, canonical_json
from events.lifecycle import next_status
from events.registry import Nothing, complete
from events.upcasting import upcast
from events.wire import (
    AgreementReachedPayloadWire,
    AgreementStatusChangedPayloadWire,
    MeetingPayloadWire,
    MilestoneProgressedPayloadWire,
    MilestoneRescheduledPayloadWire,
    MilestoneScheduledPayloadWire,
    MilestoneSettledPayloadWire,
    NegotiationOpenedPayloadWire,
    PartyPayloadWire,
    ProposalTabledPayloadWire,
    StatementIssuedPayloadWire,
    Wire,
)


@dataclass(frozen=True, slots=True)
class EventFact:
    """One recorded event as the rules need it. Never changed in place: amended copies replace
    it, so copying Facts copies references, not payloads. ``payload`` is None for an inert
    event of slim facts (see ``Facts.slim``): ``Facts.full`` reads it back when needed."""

    type: str
    payload: dict[str, Any] | None
    retracted: bool = False
    version: int = 0


INERT = frozenset({"ContextNoted", "DemandMade"})
"""Types whose payload no rule and no derived fact reads (no guard, no facts, no say in the
status): only a correction of one needs its payload, to validate the corrected whole."""

INERT_CODES = ("ContextNoted", "DemandMade")
"""An inert type's code in ``Facts.inert`` (its index here)."""

EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def packed_id(event_id: str) -> bytes | None:
    """The 16 bytes of an event id of the contract's form, None for any other string."""
    if EVENT_ID.fullmatch(event_id) is None:
        return None
    return bytes.fromhex(event_id.replace("-", ""))


Fetch = Callable[[int], dict[str, Any]]
"""The payload of the negotiation's event at a version, read back from the store."""


@dataclass(frozen=True)
class KeyFact:
    """The event first recorded under an idempotency key."""

    event_id: str
    version: int
    hash: str
    wire: Wire

    @property
    def body_digest(self) -> str:
        """Computed only when a re-send is checked, not for every keyed event loaded."""
        return body_digest(self.wire)


@dataclass
class Facts:
    negotiation_id: str = ""
    status: str | None = None
    opened_at: PartialDate | None = None  # the opening's occurred_at: never corrected
    version: int = 0
    last_hash: str | None = None
    issues: set[str] = field(default_factory=set)
    parties: set[str] = field(default_factory=set)
    meetings: dict[str, str] = field(default_factory=dict)
    statements: set[str] = field(default_factory=set)
    proposals: set[str] = field(default_factory=set)
    agreements: dict[str, str] = field(default_factory=dict)
    agreement_forms: dict[str, str] = field(default_factory=dict)
    agreement_terms: dict[str, set[str]] = field(default_factory=dict)
    milestones: dict[str, str] = field(default_factory=dict)
    milestone_degrees: dict[str, int] = field(default_factory=dict)
    events: dict[str, EventFact] = field(default_factory=dict)
    inert: dict[bytes, int] = field(default_factory=dict)
    """Slim facts only: the inert events never corrected nor retracted, by their id's 16
    bytes, as ``version << 1 | type code`` (``INERT_CODES``). They change no derived fact and
    no status, so ``effective`` may leave them out; one corrected or retracted moves to
    ``events`` first (``full``, ``held``)."""
    keys: dict[str, KeyFact] = field(default_factory=dict)
    fetch: Fetch | None = None  # set: slim facts, inert payloads are read back when needed

    def slim(self, fetch: Fetch) -> None:
        """Keeps inert events never corrected nor retracted in ``inert`` (no payload, no
        object per event: a few dozen bytes each) and reads a payload back with ``fetch``
        when a correction needs it. Corrected or retracted ones stay in ``events``: their
        patched payload or their mark is not in the store's copy of the event."""
        self.fetch = fetch
        amended = {
            str(f.payload["target_event_id"])
            for f in self.events.values()
            if f.type in CORRECTIONS and f.payload is not None
        }
        for event_id, fact in list(self.events.items()):
            if fact.type in INERT and not fact.retracted and event_id not in amended:
                packed = packed_id(event_id)
                if packed is not None:
                    del self.events[event_id]
                    self.inert[packed] = _code(fact.type, fact.version)

    def event(self, event_id: str) -> EventFact | None:
        """The event's fact (an inert one of slim facts without its payload), None if the
        negotiation has no such event."""
        fact = self.events.get(event_id)
        if fact is not None or not self.inert:
            return fact
        packed = packed_id(event_id)
        code = None if packed is None else self.inert.get(packed)
        if code is None:
            return None
        return EventFact(INERT_CODES[code & 1], None, version=code >> 1)

    def held(self, event_id: str) -> EventFact:
        """The event's fact, moved into ``events`` if slim facts kept it in ``inert``."""
        fact = self.events.get(event_id)
        if fact is None:
            fact = self.event(event_id)
            if fact is None:
                raise KeyError(event_id)
            del self.inert[cast(bytes, packed_id(event_id))]
            self.events[event_id] = fact
        return fact

    def full(self, event_id: str) -> EventFact:
        """The event's fact with its payload, read back if slim facts dropped it."""
        fact = self.held(event_id)
        if fact.payload is None and self.fetch is not None:
            fact = replace(fact, payload=self.fetch(fact.version))
            self.events[event_id] = fact
        return fact

    def absorb(self, wire: Wire) -> None:
        wire = cast(Wire, upcast(cast(dict[str, Any], wire)))
        kind = wire["type"]
        payload = wire["payload"]
        self.negotiation_id = wire["negotiation_id"]
        self.version = wire["version"]
        self.last_hash = wire["hash"]
        if key := wire.get("idempotency_key"):
            self.keys[key] = KeyFact(wire["event_id"], wire["version"], wire["hash"], wire)
        if not self._kept_apart(wire):
            kept = None if self.fetch is not None and kind in INERT else payload
            self.events[wire["event_id"]] = EventFact(kind, kept, version=wire["version"])
        if kind == "NegotiationOpened":
            self.opened_at = PartialDate.parse(wire["occurred_at"])
        if kind in CORRECTIONS:
            target_id = str(payload["target_event_id"])
            if kind == "EventCorrected":
                self.full(target_id)
            else:
                self.held(target_id)
            amend(self.events, kind, payload)
            self.rederive()
        else:
            self.derive(kind, payload)

    def _kept_apart(self, wire: Wire) -> bool:
        """Slim facts keep a new inert event in ``inert``, not as an ``EventFact``."""
        if self.fetch is None or wire["type"] not in INERT:
            return False
        packed = packed_id(wire["event_id"])
        if packed is None:
            return False
        self.inert[packed] = _code(wire["type"], wire["version"])
        return True

    def copy(self) -> Facts:
        """An independent copy; payloads are shared since they are never changed in place."""
        return replace(
            self,
            issues=set(self.issues),
            parties=set(self.parties),
            meetings=dict(self.meetings),
            statements=set(self.statements),
            proposals=set(self.proposals),
            agreements=dict(self.agreements),
            agreement_forms=dict(self.agreement_forms),
            agreement_terms={k: set(v) for k, v in self.agreement_terms.items()},
            milestones=dict(self.milestones),
            milestone_degrees=dict(self.milestone_degrees),
            events=dict(self.events),
            inert=dict(self.inert),
            keys=dict(self.keys),
        )

    def derive(self, kind: str, payload: dict[str, Any]) -> None:
        """Takes one effective event into the derived facts (status, ids and their states)."""
        self.status = next_status(self.status, kind, payload)
        handler = _ABSORB_OF.get(kind)
        if handler is not None:
            handler(self, payload)

    def rederive(self) -> None:
        """Rebuilds the derived facts from the effective events, so that after a correction
        or a retraction they read as if the history had been right all along."""
        fresh = Facts(negotiation_id=self.negotiation_id)
        for fact in effective(self.events):
            fresh.derive(fact.type, fact.payload or {})
        for name in DERIVED:
            setattr(self, name, getattr(fresh, name))


DERIVED = (
    "status",
    "issues",
    "parties",
    "meetings",
    "statements",
    "proposals",
    "agreements",
    "agreement_forms",
    "agreement_terms",
    "milestones",
    "milestone_degrees",
)


def _code(kind: str, version: int) -> int:
    return version << 1 | INERT_CODES.index(kind)


def effective(events: dict[str, EventFact]) -> list[EventFact]:
    """The events that still count: not corrections themselves, not retracted."""
    return [f for f in events.values() if f.type not in CORRECTIONS and not f.retracted]


def amend(events: dict[str, EventFact], kind: str, payload: dict[str, Any]) -> None:
    """Applies a correction (patch) or a retraction (mark) to its target in ``events``."""
    target_id = payload["target_event_id"]
    target = events[target_id]
    if kind == "EventCorrected":
        patched = {**(target.payload or {}), **payload["patch"]}
        events[target_id] = replace(target, payload=patched)
    else:
        events[target_id] = replace(target, retracted=True)


def body_digest(event: Mapping[str, Any]) -> str:
    """Digest of what the publisher sent (normalised), to compare idempotent re-sends."""
    body = {k: v for k, v in event.items() if k not in SERVER_FIELDS}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _opened(f: Facts, p: NegotiationOpenedPayloadWire) -> None:
    f.issues.update(i["issue_id"] for i in p.get("issues", []))


def _joined(f: Facts, p: PartyPayloadWire) -> None:
    f.parties.add(p["party"]["name"])


def _left(f: Facts, p: PartyPayloadWire) -> None:
    f.parties.discard(p["party"]["name"])


def _meeting(state: str) -> Callable[[Facts, MeetingPayloadWire], None]:
    def absorb(f: Facts, p: MeetingPayloadWire) -> None:
        f.meetings[p["meeting_id"]] = state

    return absorb


def _statement(f: Facts, p: StatementIssuedPayloadWire) -> None:
    f.statements.add(p["statement_id"])


def _proposal(f: Facts, p: ProposalTabledPayloadWire) -> None:
    f.proposals.add(p["proposal_id"])


def _agreement(f: Facts, p: AgreementReachedPayloadWire) -> None:
    f.agreements[p["agreement_id"]] = p.get("status") or "draft"
    f.agreement_forms[p["agreement_id"]] = p["form"]
    f.agreement_terms[p["agreement_id"]] = {t["term_id"] for t in p.get("terms", [])}


def _agreement_status(f: Facts, p: AgreementStatusChangedPayloadWire) -> None:
    f.agreements[p["agreement_id"]] = p["status"]


MilestonePayload = (
    MilestoneScheduledPayloadWire | MilestoneSettledPayloadWire | MilestoneRescheduledPayloadWire
)


def _milestone(state: str) -> Callable[[Facts, MilestonePayload], None]:
    def absorb(f: Facts, p: MilestonePayload) -> None:
        f.milestones[p["milestone_id"]] = state

    return absorb


def _met(f: Facts, p: MilestoneSettledPayloadWire) -> None:
    f.milestones[p["milestone_id"]] = "met"
    f.milestone_degrees[p["milestone_id"]] = 3


def _progressed(f: Facts, p: MilestoneProgressedPayloadWire) -> None:
    f.milestone_degrees[p["milestone_id"]] = p["degree"]


Absorb = Callable[[Facts, Any], None]  # Any: the payload's wire shape, named by each handler

NO_FACTS = Nothing("facts")
"""The type changes no derived fact besides the status (every type goes through
``next_status``); corrections and retractions are applied by ``absorb`` itself."""

ABSORB: dict[str, Absorb | Nothing] = {
    "NegotiationOpened": _opened,
    "PartyJoined": _joined,
    "PartyLeft": _left,
    "DelegationAssigned": NO_FACTS,
    "MeetingScheduled": _meeting("scheduled"),
    "MeetingHeld": _meeting("held"),
    "MeetingCancelled": _meeting("cancelled"),
    "StatementIssued": _statement,
    "StatementWithdrawn": NO_FACTS,
    "StatementDenied": NO_FACTS,
    "DemandMade": NO_FACTS,
    "ProposalTabled": _proposal,
    "ProposalAccepted": NO_FACTS,
    "ProposalRejected": NO_FACTS,
    "PositionStated": NO_FACTS,
    "AgreementReached": _agreement,
    "AgreementStatusChanged": _agreement_status,
    "MilestoneScheduled": _milestone("scheduled"),
    "MilestoneMet": _met,
    "MilestoneMissed": _milestone("missed"),
    "MilestoneProgressed": _progressed,
    "MilestoneRescheduled": _milestone("scheduled"),
    "ContextNoted": NO_FACTS,
    "TalksSuspended": NO_FACTS,
    "TalksResumed": NO_FACTS,
    "TalksConcluded": NO_FACTS,
    "EventCorrected": NO_FACTS,
    "EventRetracted": NO_FACTS,
}
"""What each event type adds to the derived facts: one entry per type of the contract,
checked at import (see events/registry.py for why each layer keeps its own table)."""

_ABSORB_OF = complete("recorder facts (ABSORB in services/recorder/facts.py)", ABSORB)
