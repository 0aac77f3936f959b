"""The event contract: pydantic models of the envelope and every event type, partial dates,
canonical JSON and hashing, JSON Schema export, and schema-version upcasters."""

from __future__ import annotations

from events.canonical import canonical_json, event_hash, hashed_body, split_hash, with_hash
from events.dates import PartialDate, Precision
from events.exceptions import (
    ContractError,
    InvalidEvent,
    InvalidJson,
    TalkstreamError,
    UnknownSchemaVersion,
)
from events.json_input import MAX_SAFE_INTEGER, parse_json
from events.recorded import SERVER_FIELDS, RecordedEvent, Stamp, parse_draft, seal
from events.types import CORRECTIONS, EVENT_TYPES, PAYLOAD_OF, Draft, Envelope

__all__ = [
    "CORRECTIONS",
    "EVENT_TYPES",
    "MAX_SAFE_INTEGER",
    "PAYLOAD_OF",
    "SERVER_FIELDS",
    "ContractError",
    "Draft",
    "Envelope",
    "InvalidEvent",
    "InvalidJson",
    "PartialDate",
    "Precision",
    "RecordedEvent",
    "Stamp",
    "TalkstreamError",
    "UnknownSchemaVersion",
    "canonical_json",
    "event_hash",
    "hashed_body",
    "parse_draft",
    "parse_json",
    "seal",
    "split_hash",
    "with_hash",
]
