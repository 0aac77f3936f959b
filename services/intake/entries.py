"""What an intake entry means: checks on the raw fields, and the outcome of recording it.

This is the sync core of the intake (no Redis, no FastStream): given an entry's raw fields it
records the event through the same application code as the CLI and returns an Outcome; the
adapter in ``app.py`` writes the outcome to Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import EventSourcingError

from events import ContractError, Envelope, parse_draft, parse_json
from services.intake.exceptions import EntryRefused
from services.recorder.application import InvalidDraft, Negotiations, Policy, Written
from services.recorder.exceptions import RecorderError, store_at_fault
from services.wire.intake import RECORDED, TOO_LARGE, DeadLetter, IntakeResult, entry_size
from services.wire.streams import Streams

PRINCIPAL = "intake"


@dataclass(frozen=True)
class Outcome:
    """What became of an entry: ``fields`` go to the reply stream; a refused entry also goes
    to the dead-letter stream."""

    recorded: bool
    fields: dict[str, str]


def text_fields(raw: dict[Any, Any]) -> dict[str, bytes]:
    return {
        (k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): (
            v if isinstance(v, bytes) else str(v).encode("utf-8")
        )
        for k, v in raw.items()
    }


def reply_stream(fields: dict[str, bytes], default: str, prefix: str) -> str:
    """Where the result goes: the entry's ``reply_to`` when it names a reply stream
    (``<prefix>:intake:reply:<name>``), else ``default``."""
    wanted = fields.get("reply_to", b"").decode("utf-8", "replace")
    return wanted if Streams(prefix).is_intake_reply(wanted) else default


Entry = tuple[str, dict[str, bytes]]


def record_entries(app: Negotiations, entries: list[Entry], *, max_bytes: int) -> list[Outcome]:
    """Records a batch of entries together. A refusal (bad input or a broken rule) is that
    entry's Outcome and the others are recorded without it; a failure of the store
    (``not_the_input``) propagates, so that the entries stay pending and are retried."""
    drafts = [_draft(entry_id, fields, max_bytes) for entry_id, fields in entries]
    results = app.record_batch(drafts, principal=PRINCIPAL, policy=Policy.PER_ENTRY)
    return [
        _recorded(entry_id, result)
        if isinstance(result, Written)
        else refused(entry_id, result.error.code, str(result.error))
        for (entry_id, _), result in zip(entries, results, strict=True)
    ]


def _draft(entry_id: str, fields: dict[str, bytes], max_bytes: int) -> Envelope | InvalidDraft:
    try:
        return parse_draft(_event_object(entry_id, fields, max_bytes))
    except EntryRefused as e:
        return InvalidDraft(ContractError(e.code, e.message))
    except ContractError as e:
        return InvalidDraft(e)


def not_the_input(error: BaseException) -> bool:
    """A failure of the store, or another writer winning every retry: the entries stay
    pending and are retried, rather than being refused."""
    if isinstance(error, EventSourcingError | OSError):
        return True
    if isinstance(error, RecorderError):
        return store_at_fault(error) or error.code == "concurrent_write"
    return False


def _recorded(entry_id: str, written: Written) -> Outcome:
    result = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in written.as_dict().items()
    }
    return Outcome(True, IntakeResult(entry_id=entry_id, status=RECORDED, **result).encode())


def refused(entry_id: str, code: str, message: str) -> Outcome:
    return Outcome(False, IntakeResult.refusal(entry_id, code, message).encode())


def dead_letter(fields: dict[str, bytes], outcome: Outcome) -> dict[str, str | bytes]:
    """The dead letter of a refused entry (services/wire/intake.py: ``DeadLetter``)."""
    reason = outcome.fields
    letter = DeadLetter.refusing(fields, reason["entry_id"], reason["code"], reason["message"])
    return letter.encode()


def _event_object(entry_id: str, fields: dict[str, bytes], max_bytes: int) -> dict[str, Any]:
    size = entry_size(fields)
    if size > max_bytes:
        raise EntryRefused(TOO_LARGE, f"entry is {size} bytes; the limit is {max_bytes}")
    raw = fields.get("event")
    if not raw:
        raise EntryRefused("empty_entry", "the entry has no 'event' field")
    event = parse_json(raw, document="event")
    if not isinstance(event, dict):
        raise EntryRefused("invalid_event", "event: expected a JSON object")
    return _with_key(event, entry_id, fields)


def _with_key(event: dict[str, Any], entry_id: str, fields: dict[str, bytes]) -> dict[str, Any]:
    """The entry's ``idempotency_key`` field, else the event's, else one derived from the entry
    ID, so that a redelivered entry records once."""
    given = fields.get("idempotency_key", b"").decode("utf-8", "replace")
    inner = event.get("idempotency_key")
    if given and inner is not None and given != inner:
        raise EntryRefused(
            "conflicting_input", "idempotency_key differs between the entry and the event"
        )
    if inner is not None and not given:
        return event  # the event's own key, checked with the rest of the event
    return {**event, "idempotency_key": given or f"intake:{entry_id}"}
