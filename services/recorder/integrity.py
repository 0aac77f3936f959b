"""How a Negotiation's events are stored, and every stored event checked as it is read back.

The stored state of an event is its canonical JSON with its hash and without its position
(``events.canonical.with_hash``): the bytes the seal hashed, with the hash member spliced in at
its sorted place. Nothing else is stored apart: eventsourcing's timestamp is the event's
``recorded_at`` and the opening's aggregate class is the one Negotiation class. Rows of the
first stored format are read as they are (see ``legacy``).

The mapper that turns stored rows into domain events (for aggregate loading, folds, the audit
page and the relay alike) refuses a row whose bytes do not decode, whose fields are not the
ones its format stores, whose body does not hash to its ``hash``, or whose body disagrees with
the row's own columns (negotiation, version) and timestamp, so that a flipped byte on disk
becomes an answer naming the event instead of a wrong view or a crash. This costs a parse and
a SHA-256 per event read, small beside the rest of a load. ``talkstream audit verify`` reads
the same rows with ``unpack`` and reports every problem instead of stopping at one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    Mapper,
    Notification,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import TopicError, get_topic

from events import canonical_json, split_hash, with_hash
from events.dates import format_utc
from services.recorder import legacy
from services.recorder.domain import Negotiation, negotiation_uuid
from services.recorder.exceptions import EventCorrupted

OPENED_TOPIC = get_topic(Negotiation.Opened)
RECORDED_TOPIC = get_topic(Negotiation.Recorded)
AGGREGATE_TOPIC = get_topic(Negotiation)
CLASSES: dict[str, type[Negotiation.Opened | Negotiation.Recorded]] = {
    OPENED_TOPIC: Negotiation.Opened,
    RECORDED_TOPIC: Negotiation.Recorded,
}
_UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")  # format_utc's form
UNDECODABLE = (ValueError, KeyError, TypeError, AttributeError, TopicError)
uuid_of = lru_cache(maxsize=4096)(negotiation_uuid)  # a SHA-1 per event read is not needed


@dataclass
class Unpacked:
    """What a stored row holds, decoded but not yet checked."""

    fields_ok: bool  # the row holds exactly the fields its format stores
    body: bytes  # the bytes that were hashed: the event without hash and position
    hash: str
    originator_topic: Any = AGGREGATE_TOPIC  # the first format stores the opening's apart
    first_format: dict[str, Any] | None = None  # a first-format row's fields, as decoded
    parsed: dict[str, Any] | None = None

    @property
    def wire(self) -> dict[str, Any]:
        """The event with its hash, parsed from the body on first use."""
        if self.parsed is None:
            self.parsed = orjson.loads(self.body)
            if isinstance(self.parsed, dict):
                self.parsed["hash"] = self.hash
        return self.parsed

    def timestamp_problem(self) -> bool:
        """Whether the stored timestamp is not ``recorded_at`` in its one textual form."""
        if self.first_format is None:  # the timestamp is recorded_at itself: check its form
            text = self.wire.get("recorded_at")
            if not isinstance(text, str) or not _UTC_TEXT.fullmatch(text):
                return True
            datetime.fromisoformat(text)  # a valid instant (ValueError is undecodable)
            return False
        timestamp = self.timestamp
        return not isinstance(timestamp, datetime) or (
            format_utc(timestamp) != self.wire.get("recorded_at")
        )

    @property
    def timestamp(self) -> Any:
        """When the store took the event: ``recorded_at`` (the first format stores it apart;
        a datetime unless the row is damaged)."""
        if self.first_format is not None:
            return self.first_format.get("timestamp")
        return datetime.fromisoformat(self.wire["recorded_at"])

    def problem(self, stored: StoredEvent) -> str | None:
        """The first thing wrong with the row on its own, if any."""
        if not self.fields_ok:
            return "unexpected stored fields"
        if sha256(self.body).hexdigest() != self.hash:
            return "hash does not match the event's content"
        if stored.topic == OPENED_TOPIC and self.originator_topic != AGGREGATE_TOPIC:
            return "opening event names another aggregate class"
        return _wire_problem(stored, self)

    def stored_again(self, transcoder: Transcoder) -> bytes:
        """The row as this content is stored by its format: equal to the row if the row is
        canonical."""
        if self.first_format is not None:
            return transcoder.encode(self.first_format)
        return canonical_json(self.wire)


def unpack(stored: StoredEvent, transcoder: Transcoder) -> Unpacked:
    """The row decoded (either format); raises one of UNDECODABLE when it does not decode."""
    if legacy.written_first(stored.state):
        return _unpack_first_format(stored, transcoder)
    split = split_hash(stored.state)
    if split is None:
        return Unpacked(fields_ok=False, body=stored.state, hash="")
    return Unpacked(fields_ok=True, body=split[0], hash=split[1])


def _unpack_first_format(stored: StoredEvent, transcoder: Transcoder) -> Unpacked:
    fields = legacy.decode(stored.state, transcoder)
    body, digest = fields.get("body"), fields.get("hash")
    return Unpacked(
        fields_ok=legacy.fields_ok(fields, opening=stored.topic == OPENED_TOPIC),
        body=body.encode("utf-8") if isinstance(body, str) else b"",
        hash=digest if isinstance(digest, str) else "",
        originator_topic=fields.get("originator_topic"),
        first_format=fields,
    )


class CheckedMapper(Mapper[UUID]):
    """Stores a Negotiation's events as their canonical JSON; reads them back checked."""

    def __init__(
        self,
        transcoder: Transcoder,  # for rows of the first format only
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        if compressor is not None or cipher is not None:
            raise ValueError("events are stored as canonical JSON: no compressor or cipher")
        super().__init__(transcoder)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event: Any = domain_event
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=get_topic(type(event)),
            state=with_hash(event.body, event.wire["event_id"], event.wire["hash"]),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = CLASSES.get(stored_event.topic)
        if cls is None:
            raise corrupted(stored_event, "unknown event topic")
        return _domain_event(cls, stored_event, self.checked(stored_event))

    def checked(self, stored_event: StoredEvent) -> Unpacked:
        """The row decoded and checked as ``to_domain_event`` checks it, without building the
        domain event (the relay needs only the body, its hash and its head)."""
        if stored_event.topic not in CLASSES:
            raise corrupted(stored_event, "unknown event topic")
        try:
            unpacked = unpack(stored_event, self.transcoder)
            problem = unpacked.problem(stored_event)
        except UNDECODABLE as e:
            raise corrupted(stored_event, f"undecodable: {type(e).__name__}") from e
        if problem:
            raise corrupted(stored_event, problem)
        return unpacked

    def unpack(self, stored_event: StoredEvent) -> Unpacked:
        """The row decoded without the checks (the audit makes its own)."""
        return unpack(stored_event, self.transcoder)


def _domain_event(
    cls: type[Any], stored: StoredEvent, unpacked: Unpacked
) -> DomainEventProtocol[UUID]:
    """The domain event, built as eventsourcing's own mapper builds one."""
    fields: dict[str, Any] = {
        "originator_id": stored.originator_id,
        "originator_version": stored.originator_version,
        "timestamp": unpacked.timestamp,
        "wire": unpacked.wire,
        "body": unpacked.body,
    }
    if cls is Negotiation.Opened:
        fields["originator_topic"] = unpacked.originator_topic
    event: DomainEventProtocol[UUID] = object.__new__(cls)
    object.__setattr__(event, "__dict__", fields)
    return event


def corrupted(stored: StoredEvent, reason: str) -> EventCorrupted:
    position = stored.id if isinstance(stored, Notification) else None
    return EventCorrupted(
        reason,
        position=position,
        originator_id=stored.originator_id,
        version=stored.originator_version,
    )


def _wire_problem(stored: StoredEvent, unpacked: Unpacked) -> str | None:
    """The hashed event against what the row says around it."""
    wire = unpacked.wire
    if not isinstance(wire, dict) or not isinstance(wire.get("negotiation_id"), str):
        return "the body is not an event"
    if uuid_of(wire["negotiation_id"]) != stored.originator_id:
        return "stored under another negotiation's id"
    if wire.get("version") != stored.originator_version:
        return f"stored as version {stored.originator_version}, the body says {wire.get('version')}"
    if unpacked.timestamp_problem():
        return "stored timestamp differs from recorded_at"
    return None
