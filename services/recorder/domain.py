"""The Negotiation aggregate: checks invariants, stamps and hash-chains each event.

Its two eventsourcing event classes carry the recorded event twice over, both made once when
it was sealed: ``wire`` (the dict, with its hash, that the facts absorb) and ``body`` (its
canonical JSON without hash and position: the bytes that were hashed). The store keeps the
canonical JSON (see ``integrity``); the contract (fields and validation) lives in ``events/``.
Their topics are ``services.recorder.domain:Negotiation.Opened`` and
``...:Negotiation.Recorded``: renaming them needs a registered old topic.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from eventsourcing.domain import Aggregate

from events import Envelope, RecordedEvent, seal
from events.wire import Wire
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
        wire: Wire
        body: bytes

    class Recorded(Aggregate.Event):
        wire: Wire
        body: bytes

        def apply(self, aggregate: Aggregate) -> None:
            cast("Negotiation", aggregate).facts.absorb(self.wire)

    def __init__(self, wire: Wire, body: bytes) -> None:
        self.facts = Facts()
        self.facts.absorb(wire)

    def __deepcopy__(self, memo: dict[int, Any]) -> Negotiation:
        """The repository's cache hands out deep copies; Facts knows a cheaper safe copy."""
        clone = copy.copy(self)
        clone.__dict__["_pending_events"] = list(self.pending_events)
        clone.facts = self.facts.copy()
        return clone

    @classmethod
    def open(cls, draft: Envelope, *, principal: str, now: datetime) -> Negotiation:
        rules.check(Facts(), draft, now)
        event = _seal(draft, principal=principal, now=now, version=1, prev_hash=None)
        return cls._create(
            cls.Opened,
            id=negotiation_uuid(draft.negotiation_id),
            timestamp=now,
            **stored_fields(event),
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
        self.trigger_event(self.Recorded, timestamp=now, **stored_fields(event))
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


def stored_fields(event: RecordedEvent) -> dict[str, Any]:
    """The domain event's fields: the wire dict and the canonical bytes the seal made."""
    return {"wire": cast(Wire, event.wire), "body": event.body}
