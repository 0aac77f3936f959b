"""The stream entry of a recorded event: plain fields any Redis client can read.

Fields: ``type``, ``negotiation_id``, ``position``, ``hash``, and ``event``: the canonical JSON
bytes that were hashed (the event without ``hash`` and ``position``), so that
``sha256(event) == hash`` can be checked in any language without re-encoding.
"""

from __future__ import annotations

import orjson
from pydantic import BaseModel, Field


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


FIELDS = tuple(EventEntry.model_fields)


def entry_id(position: int) -> str:
    return f"{position}-0"


def position_of(entry_id: object) -> int:
    """The position in an entry ID (``b"42-0"`` or ``"42-0"``)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])


def entry_args(position: int, body: str, hash: str) -> list[bytes | str | int]:
    """The stream entry of a stored event, as the relay script's arguments:
    entry ID, type, negotiation_id, position, hash, event. The body goes out as stored."""
    head = orjson.loads(body)
    return [entry_id(position), head["type"], head["negotiation_id"], position, hash, body]


def entry_fields(args: list[bytes | str | int]) -> dict[str, bytes | str | int]:
    """The same entry as XADD fields (for readers and for the raw baseline)."""
    return dict(zip(FIELDS, args[1:], strict=True))
