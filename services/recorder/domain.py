"""The Negotiation aggregate: checks invariants, stamps and hash-chains each event.

Its two eventsourcing event classes only carry the recorded event's wire form; the contract
(fields and validation) lives in ``events/``. Their topics are
``services.recorder.domain:Negotiation.Opened`` and ``...:Negotiation.Recorded``: renaming them
needs a registered old topic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from eventsourcing.domain import Aggregate

from events import Envelope, RecordedEvent, seal
from services.recorder import rules
from services.recorder.exceptions import ConflictError
from services.recorder.facts import Facts, KeyFact, body_digest

NAMESPACE = uuid.UUID("5d1c7f0e-8a47-4d2b-9f62-7a3e1b0c9d11")


def negotiation_uuid(negotiation_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, negotiation_id)


@dataclass(frozen=True)
class Repeat:
    """A re-sent event whose idempotency key was already recorded: the first result."""

    first: KeyFact


class Negotiation(Aggregate):
    """One negotiation: a noun whose one imperative is ``record`` (and ``open`` to begin)."""

    class Opened(Aggregate.Created):
        wire: dict[str, Any]

    class Recorded(Aggregate.Event):
        wire: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            cast("Negotiation", aggregate).facts.absorb(self.wire)

    def __init__(self, wire: dict[str, Any]) -> None:
        self.facts = Facts()
        self.facts.absorb(wire)

    @classmethod
    def open(cls, draft: Envelope, *, principal: str, now: datetime) -> Negotiation:
        rules.check(Facts(), draft, now)
        event = _seal(draft, principal=principal, now=now, version=1, prev_hash=None)
        return cls._create(
            cls.Opened, id=negotiation_uuid(draft.negotiation_id), wire=event.wire, timestamp=now
        )

    def repeat_of(self, draft: Envelope) -> Repeat | None:
        """The earlier result for this draft's idempotency key, if any; a different body under
        the same key is a conflict."""
        key = draft.idempotency_key
        if key is None or key not in self.facts.keys:
            return None
        first = self.facts.keys[key]
        if first.body_digest != body_digest(draft.model_dump(mode="json", exclude_none=True)):
            raise ConflictError(
                "idempotency_key_reused",
                f"idempotency_key {key!r} was used for a different event",
                details={"event_id": first.event_id},
            )
        return Repeat(first)

    def record(
        self,
        draft: Envelope,
        *,
        principal: str,
        now: datetime,
        expected_version: int | None = None,
    ) -> RecordedEvent:
        if expected_version is not None and expected_version != self.version:
            raise ConflictError(
                "version_conflict",
                f"expected version {expected_version}, the negotiation is at {self.version}",
                details={"current_version": self.version},
            )
        rules.check(self.facts, draft, now)
        event = _seal(
            draft,
            principal=principal,
            now=now,
            version=self.version + 1,
            prev_hash=self.facts.last_hash,
        )
        self.trigger_event(self.Recorded, wire=event.wire, timestamp=now)
        return event


def _seal(
    draft: Envelope, *, principal: str, now: datetime, version: int, prev_hash: str | None
) -> RecordedEvent:
    return seal(
        draft,
        event_id=str(uuid.uuid4()),
        recorded_at=now,
        recorded_by=principal,
        version=version,
        prev_hash=prev_hash,
    )
