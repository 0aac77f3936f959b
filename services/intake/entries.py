"""What an intake entry means: checks on the raw fields, and the outcome of recording it.

This is the sync core of the intake (no Redis, no FastStream): given an entry's raw fields it
records the event through the same application code as the CLI and returns an Outcome; the
adapter in ``app.py`` writes the outcome to Redis.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from events import ContractError, Envelope, parse_draft
from services.recorder.application import Negotiations, Written
from services.recorder.exceptions import (
    BatchRejected,
    ConflictError,
    RecorderError,
    StoreUnavailable,
)

REPLY_NAME = re.compile(r"[A-Za-z0-9:_.-]{1,200}")
PRINCIPAL = "intake"


@dataclass(frozen=True)
class Outcome:
    """What became of an entry: ``fields`` go to the reply stream; a refused entry also goes
    to the dead-letter stream."""

    recorded: bool
    fields: dict[str, str]


class EntryRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text_fields(raw: dict[Any, Any]) -> dict[str, bytes]:
    return {
        (k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): (
            v if isinstance(v, bytes) else str(v).encode("utf-8")
        )
        for k, v in raw.items()
    }


def reply_stream(fields: dict[str, bytes], default: str, prefix: str) -> str:
    """Where the result goes: the entry's ``reply_to`` when it names a reply stream
    (``<prefix>:intake:reply:<name>``: talkstream writes no key outside its prefix and never
    answers into its own streams), else ``default``."""
    wanted = fields.get("reply_to", b"").decode("utf-8", "replace")
    namespace = f"{prefix}:intake:reply:"
    ok = wanted.startswith(namespace) and REPLY_NAME.fullmatch(wanted[len(namespace) :])
    return wanted if ok else default


Entry = tuple[str, dict[str, bytes]]


def record_entry(
    app: Negotiations, entry_id: str, fields: dict[str, bytes], *, max_bytes: int
) -> Outcome:
    """Records one entry (see ``record_entries``)."""
    return record_entries(app, [(entry_id, fields)], max_bytes=max_bytes)[0]


def record_entries(app: Negotiations, entries: list[Entry], *, max_bytes: int) -> list[Outcome]:
    """Records a batch of entries in as few transactions as possible. A refusal (bad input or
    a broken rule) is that entry's Outcome and the others are retried without it; a failure
    of the store propagates, so that the entries stay pending and are retried."""
    outcomes: dict[int, Outcome] = {}
    drafts: dict[int, Envelope] = {}
    for index, (entry_id, fields) in enumerate(entries):
        try:
            drafts[index] = parse_draft(_event_object(entry_id, fields, max_bytes))
        except EntryRefused as e:
            outcomes[index] = refused(entry_id, e.code, e.message)
        except ContractError as e:
            outcomes[index] = refused(entry_id, e.code, str(e))
    while drafts:
        order = list(drafts)
        try:
            written = app.record_many([drafts[i] for i in order], principal=PRINCIPAL)
        except BatchRejected as e:
            index = order[e.index]
            outcomes[index] = refused(entries[index][0], e.code, e.reason)
            del drafts[index]
            continue
        except (RecorderError, ContractError) as e:  # a single draft is refused unwrapped
            if isinstance(e, ConflictError) and e.code == "concurrent_write":
                raise  # another writer won every retry: not the input's fault
            if isinstance(e, StoreUnavailable):
                raise  # nor is a store that fails: the entries stay pending
            index = order[0]
            outcomes[index] = refused(entries[index][0], e.code, str(e))
            del drafts[index]
            continue
        for index, result in zip(order, written, strict=True):
            outcomes[index] = _recorded(entries[index][0], result)
        break
    return [outcomes[i] for i in range(len(entries))]


def _recorded(entry_id: str, written: Written) -> Outcome:
    result = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in written.as_dict().items()
    }
    return Outcome(True, {"entry_id": entry_id, "status": "recorded", **result})


def refused(entry_id: str, code: str, message: str) -> Outcome:
    return Outcome(
        False, {"entry_id": entry_id, "status": "refused", "code": code, "message": message}
    )


def _event_object(entry_id: str, fields: dict[str, bytes], max_bytes: int) -> dict[str, Any]:
    size = sum(len(k) + len(v) for k, v in fields.items())
    if size > max_bytes:
        raise EntryRefused("entry_too_large", f"entry is {size} bytes; the limit is {max_bytes}")
    raw = fields.get("event")
    if not raw:
        raise EntryRefused("empty_entry", "the entry has no 'event' field")
    try:
        event = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise EntryRefused("invalid_json", "event: not UTF-8") from None
    except RecursionError:
        raise EntryRefused("invalid_json", "event: JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise EntryRefused("invalid_json", f"event: not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(event, dict):
        raise EntryRefused("invalid_event", "event: expected a JSON object")
    return _with_key(event, entry_id, fields)


def _with_key(event: dict[str, Any], entry_id: str, fields: dict[str, bytes]) -> dict[str, Any]:
    """The entry's ``idempotency_key`` field, else the event's, else one derived from the entry
    ID, so that a redelivered entry records once."""
    given = fields.get("idempotency_key", b"").decode("utf-8", "replace")
    inner = event.get("idempotency_key")
    if given and inner and given != inner:
        raise EntryRefused(
            "conflicting_input", "idempotency_key differs between the entry and the event"
        )
    return {**event, "idempotency_key": given or inner or f"intake:{entry_id}"}
