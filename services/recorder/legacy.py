"""Stored events of the first format, read as they are.

Stores written before the stored state became the event's canonical JSON hold, in each row,
eventsourcing's JSON transcoding of the domain event's fields: ``{"timestamp": {"_type_":
"datetime_iso", ...}, "originator_topic"?: ..., "body": "<the hashed canonical JSON, as an
escaped string>", "hash": ...}``. Such rows are told apart by their first key (no recorded
event has a ``timestamp`` field, so the canonical JSON of one never starts with it), decoded
with the application's transcoder, and checked as before. Nothing writes them any more.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoder

FIRST_KEY = b'{"timestamp":'
FIELDS = frozenset({"timestamp", "body", "hash"})
OPENING_FIELDS = FIELDS | {"originator_topic"}


def written_first(state: bytes) -> bool:
    return state.startswith(FIRST_KEY)


def decode(state: bytes, transcoder: Transcoder) -> dict[str, Any]:
    """The row's fields as stored (in their stored order), not yet checked."""
    fields = transcoder.decode(state)
    if not isinstance(fields, dict):
        raise TypeError("the stored state is not an object")
    return fields


def fields_ok(fields: dict[str, Any], *, opening: bool) -> bool:
    """The row holds exactly the fields of its event class, with text where text belongs."""
    expected = OPENING_FIELDS if opening else FIELDS
    return (
        fields.keys() == expected
        and isinstance(fields["body"], str)
        and isinstance(fields["hash"], str)
    )
