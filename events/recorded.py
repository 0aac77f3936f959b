"""Parsing published events, and the recorded event: a draft plus the server's stamp."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, field_serializer

from events.canonical import event_hash, hashed_body
from events.dates import format_utc
from events.exceptions import InvalidEvent
from events.json_input import out_of_range, range_message
from events.parts import Name, Part
from events.payloads import EventId
from events.types import EVENT_TYPES, Draft, Envelope
from events.upcasting import upcast

DRAFT: TypeAdapter[Draft] = TypeAdapter(Draft)
MAX_DEPTH = 32


class Stamp(Part):
    """Fields the server sets when it records an event; publishers may not send them."""

    model_config = ConfigDict(strict=False)

    event_id: EventId
    recorded_at: datetime
    recorded_by: Name
    version: int = Field(ge=1)
    prev_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    position: int | None = Field(default=None, ge=1)

    @field_serializer("recorded_at")
    def _utc(self, value: datetime) -> str:
        return format_utc(value)


SERVER_FIELDS = frozenset(Stamp.model_fields)


def parse_draft(obj: Any) -> Envelope:
    """Validates one published event; raises InvalidEvent naming the field and the reason."""
    if not isinstance(obj, dict):
        raise InvalidEvent("invalid_event", "expected a JSON object", field="event")
    for name in sorted(SERVER_FIELDS & obj.keys()):
        raise InvalidEvent("server_field", "is set by the server; do not send it", field=name)
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise InvalidEvent(
            "unknown_type",
            f"unknown event type {kind!r}",
            field="type",
            details={"known": sorted(EVENT_TYPES)},
        )
    _encodable(obj)
    return _validate(upcast(obj))


def _encodable(event: dict[str, Any]) -> None:
    """Refuses what canonical JSON and every reader cannot carry: NaN and infinities, lone
    surrogates, integers beyond ±(2**53 - 1), and nesting deeper than any event has (which
    would only exhaust the stack of the validators and encoders after this)."""
    stack: list[tuple[str, int, Any]] = [("", 0, event)]
    while stack:
        path, depth, value = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidEvent(
                "invalid_event", f"nested deeper than {MAX_DEPTH} levels", field=path or "event"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                _check_scalar(key, path)
                stack.append((f"{path}.{key}" if path else str(key), depth + 1, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", depth + 1, item) for i, item in enumerate(value))
        else:
            _check_scalar(value, path)


def _check_scalar(value: Any, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent("invalid_event", "NaN and infinity are not allowed", field=path)
    if isinstance(value, int) and not isinstance(value, bool) and out_of_range(value):
        # str() of more than 4,300 digits raises ValueError: show a large one by its size.
        shown = str(value) if value.bit_length() <= 80 else f"of {value.bit_length()} bits"
        raise InvalidEvent("number_out_of_range", range_message(shown), field=path)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent(
                "invalid_event",
                "contains a lone surrogate (not valid UTF-8)",
                field=path or "event",
            ) from None


def _validate(obj: dict[str, Any]) -> Envelope:
    try:
        return DRAFT.validate_python(obj)
    except ValidationError as e:
        raise invalid_event(e, skip=1) from None


def invalid_event(error: ValidationError, *, skip: int = 0, prefix: str = "") -> InvalidEvent:
    """One InvalidEvent from a pydantic error: the first problem as the message, all in details."""
    problems = [
        {
            "field": ".".join([prefix, *(str(p) for p in e["loc"][skip:])]).strip(".") or "event",
            "reason": e["msg"].removeprefix("Value error, "),
        }
        for e in error.errors(include_url=False, include_input=False)
    ]
    first = problems[0]
    return InvalidEvent("invalid_event", first["reason"], field=first["field"], details=problems)


class RecordedEvent:
    """A recorded event: the validated draft and the server's stamp, with its wire form."""

    __slots__ = ("_body", "draft", "stamp", "wire")

    def __init__(
        self, draft: Envelope, stamp: Stamp, wire: dict[str, Any], body: bytes | None = None
    ) -> None:
        self.draft = draft
        self.stamp = stamp
        self.wire = wire
        self._body = body

    @property
    def body(self) -> bytes:
        """The canonical JSON that was hashed: the event without hash and position."""
        if self._body is None:
            self._body = hashed_body(self.wire)
        return self._body

    @classmethod
    def create(cls, draft: Envelope, stamp: Stamp) -> RecordedEvent:
        wire = {**draft.model_dump(mode="json", exclude_none=True), **dump_stamp(stamp)}
        return cls(draft, stamp, wire)

    @classmethod
    def from_wire(cls, wire: dict[str, Any], position: int | None = None) -> RecordedEvent:
        """Reads a stored event (upcasting its draft); ``position`` comes from the store."""
        body = {k: v for k, v in wire.items() if k not in SERVER_FIELDS}
        stamp = Stamp.model_validate({k: v for k, v in wire.items() if k in SERVER_FIELDS})
        if position is not None:
            stamp = stamp.model_copy(update={"position": position})
            wire = {**wire, "position": position}
        return cls(_validate(upcast(body)), stamp, wire)

    @property
    def type(self) -> str:
        return self.draft.type

    @property
    def event_id(self) -> str:
        return self.stamp.event_id

    @property
    def position(self) -> int | None:
        return self.stamp.position

    def hash_ok(self) -> bool:
        return event_hash(self.wire) == self.stamp.hash


def dump_stamp(stamp: Stamp) -> dict[str, Any]:
    return stamp.model_dump(mode="json", exclude_none=True)


def seal(
    draft: Envelope,
    *,
    event_id: str,
    recorded_at: datetime,
    recorded_by: str,
    version: int,
    prev_hash: str | None,
) -> RecordedEvent:
    """Stamps a draft and fixes its hash over the wire form (without hash and position): the
    event is encoded as canonical JSON once, and keeps those bytes as its ``body``."""
    stamp = Stamp(
        event_id=event_id,
        recorded_at=recorded_at,
        recorded_by=recorded_by,
        version=version,
        prev_hash=prev_hash,
        hash="0" * 64,
    )
    event = RecordedEvent.create(draft, stamp)
    body = hashed_body(event.wire)
    digest = hashlib.sha256(body).hexdigest()
    return RecordedEvent(
        draft, stamp.model_copy(update={"hash": digest}), {**event.wire, "hash": digest}, body
    )
