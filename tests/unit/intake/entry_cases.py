"""Intake entries for tests: a setup that opens two negotiations, and bad entries, each with
the code it must be refused with. Shared by the unit and the integration tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from events import Envelope
from tests.factories import (
    ISSUES,
    NID,
    agreement,
    body,
    milestone,
    note,
    opened,
    settled,
    started,
)

OTHER = "talks-b"
MAX_BYTES = 8192
MEETING = {"meeting_id": "round-1", "mode": "host", "agenda": ISSUES}
NOTE_KEY = "note-1"

Fields = dict[str, bytes]


def published(draft: Envelope) -> dict[str, Any]:
    """A draft as a publisher sends it: one JSON object."""
    return draft.model_dump(mode="json", exclude_none=True)


def entry(event: Any, **extra: str | bytes) -> Fields:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    return {
        "event": raw,
        **{k: v if isinstance(v, bytes) else v.encode() for k, v in extra.items()},
    }


def setup_events() -> list[dict[str, Any]]:
    """Talks ``NID`` with both parties, an unsigned agreement, a milestone already met and a
    keyed note; talks ``OTHER`` opened with one note."""
    drafts = [
        *started(),
        agreement(),
        milestone(),
        settled(),
        note(idempotency_key=NOTE_KEY),
        opened(OTHER),
        note(nid=OTHER),
    ]
    return [published(d) for d in drafts]


def without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def bad_events(foreign_event_id: str | None = None) -> dict[str, tuple[dict[str, Any], str]]:
    """Events refused against the setup, by name: (event, code). ``foreign_event_id`` is an
    event of ``OTHER`` (a correction of it from ``NID`` is refused); unknown if not given."""
    target = foreign_event_id or str(uuid.uuid4())
    meeting = body("MeetingHeld", MEETING)
    quote = {"statement_id": "s-1", "speaker": {"name": "Pat Ryder"}, "quote": "x" * 5000}
    return {
        "unknown type": (body("Teleported", MEETING), "unknown_type"),
        "missing field": (without(meeting, "verification"), "invalid_event"),
        "extra field": (body("MeetingHeld", {**MEETING, "colour": "red"}), "invalid_event"),
        "wrong type": (body("MeetingHeld", {**MEETING, "agenda": "transition"}), "invalid_event"),
        "month 13": (body("MeetingHeld", MEETING, occurred_at="2024-13"), "invalid_event"),
        "february 30": (body("MeetingHeld", MEETING, occurred_at="2024-02-30"), "invalid_event"),
        "over-long quote": (body("StatementIssued", quote), "invalid_event"),
        "server-set hash": (body("MeetingHeld", MEETING, hash="0" * 64), "server_field"),
        "ratified before signed": (
            body("AgreementStatusChanged", {"agreement_id": "ag-1", "status": "ratified"}),
            "agreement_not_signed",
        ),
        "resumed though not suspended": (
            body("TalksResumed", {}, occurred_at="2024-10"),
            "talks_not_suspended",
        ),
        "milestone met twice": (
            body("MilestoneMet", {"milestone_id": "m-1"}, occurred_at="2025-10-01"),
            "milestone_already_settled",
        ),
        "correction of another negotiation's event": (
            body(
                "EventCorrected",
                {"target_event_id": target, "patch": {"text": "x"}, "reason": "typo"},
                occurred_at="2024-10-01",
            ),
            "correction_target_unknown",
        ),
        "idempotency key reused for another body": (
            body(
                "ContextNoted",
                {"topic": "Troops", "text": "About 3,000 troops."},
                idempotency_key=NOTE_KEY,
            ),
            "idempotency_key_reused",
        ),
    }


def bad_entries(foreign_event_id: str | None = None) -> dict[str, tuple[Fields, str]]:
    """Every bad entry by name: (fields, code), raw ones and those with a bad event."""
    meeting = body("MeetingHeld", MEETING)
    return {
        "no event field": ({"reply_to": b"", "note": b"hello"}, "empty_entry"),
        "not JSON": (entry(b'{"type": "MeetingHeld", oops}'), "invalid_json"),
        "not UTF-8": (entry(b'\xff\xfe{"type": "MeetingHeld"}'), "invalid_json"),
        "JSON array": (entry(b"[1, 2]"), "invalid_event"),
        "oversized": (entry({**meeting, "padding": "x" * MAX_BYTES}), "entry_too_large"),
        "duplicate key": (
            entry(json.dumps(meeting)[:-1].encode() + b', "type": "ContextNoted"}'),
            "duplicate_key",
        ),
        "5,000-digit integer": (
            entry(json.dumps(meeting)[:-1].encode() + b', "confidence": ' + b"9" * 5000 + b"}"),
            "number_out_of_range",
        ),
        "deeply nested": (
            entry({**meeting, "payload": {**MEETING, "level": nested(500)}}),
            "invalid_event",
        ),
        "list as negotiation_id": (entry({**meeting, "negotiation_id": [NID]}), "invalid_event"),
        "object as idempotency_key": (
            entry({**meeting, "idempotency_key": {"k": 1}}),
            "invalid_event",
        ),
        "empty list as idempotency_key": (
            entry({**meeting, "idempotency_key": []}),
            "invalid_event",
        ),
        "conflicting idempotency keys": (
            entry({**meeting, "idempotency_key": "inner"}, idempotency_key="outer"),
            "conflicting_input",
        ),
        **{
            name: (entry(event), code)
            for name, (event, code) in bad_events(foreign_event_id).items()
        },
    }


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def valid_note(i: int, nid: str = NID) -> dict[str, Any]:
    return published(note(f"Note {i}.", nid=nid))
