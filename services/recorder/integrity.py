"""Every stored event is checked as it is read back, so that a flipped byte on disk becomes an
answer naming the event instead of a wrong view or a crash.

The mapper that turns stored rows into domain events (for aggregate loading, folds, the audit
page and the relay alike) refuses a row whose bytes do not decode, whose fields are not the
ones its class stores, whose body does not hash to its ``hash``, or whose body disagrees with
the row's own columns (negotiation, version) and timestamp. This costs a SHA-256 of the body
and a parse of it per event read, small beside the rest of a load. ``talkstream audit verify``
reads the same rows with ``unchecked`` and reports every problem instead of stopping at one.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, Notification, StoredEvent
from eventsourcing.utils import TopicError, get_topic

from events.dates import format_utc
from services.recorder.domain import Negotiation, negotiation_uuid
from services.recorder.exceptions import EventCorrupted

OPENED_TOPIC = get_topic(Negotiation.Opened)
RECORDED_TOPIC = get_topic(Negotiation.Recorded)
AGGREGATE_TOPIC = get_topic(Negotiation)
ROW = frozenset({"originator_id", "originator_version", "timestamp", "body", "hash"})
FIELDS = {OPENED_TOPIC: ROW | {"originator_topic"}, RECORDED_TOPIC: ROW}
UNDECODABLE = (ValueError, KeyError, TypeError, AttributeError, TopicError)
uuid_of = lru_cache(maxsize=4096)(negotiation_uuid)  # a SHA-1 per event read is not needed


class CheckedMapper(Mapper[UUID]):
    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        if stored_event.topic not in FIELDS:
            raise corrupted(stored_event, "unknown event topic")
        try:
            event = super().to_domain_event(stored_event)
        except UNDECODABLE as e:
            raise corrupted(stored_event, f"undecodable: {type(e).__name__}") from e
        problem = _problem(stored_event, vars(event))
        if problem:
            raise corrupted(stored_event, problem)
        return event

    def unchecked(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The domain event as stored, without the checks (the audit makes its own)."""
        return super().to_domain_event(stored_event)


def corrupted(stored: StoredEvent, reason: str) -> EventCorrupted:
    position = stored.id if isinstance(stored, Notification) else None
    return EventCorrupted(
        reason,
        position=position,
        originator_id=stored.originator_id,
        version=stored.originator_version,
    )


def _problem(stored: StoredEvent, fields: dict[str, Any]) -> str | None:
    if fields.keys() != FIELDS[stored.topic]:
        return "unexpected stored fields"
    body, digest, timestamp = fields["body"], fields["hash"], fields["timestamp"]
    if not (isinstance(body, str) and isinstance(digest, str)):
        return "unexpected stored fields"
    if sha256(body.encode("utf-8")).hexdigest() != digest:
        return "hash does not match the event's content"
    if stored.topic == OPENED_TOPIC and fields["originator_topic"] != AGGREGATE_TOPIC:
        return "opening event names another aggregate class"
    return _body_problem(stored, orjson.loads(body), timestamp)


def _body_problem(stored: StoredEvent, wire: Any, timestamp: Any) -> str | None:
    """The hashed body against what the row says around it."""
    if not isinstance(wire, dict) or not isinstance(wire.get("negotiation_id"), str):
        return "the body is not an event"
    if uuid_of(wire["negotiation_id"]) != stored.originator_id:
        return "stored under another negotiation's id"
    if wire.get("version") != stored.originator_version:
        return f"stored as version {stored.originator_version}, the body says {wire.get('version')}"
    if not isinstance(timestamp, datetime) or format_utc(timestamp) != wire.get("recorded_at"):
        return "stored timestamp differs from recorded_at"
    return None
