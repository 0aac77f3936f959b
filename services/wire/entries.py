"""The stream entry of a recorded event: plain fields any Redis client can read.

Fields: ``type``, ``negotiation_id``, ``position``, ``hash``, and ``event``: the canonical JSON
bytes that were hashed (the event without ``hash`` and ``position``), so that
``sha256(event) == hash`` can be checked in any language without re-encoding. The entry ID is
``<position>-0``: Redis refuses an ID that is not above the stream's last, so a republished
event cannot be duplicated.

The model documents and round-trips one entry; the functions below it are the hot paths (the
relay's script arguments, the projections' reading), which skip validation but write and read
exactly the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, Field
from redis import Redis


class EventEntry(BaseModel):
    """An entry of ``<prefix>:events``; its entry ID is ``<position>-0``."""

    type: str = Field(description="The event type, e.g. MeetingHeld.")
    negotiation_id: str = Field(description="The negotiation the event belongs to.")
    position: int = Field(description="The event's global position in the store.")
    hash: str = Field(description="sha256 hex of `event`.")
    event: str = Field(
        description="The event as canonical JSON without `hash` and `position`: exactly the "
        "bytes that were hashed."
    )

    @classmethod
    def of(cls, position: int, body: str, hash: str) -> EventEntry:
        """The entry of a stored event (its canonical JSON ``body``, sent as stored)."""
        head = orjson.loads(body)
        return cls(
            type=head["type"],
            negotiation_id=head["negotiation_id"],
            position=position,
            hash=hash,
            event=body,
        )

    @property
    def id(self) -> str:
        return entry_id(self.position)

    def encode(self) -> dict[str, str | int]:
        """The XADD fields, in the order the relay writes them."""
        return self.model_dump()

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> EventEntry:
        return cls.model_validate({text(k): text(v) for k, v in fields.items()})

    def recorded_event(self) -> dict[str, Any]:
        """The recorded event it carries, with ``hash`` and ``position``."""
        wire: dict[str, Any] = orjson.loads(self.event)
        wire["hash"] = self.hash
        wire["position"] = self.position
        return wire


FIELDS = tuple(EventEntry.model_fields)


def entry_id(position: int) -> str:
    return f"{position}-0"


def position_of(entry_id: object) -> int:
    """The position in an entry ID (``b"42-0"`` or ``"42-0"``)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])


def entry_args(
    position: int, body: str, hash: str, type: str | None = None, negotiation_id: str | None = None
) -> list[bytes | str | int]:
    """The stream entry of a stored event, as the relay script's arguments:
    entry ID, type, negotiation_id, position, hash, event. The body goes out as stored; its
    type and negotiation are read from it unless given."""
    if type is None or negotiation_id is None:
        head = orjson.loads(body)
        type, negotiation_id = head["type"], head["negotiation_id"]
    return [entry_id(position), type, negotiation_id, position, hash, body]


def entry_fields(args: list[bytes | str | int]) -> dict[str, bytes | str | int]:
    """The same entry as XADD fields (for readers and for the raw baseline)."""
    return dict(zip(FIELDS, args[1:], strict=True))


def recorded_event(entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> dict[str, Any]:
    """The recorded event (with ``hash`` and ``position``) of an entry as Redis returns it:
    ``EventEntry.decode(fields).recorded_event()`` without validating every field."""
    wire: dict[str, Any] = orjson.loads(fields[b"event"])
    wire["hash"] = fields[b"hash"].decode()
    wire["position"] = position_of(entry_id)
    return wire


def hash_of(fields: Mapping[bytes, bytes]) -> str:
    """The ``hash`` of an entry as Redis returns it; empty when it has none (an entry without
    one differs from any stored event)."""
    value = fields.get(b"hash")
    return value.decode() if value is not None else ""


def last_position(redis: Redis, stream: str) -> int:
    """The position of the stream's last entry; 0 when it is empty or absent."""
    top: Any = redis.xrevrange(stream, count=1)
    return position_of(top[0][0]) if top else 0


def text(value: bytes | str) -> str:
    """A field name or value as text (Redis returns bytes)."""
    return value.decode() if isinstance(value, bytes) else value
